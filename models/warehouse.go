package models

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// CheckWarehouse checks the project against the warehouse: every source's
// table (or sql query) exists, and every column the project names exists in
// its source. Problems are an ErrorList positioned at the definitions.
func CheckWarehouse(ctx context.Context, p *Project, wh Catalog) error {
	c := newChecker(p)
	cols := map[string][]string{}           // source name -> its columns; nil when unreadable
	types := map[string]map[string]string{} // source name -> column -> its warehouse type
	typed, _ := wh.(TypedCatalog)
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
		if typed != nil {
			ct, err := typed.ColumnTypes(ctx, s.Table, s.SQL)
			if err != nil {
				return err
			}
			types[s.Name] = map[string]string{}
			for _, col := range ct {
				types[s.Name][col.Name] = col.Type
			}
		}
	}

	column := func(obj positioned, key, src, col string) { c.column(cols, obj, key, src, col) }
	for _, s := range p.Sources {
		if s == nil {
			continue
		}
		for _, id := range s.Identifiers {
			if id != nil {
				column(id, "column", s.Name, id.Column)
			}
		}
		for _, col := range s.Columns {
			if col != nil {
				column(col, "name", s.Name, col.Name)
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
			eventColumns(seg.Where, "", func(n *Condition, src string) { column(n, "column", src, n.Column) })
		}
	}
	if len(c.errs) > 0 || typed == nil {
		return c.errs.err() // the checks below would repeat these
	}
	sqlKinds, err := c.sqlTraits(ctx, typed, types)
	if err != nil {
		return err
	}
	// Segments' operands against the kinds only the warehouse tells.
	offline := TraitKinds(p, nil, nil)
	online := TraitKinds(p, func(src, col string) string { return KindOf(types[src][col]) }, sqlKinds)
	for _, seg := range p.Segments {
		if seg != nil {
			c.operandKinds(seg, online, func(trait string) bool { return offline[trait] == "" })
			c.columnOperands(seg, types)
		}
	}
	c.purposeKinds(online, func(trait string) bool { return offline[trait] == "" })
	return c.errs.err()
}

// TypedCatalog is a Catalog that also tells the warehouse types of columns
// and writes the pieces of SQL validate runs sql traits with. CheckWarehouse
// runs sql traits and checks segment operands against trait kinds read from
// the warehouse only with one.
type TypedCatalog interface {
	Catalog
	// ColumnTypes are the columns of table, or else of query's result,
	// with their types as the warehouse names them.
	ColumnTypes(ctx context.Context, table, query string) ([]ColumnType, error)
	// Cast converts an expression to a portable type: text, integer,
	// number, boolean, timestamp.
	Cast(expr, typ string) string
	// Quote quotes an identifier.
	Quote(name string) string
}

// ColumnType is a column with its type as the warehouse names it.
type ColumnType struct{ Name, Type string }

// CheckSegmentKinds checks an unsaved segment's operands against the kinds
// of the traits as the warehouse holds them (the columns of profiles, the
// table of the last run), as CheckWarehouse does for saved ones.
func CheckSegmentKinds(ctx context.Context, p *Project, s *Segment, wh TypedCatalog, profiles string) error {
	if s == nil {
		return nil
	}
	c := newChecker(p)
	if s.pos != nil {
		c.pos = append(c.pos, s.pos)
	}
	// the columns of the sources its event conditions read
	cols, types := map[string][]string{}, map[string]map[string]string{}
	var err error
	eventColumns(s.Where, "", func(n *Condition, name string) {
		src := p.Source(name)
		if _, done := types[name]; done || src == nil || err != nil {
			return
		}
		var got []ColumnType
		if got, err = wh.ColumnTypes(ctx, src.Table, src.SQL); err != nil {
			return
		}
		types[name] = map[string]string{}
		for _, col := range got {
			cols[name] = append(cols[name], col.Name)
			types[name][col.Name] = col.Type
		}
	})
	if err != nil {
		return err
	}
	eventColumns(s.Where, "", func(n *Condition, src string) { c.column(cols, n, "column", src, n.Column) })
	c.columnOperands(s, types)

	kinds := TraitKinds(p, nil, nil)
	if got, err := wh.ColumnTypes(ctx, profiles, ""); err == nil {
		for _, col := range got {
			if k := KindOf(col.Type); k != "" && p.Trait(col.Name) != nil {
				kinds[col.Name] = k
			}
		}
	} else if ctx.Err() != nil {
		return ctx.Err()
	}
	c.operandKinds(s, kinds, nil)
	return c.errs.err()
}

