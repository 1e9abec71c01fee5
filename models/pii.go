package models

import (
	"regexp"
	"strings"
)

// SourceColumn is an option on one column of a source.
type SourceColumn struct {
	Pos  `yaml:"-"`
	Name string `yaml:"name"`
	// PII marks personal data beyond the identifiers (a name, an address,
	// a birth date): it is masked for roles without access to personal
	// data, and in the command line's output unless --show-pii.
	PII bool `yaml:"pii"`
}

// Personal is what a project marks as personal data: the pii: true
// columns of each source, the identifier types of personal kinds and the
// columns holding them, and the traits built from either (a trait read
// from such a column or normalized as such an identifier, or a sql trait
// over such a trait).
type Personal struct {
	Columns map[string]map[string]bool // source → column
	Traits  map[string]bool
	// Identifiers are the identifier types that are personal data
	// whatever a source says: e-mail addresses and phone numbers (by the
	// rule's normalize or the type's name), and a type some source reads
	// from a pii: true column. A customer number or a cookie id is not,
	// unless a source marks its column.
	Identifiers map[string]bool
}

// Personal finds the project's personal data.
func (p *Project) Personal() Personal {
	out := Personal{Columns: map[string]map[string]bool{}, Traits: map[string]bool{}, Identifiers: map[string]bool{}}
	mark := func(src, col string) {
		if out.Columns[src] == nil {
			out.Columns[src] = map[string]bool{}
		}
		out.Columns[src][col] = true
	}
	for _, s := range p.Sources {
		for _, c := range s.Columns {
			if c != nil && c.PII {
				mark(s.Name, c.Name)
			}
		}
	}
	for _, r := range p.Identity.Identifiers {
		if r != nil && personalKind(r.Type, r.Normalize) {
			out.Identifiers[r.Type] = true
		}
	}
	for _, s := range p.Sources {
		for _, id := range s.Identifiers {
			if id != nil && (personalKind(id.Type, "") || out.Columns[s.Name][id.Column]) {
				out.Identifiers[id.Type] = true
			}
		}
	}
	// an identifier of a personal type is personal in every source holding it
	for _, s := range p.Sources {
		for _, id := range s.Identifiers {
			if id != nil && out.Identifiers[id.Type] {
				mark(s.Name, id.Column)
			}
		}
	}
	for _, t := range p.Traits {
		if t.Normalize != "" && out.Identifiers[t.Normalize] {
			out.Traits[t.Name] = true
		}
		for _, ref := range t.From {
			for src, cols := range out.Columns {
				for col := range cols {
					if ref == src+"."+col {
						out.Traits[t.Name] = true
					}
				}
			}
		}
		if t.Model != "" && out.Columns[t.Source][t.Amount] {
			out.Traits[t.Name] = true
		}
	}
	// a sql trait over a personal trait is personal too, however deep
	for changed := true; changed; {
		changed = false
		for _, t := range p.Traits {
			if t.SQL == "" || out.Traits[t.Name] {
				continue
			}
			for name := range out.Traits {
				if regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(t.SQL) {
					out.Traits[t.Name], changed = true, true
					break
				}
			}
		}
	}
	return out
}

// Column reports whether column col of source src is personal data.
func (p Personal) Column(src, col string) bool { return p.Columns[src][col] }

// personalKind: an identifier type of e-mail addresses or phone numbers.
func personalKind(typ, normalize string) bool {
	if normalize == "email" || normalize == "phone" {
		return true
	}
	typ = strings.ToLower(typ)
	return strings.Contains(typ, "email") || strings.Contains(typ, "phone")
}
