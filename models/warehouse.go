package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CheckWarehouse checks the project against the warehouse: every source's
// table (or sql query) exists, and every column the project names exists in
// its source. Problems are an ErrorList positioned at the definitions.
func CheckWarehouse(ctx context.Context, p *Project, wh Catalog) error {
	c := newChecker(p)
	cols := map[string][]string{} // source name -> its columns; nil when unreadable
	for _, s := range p.Sources {
		if s == nil || s.Name == "" {
			continue
		}
		if _, done := cols[s.Name]; done {
			continue
		}
		cols[s.Name] = nil
		var got []string
		var err error
		switch {
		case s.Table != "":
			got, err = wh.TableColumns(ctx, s.Table)
		case s.SQL != "":
			got, err = wh.QueryColumns(ctx, s.SQL)
		default:
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch {
			case errors.Is(err, ErrNoTable):
				c.errf(s, "table", "table %s of source %q does not exist in the warehouse", s.Table, s.Name)
			case s.Table != "":
				c.errf(s, "table", "cannot read the columns of table %s: %s", s.Table, firstLine(err))
			default:
				c.errf(s, "sql", "the sql of source %q does not run: %s", s.Name, firstLine(err))
			}
			continue
		}
		cols[s.Name] = got
	}

	// column checks one column reference of obj's key against source src.
	column := func(obj positioned, key, src, col string) {
		have, ok := cols[src]
		if !ok || have == nil || col == "" || slices.Contains(have, col) {
			return
		}
		c.errf(obj, key, "source %q has no column %q%s", src, col, suggest(col, have, "column"))
	}
	for _, s := range p.Sources {
		if s == nil {
			continue
		}
		for _, id := range s.Identifiers {
			if id != nil {
				column(id, "column", s.Name, id.Column)
			}
		}
		column(s, "primary_key", s.Name, s.PrimaryKey)
		column(s, "timestamp", s.Name, s.Timestamp)
		column(s, "event", s.Name, s.Event)
	}
	for _, t := range p.Traits {
		if t == nil {
			continue
		}
		for i, ref := range t.From {
			src, col, ok := strings.Cut(ref, ".")
			key := "from"
			if c.has(t, "from."+strconv.Itoa(i)) {
				key = "from." + strconv.Itoa(i)
			}
			if ok {
				column(t, key, src, col)
			}
		}
		if t.Model != "" {
			column(t, "amount", t.Source, t.Amount)
		}
	}
	for _, seg := range p.Segments {
		if seg != nil {
			eventColumns(seg.Where, "", column)
		}
	}
	return c.errs.err()
}

// eventColumns checks the column conditions inside event conditions.
func eventColumns(cond *Condition, src string, column func(positioned, string, string, string)) {
	cond.Walk(func(n *Condition) {
		if n.Column != "" && src != "" {
			column(n, "column", src, n.Column)
		}
		if e := n.Event; e != nil {
			for _, w := range e.Where {
				eventColumns(w, e.Source, column)
			}
		}
	})
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Sprint(s)
}
