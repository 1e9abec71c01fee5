package demo

import (
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
)

// Schemas the demo writes.
const (
	RawSchema   = "cohort_demo"
	TruthSchema = "demo_truth"
)

// column is one column of a demo table.
type column struct {
	Name string
	Type dialects.Type
}

// table is a demo table: its columns in order and the SELECT that fills it
// (DuckDB SQL, run by the generator; columns by position).
type table struct {
	Schema  string
	Name    string
	Columns []column
	Comment string
	Fill    string
	Work    bool // a scratch table of the generator, dropped at the end
}

// cols reads "name type, name type" (types: text integer number decimal boolean timestamp).
func cols(spec string) []column {
	var c []column
	for _, f := range strings.Split(spec, ",") {
		parts := strings.Fields(f)
		c = append(c, column{Name: parts[0], Type: dialects.Type(parts[1])})
	}
	return c
}

// createSQL is the CREATE TABLE statement of t in dialect d.
func (t table) createSQL(d dialects.Dialect) string {
	defs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		defs[i] = d.Quote(c.Name) + " " + d.TypeName(c.Type)
	}
	return "CREATE TABLE " + d.Quote(t.Schema, t.Name) + " (\n  " + strings.Join(defs, ",\n  ") + "\n)"
}

func (t table) qualified() string { return t.Schema + "." + t.Name }
