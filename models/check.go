package models

import "errors"

// LoadAndValidate loads a project and validates it, reporting every error of
// both at once. Validation also runs when loading found errors, unless a
// file could not be parsed at all (its definitions would then be reported
// as unknown, which would mislead).
func LoadAndValidate(dir string) (*Project, error) {
	p, err := Load(dir)
	var loadErrs ErrorList
	if err != nil && !errors.As(err, &loadErrs) {
		return p, err
	}
	for _, e := range loadErrs {
		if len(e.Msg) >= 12 && e.Msg[:12] == "invalid YAML" {
			return p, err
		}
	}
	verr := Validate(p)
	var vErrs ErrorList
	if verr != nil && !errors.As(verr, &vErrs) {
		return p, verr
	}
	seen := map[Error]bool{}
	var all ErrorList
	for _, e := range append(loadErrs, vErrs...) {
		if !seen[e] {
			seen[e] = true
			all = append(all, e)
		}
	}
	all.Sort()
	return p, all.err()
}
