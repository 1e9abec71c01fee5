package models

import (
	"strings"
	"time"
)

// CountryCodes are the calling codes known for phone numbers without +country:
// an identifier rule's default_country.
var CountryCodes = map[string]string{
	"NL": "31", "BE": "32", "DE": "49", "FR": "33", "LU": "352", "AT": "43", "CH": "41",
	"GB": "44", "IE": "353", "ES": "34", "PT": "351", "IT": "39", "DK": "45", "SE": "46",
	"NO": "47", "FI": "358", "PL": "48", "CZ": "420", "US": "1", "CA": "1",
}

// Source returns the source of that name, or nil.
func (p *Project) Source(name string) *Source {
	for _, s := range p.Sources {
		if s != nil && s.Name == name {
			return s
		}
	}
	return nil
}

// Trait returns the trait of that name, or nil.
func (p *Project) Trait(name string) *Trait {
	for _, t := range p.Traits {
		if t != nil && t.Name == name {
			return t
		}
	}
	return nil
}

// Segment returns the segment of that name, or nil.
func (p *Project) Segment(name string) *Segment {
	for _, s := range p.Segments {
		if s != nil && s.Name == name {
			return s
		}
	}
	return nil
}

// Destination returns the destination of that name, or nil.
func (p *Project) Destination(name string) *Destination {
	for _, d := range p.Destinations {
		if d != nil && d.Name == name {
			return d
		}
	}
	return nil
}

// SplitRef splits a trait's from entry "source.column" into its parts; a
// bare source (aggregate: count) has no column.
func SplitRef(ref string) (source, column string) {
	source, column, _ = strings.Cut(ref, ".")
	return source, column
}

// Location is the project's timezone; UTC when it is unset or unknown
// (Validate reports an unknown one).
func (p *Project) Location() *time.Location {
	if p.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// TraitOrder lists the traits so that every sql trait comes after the traits
// its expression uses; otherwise definition order is kept. A loop between
// sql traits is an ErrorList naming it.
func (p *Project) TraitOrder() ([]*Trait, error) {
	all := make([]string, 0, len(p.Traits))
	byName := map[string]*Trait{}
	for _, t := range p.Traits {
		if t != nil && byName[t.Name] == nil {
			all = append(all, t.Name)
			byName[t.Name] = t
		}
	}
	deps := map[string][]string{}
	ix := newNameIndex(all)
	for _, t := range p.Traits {
		if t != nil && t.SQL != "" {
			deps[t.Name] = ix.refs(t.SQL)
		}
	}
	var errs ErrorList
	for _, cyc := range findCycles(all, deps) {
		errs.add(byName[cyc[0]].Pos, "trait cycle: %s (a sql trait cannot depend on itself, directly or through others)", strings.Join(cyc, " -> "))
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	var out []*Trait
	placed := map[string]bool{}
	var place func(n string)
	place = func(n string) {
		if placed[n] {
			return
		}
		placed[n] = true
		for _, d := range deps[n] {
			place(d)
		}
		out = append(out, byName[n])
	}
	for _, n := range all {
		place(n)
	}
	return out, nil
}

// SegmentOrder lists the segments so that every segment comes after the
// segments it reuses; otherwise definition order is kept. Loops (which
// Validate reports) are broken where they are met.
func (p *Project) SegmentOrder() []*Segment {
	var out []*Segment
	placed := map[string]bool{}
	var place func(s *Segment)
	place = func(s *Segment) {
		if s == nil || placed[s.Name] {
			return
		}
		placed[s.Name] = true
		var refs []*Condition
		segmentRefs(s.Where, &refs)
		for _, r := range refs {
			place(p.Segment(r.Segment))
		}
		out = append(out, s)
	}
	for _, s := range p.Segments {
		place(s)
	}
	return out
}

// SQLTraitRefs lists, in order of first use, the names of traitNames that a
// sql trait's expression uses. It reads identifiers (bare, compared without
// case, or "double-quoted", compared exactly) and skips string literals,
// comments, qualified names (t.x) and function names (f(...)).
func SQLTraitRefs(expr string, traitNames []string) []string {
	return newNameIndex(traitNames).refs(expr)
}

// nameIndex finds trait names in SQL: bare words compared without case,
// quoted ones exactly.
type nameIndex struct {
	known map[string]string
	exact map[string]bool
}

func newNameIndex(names []string) nameIndex {
	ix := nameIndex{known: make(map[string]string, len(names)), exact: make(map[string]bool, len(names))}
	for _, n := range names {
		ix.known[strings.ToLower(n)] = n
		ix.exact[n] = true
	}
	return ix
}

func (ix nameIndex) refs(expr string) []string {
	known, exact := ix.known, ix.exact
	var out []string
	seen := map[string]bool{}
	use := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	s := expr
	prevDot := false
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == '\'':
			i = skipQuoted(s, i, '\'')
			prevDot = false
		case ch == '"':
			end := skipQuoted(s, i, '"')
			name := strings.ReplaceAll(s[i+1:max(i+1, end-1)], `""`, `"`)
			if !prevDot && !nextIs(s, end, '.') && exact[name] {
				use(name)
			}
			i = end
			prevDot = false
		case ch == '-' && strings.HasPrefix(s[i:], "--"):
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
		case ch == '/' && strings.HasPrefix(s[i:], "/*"):
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(s)
			}
		case isIdentStart(ch):
			j := i + 1
			for j < len(s) && isIdentPart(s[j]) {
				j++
			}
			word := s[i:j]
			if name, ok := known[strings.ToLower(word)]; ok && !prevDot && !nextIs(s, j, '.') && !nextIs(s, j, '(') {
				use(name)
			}
			i = j
			prevDot = false
		case ch >= '0' && ch <= '9':
			j := i + 1
			for j < len(s) && (isIdentPart(s[j]) || s[j] == '.') {
				j++
			}
			i = j
			prevDot = false
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		default:
			prevDot = ch == '.'
			i++
		}
	}
	return out
}

// skipQuoted returns the index after the quoted text starting at s[i];
// a doubled quote is an escaped one.
func skipQuoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// nextIs reports whether the next non-blank byte from i is b.
func nextIs(s string, i int, b byte) bool {
	for ; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return s[i] == b
	}
	return false
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }
