package models

import "regexp"

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
// columns of each source, and the traits built from them (a trait read
// from such a column, or a sql trait over such a trait).
type Personal struct {
	Columns map[string]map[string]bool // source → column
	Traits  map[string]bool
}

// Personal finds the project's personal data.
func (p *Project) Personal() Personal {
	out := Personal{Columns: map[string]map[string]bool{}, Traits: map[string]bool{}}
	for _, s := range p.Sources {
		for _, c := range s.Columns {
			if c != nil && c.PII {
				if out.Columns[s.Name] == nil {
					out.Columns[s.Name] = map[string]bool{}
				}
				out.Columns[s.Name][c.Name] = true
			}
		}
	}
	for _, t := range p.Traits {
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
