package models

import "reflect"

// ParseSync decodes one sync definition (YAML, or JSON, which is YAML)
// strictly, as the API receives it from the UI; positions have File
// "<unsaved>". Check it against a project with ValidateSync.
func ParseSync(data []byte) (*Sync, error) {
	var errs ErrorList
	docs := parseFile(UnsavedFile, data, &errs)
	if len(docs) == 0 && len(errs) == 0 {
		errs.add(Pos{File: UnsavedFile, Line: 1, Col: 1}, "empty sync: give at least name, segment, destination, mode and match")
	}
	if len(docs) > 1 {
		errs.add(Pos{File: UnsavedFile, Line: docs[1].GetToken().Position.Line, Col: 1}, "several YAML documents: send one sync")
	}
	if len(docs) == 0 {
		return nil, errs.err()
	}
	s := &Sync{pos: positions{}}
	d := newDecoder(UnsavedFile, &errs, s.pos)
	s.pos[posKey{s, ""}] = d.at(docs[0])
	d.decodeStruct(docs[0], reflect.ValueOf(s).Elem(), s, "")
	return s, errs.err()
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