// sqlTraits runs each sql trait, in dependency order, over an empty row of
// the traits it reads (typed as the run types them), so that the warehouse
// parses and binds it: a syntax error or a wrong type is reported at the
// trait's sql, not at run after identity. It returns the kind of each sql
// trait that runs.
func (c *checker) sqlTraits(ctx context.Context, wh TypedCatalog, types map[string]map[string]string) (map[string]string, error) {
	order, err := c.p.TraitOrder()
	if err != nil {
		return nil, nil // a loop, reported by Validate
	}
	typeOf := func(k string, integer bool) string {
		switch {
		case k == KindNumber && integer:
			return "integer"
		case k == "":
			return KindText
		}
		return k
	}
	base := []string{wh.Cast("NULL", "text") + " AS " + wh.Quote("profile_id")}
	known := TraitKinds(c.p, func(src, col string) string { return KindOf(types[src][col]) }, nil)
	for _, t := range order {
		switch {
		case t.SQL != "":
		case t.Model == "rfm":
			base = append(base, wh.Cast("NULL", "text")+" AS "+wh.Quote(t.Name))
			for _, suffix := range []string{"_recency", "_frequency", "_monetary"} {
				base = append(base, wh.Cast("NULL", "integer")+" AS "+wh.Quote(t.Name+suffix))
			}
		default:
			integer := t.Aggregate == "count" || t.Aggregate == "count_distinct"
			if len(t.From) > 0 && (t.Aggregate == "min" || t.Aggregate == "max" || t.Pick != "") {
				src, col, _ := strings.Cut(t.From[0], ".")
				integer = strings.Contains(strings.ToLower(types[src][col]), "int")
			}
			base = append(base, wh.Cast("NULL", typeOf(known[t.Name], integer))+" AS "+wh.Quote(t.Name))
		}
	}
	ctes := []string{wh.Quote("traits") + " AS (SELECT " + strings.Join(base, ", ") + ")"}
	prev := wh.Quote("traits")
	failed := map[string]bool{}
	kinds := map[string]string{}
	ix := newNameIndex(c.traitNames())
	for _, t := range order {
		if t.SQL == "" {
			continue
		}
		if slices.ContainsFunc(ix.refs(t.SQL), func(n string) bool { return failed[n] }) {
			failed[t.Name] = true // its input is reported already
			continue
		}
		expr := "(" + t.SQL + ")"
		if t.Type != "" {
			expr = wh.Cast(expr, t.Type)
		}
		name := wh.Quote("trait_" + t.Name)
		cte := name + " AS (SELECT prev.*, " + expr + " AS " + wh.Quote(t.Name) + " FROM " + prev + " prev)"
		q := "WITH " + strings.Join(append(slices.Clone(ctes), cte), ",\n") + "\nSELECT " + wh.Quote(t.Name) + " FROM " + name
		got, err := wh.ColumnTypes(ctx, "", q)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.errf(t, "sql", "trait %s: %s", t.Name, firstLine(err))
			failed[t.Name] = true
			continue
		}
		ctes, prev = append(ctes, cte), name
		if len(got) == 1 {
			kinds[t.Name] = KindOf(got[0].Type)
		}
	}
	return kinds, nil
}

// column checks one column reference of obj's key against source src,
// whose columns are cols[src] (nil when they could not be read).
func (c *checker) column(cols map[string][]string, obj positioned, key, src, col string) {
	have, ok := cols[src]
	if !ok || have == nil || col == "" || slices.Contains(have, col) {
		return
	}
	c.errf(obj, key, "source %q has no column %q%s", src, col, suggest(col, have, "column"))
}

// eventColumns calls f with each column condition inside the event
// conditions of cond and the source the event reads.
func eventColumns(cond *Condition, src string, f func(n *Condition, src string)) {
	cond.Walk(func(n *Condition) {
		if n.Column != "" && src != "" {
			f(n, src)
		}
		if e := n.Event; e != nil {
			for _, w := range e.Where {
				eventColumns(w, e.Source, f)
			}
		}
	})
}

// columnOperands checks the values of s's event column conditions against
// the kinds of their columns (types: source -> column -> warehouse type), as
// operandKinds does for traits: a wrong one would fail the run's segments
// step, naming every segment.
func (c *checker) columnOperands(s *Segment, types map[string]map[string]string) {
	eventColumns(s.Where, "", func(n *Condition, src string) {
		k := KindOf(types[src][n.Column])
		if k == "" {
			return
		}
		for _, op := range n.Ops() {
			if msg := operandProblem(k, op); msg != "" {
				c.errf(n, op.Name, "segment %q: column %q of source %q holds %s, %s", s.Name, n.Column, src, kindPlural(k), msg)
			}
		}
	})
}

// firstLine is the first line of an error: a driver's message without the
// statement it may append.
func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
