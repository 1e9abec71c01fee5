package models

// ParseSync decodes one sync definition (YAML, or JSON, which is YAML)
// strictly, as the API receives it from the UI; positions have File
// "<unsaved>". Check it against a project with ValidateSync.
func ParseSync(data []byte) (*Sync, error) {
	s := &Sync{pos: positions{}}
	ok, err := parseUnsaved(data, "sync", "name, segment, destination, mode and match", s, s.pos)
	if !ok {
		return nil, err
	}
	return s, err
}

// ValidateSync checks an unsaved sync against the project's segments,
// destinations, traits and consent purposes with the rules and messages of
// Validate (a sync of the same name in p is not taken as a duplicate: the
// caller decides whether the name is free).
func ValidateSync(p *Project, s *Sync) error {
	if s == nil {
		return ErrorList{{Pos: Pos{File: UnsavedFile}, Msg: "no sync given"}}
	}
	one := *p
	one.Syncs = []*Sync{s}
	c := newChecker(&one)
	if s.pos != nil {
		c.pos = append(c.pos, s.pos)
	}
	c.syncs()
	return c.errs.err()
}
