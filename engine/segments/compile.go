package segments

import (
	"fmt"
	"strings"

	sq "github.com/Masterminds/squirrel"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/models"
)

// compiler turns a condition tree into a boolean SQL expression over the
// profiles row aliased p, and the joins it reads. Every leaf is two-valued
// (a missing trait value makes a comparison false, never NULL), so not
// inverts exactly.
type compiler struct {
	c     *plan.Context
	stack []string // segments being inlined, to stop a loop
	joins []sq.Sqlizer
}

// Filter is a segment's condition over the profiles row aliased p: the
// joins its event conditions need, and the where over p and them.
type Filter struct {
	Joins []sq.Sqlizer
	Where sq.Sqlizer
}

// Apply adds the filter to a query that reads the profiles row p.
func (f Filter) Apply(q sq.SelectBuilder) sq.SelectBuilder {
	return joined(q, f.Joins).Where(f.Where)
}

// joined adds the joins to a query that reads the profiles row p.
func joined(q sq.SelectBuilder, joins []sq.Sqlizer) sq.SelectBuilder {
	for _, j := range joins {
		q = q.JoinClause(j)
	}
	return q
}

// Where compiles a segment's condition with ? placeholders.
func Where(c *plan.Context, seg *models.Segment) (Filter, error) {
	cp := &compiler{c: c}
	w, err := cp.segment(seg)
	return Filter{Joins: cp.joins, Where: w}, err
}

// segment compiles one segment's condition; the joins gather in cp, so
// that the conditions of several segments read by one query (Overlap)
// share one set of joins with distinct names.
func (cp *compiler) segment(seg *models.Segment) (sq.Sqlizer, error) {
	if seg == nil || seg.Where == nil {
		return nil, fmt.Errorf("segment has no where")
	}
	cp.stack = []string{seg.Name}
	return cp.conjunct(seg.Where)
}

// conjunct compiles a condition that must hold for the whole segment to
// hold: the segment's where, or one of the conditions an all there lists.
// Only there is an event condition a semi-join (IN) or an anti-join (NOT
// EXISTS) of the profiles with the event's set of profiles. NOT IN would
// mean the same (no profile_id is NULL), but PostgreSQL runs NOT IN over a
// subquery as a hashed subplan only while the subquery's rows fit in
// work_mem, and beyond that scans them again for every profile (200,000
// demo people, leads_never_bought, "not: {event: {source: orders}}" over
// 495,045 orders: the segments step stopped after 12 minutes; as NOT EXISTS
// the segment counts in 0.18 s). Elsewhere (under any: or another not) see
// eventFlag.
func (cp *compiler) conjunct(n *models.Condition) (sq.Sqlizer, error) {
	if n != nil && n.All != nil {
		and := sq.And{}
		for _, x := range n.All {
			s, err := cp.conjunct(x)
			if err != nil {
				return nil, err
			}
			and = append(and, s)
		}
		return and, nil
	}
	e, in := (*models.EventCondition)(nil), true
	switch {
	case n != nil && n.Event != nil:
		e = n.Event
	case n != nil && n.Not != nil && n.Not.Event != nil:
		e, in = n.Not.Event, false
	default:
		return cp.cond(n, "")
	}
	set, member, err := cp.event(e)
	if err != nil {
		return nil, err
	}
	if member == in {
		return sq.Expr("p.profile_id IN ("+set.sql+")", set.args...), nil
	}
	return sq.Expr("NOT EXISTS (SELECT 1 FROM ("+set.sql+") x WHERE x.profile_id = p.profile_id)", set.args...), nil
}

// eventFlag compiles an event condition that is one of several ways to
// hold (under any:) or is inverted (under not:): the event's set of
// profiles, one row each, is left-joined to the profiles, and the condition
// tests whether the profile found its row. Written as p.profile_id IN (set)
// inside an OR, PostgreSQL ran a subplan that scanned the set again for
// every profile once the set outgrew work_mem, IN and NOT IN alike (200,000
// demo people, "any: [not: {event: {source: orders}}, event: {source:
// lead_ads}]": not finished after 120 s; as a join the step takes 2.4 s).
// in is false for "not: {event: ...}", which tests the opposite.
func (cp *compiler) eventFlag(e *models.EventCondition, in bool) (sq.Sqlizer, error) {
	set, member, err := cp.event(e)
	if err != nil {
		return nil, err
	}
	sub := set.sql
	if !set.grouped {
		sub = "SELECT DISTINCT x.profile_id FROM (" + sub + ") x"
	}
	alias := fmt.Sprintf("ev%d", len(cp.joins)+1)
	cp.joins = append(cp.joins, sq.Expr("LEFT JOIN ("+sub+") "+alias+" ON "+alias+".profile_id = p.profile_id", set.args...))
	if member == in {
		return sq.Expr("(" + alias + ".profile_id IS NOT NULL)"), nil
	}
	return sq.Expr("(" + alias + ".profile_id IS NULL)"), nil
}

// cond compiles a node; event is the alias of the event row inside an
// event's where ("" outside of one).
func (cp *compiler) cond(n *models.Condition, event string) (sq.Sqlizer, error) {
	d := cp.c.Dialect
	switch {
	case n == nil:
		return nil, fmt.Errorf("empty condition")
	case n.All != nil:
		and := sq.And{}
		for _, x := range n.All {
			s, err := cp.cond(x, event)
			if err != nil {
				return nil, err
			}
			and = append(and, s)
		}
		return and, nil
	case n.Any != nil:
		or := sq.Or{}
		for _, x := range n.Any {
			s, err := cp.cond(x, event)
			if err != nil {
				return nil, err
			}
			or = append(or, s)
		}
		return or, nil
	case n.Not != nil && n.Not.Event != nil && event == "":
		return cp.eventFlag(n.Not.Event, false)
	case n.Not != nil:
		s, err := cp.cond(n.Not, event)
		if err != nil {
			return nil, err
		}
		return sq.Expr("NOT ?", s), nil
	case n.Segment != "":
		for _, name := range cp.stack {
			if name == n.Segment {
				return nil, fmt.Errorf("%s: segment %q reuses itself (%s -> %s)", n.Pos, n.Segment, strings.Join(cp.stack, " -> "), n.Segment)
			}
		}
		ref := cp.c.Project.Segment(n.Segment)
		if ref == nil || ref.Where == nil {
			return nil, fmt.Errorf("%s: unknown segment %q", n.Pos, n.Segment)
		}
		cp.stack = append(cp.stack, n.Segment)
		defer func() { cp.stack = cp.stack[:len(cp.stack)-1] }()
		return cp.cond(ref.Where, event)
	case n.Trait != "":
		if event != "" {
			return nil, fmt.Errorf("%s: trait condition inside an event's where", n.Pos)
		}
		t := cp.c.Project.Trait(n.Trait)
		if t == nil {
			return nil, fmt.Errorf("%s: unknown trait %q", n.Pos, n.Trait)
		}
		return cp.ops(n, "p."+d.Quote(n.Trait))
	case n.Column != "":
		if event == "" {
			return nil, fmt.Errorf("%s: column condition outside an event's where", n.Pos)
		}
		return cp.ops(n, event+"."+d.Quote(n.Column))
	case n.Event != nil:
		if event != "" {
			return nil, fmt.Errorf("%s: event condition inside an event's where", n.Pos)
		}
		return cp.eventFlag(n.Event, true)
	}
	return nil, fmt.Errorf("%s: a condition needs all, any, not, segment, trait, column or event", n.Pos)
}

// ops compiles the one operator of a trait or column condition on col.
func (cp *compiler) ops(n *models.Condition, col string) (sq.Sqlizer, error) {
	ops := n.Ops()
	if len(ops) != 1 {
		return nil, fmt.Errorf("%s: a condition takes exactly one operator, this one has %d", n.Pos, len(ops))
	}
	op := ops[0]
	set := col + " IS NOT NULL AND "
	ts := func(dur models.Duration) string { return plan.TimeArg(cp.c.Now.Add(-dur.D)) }
	tp := plan.TimeParam(cp.c.Dialect, "?")
	text := "CAST(" + col + " AS " + cp.c.Dialect.TypeName(dialects.Text) + ")"
	switch op.Name {
	case "eq", "neq", "gt", "gte", "lt", "lte":
		sym := map[string]string{"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op.Name]
		return sq.Expr("("+set+col+" "+sym+" ?)", op.Value), nil
	case "in", "not_in":
		list := op.Value.([]any)
		if len(list) == 0 {
			return nil, fmt.Errorf("%s: %s needs at least one value", n.Pos, op.Name)
		}
		kw := " IN "
		if op.Name == "not_in" {
			kw = " NOT IN "
		}
		return sq.Expr("("+set+col+kw+"("+strings.TrimSuffix(strings.Repeat("?, ", len(list)), ", ")+"))", list...), nil
	case "contains", "starts_with":
		v, ok := op.Value.(string)
		if !ok {
			return nil, fmt.Errorf("%s: %s takes text", n.Pos, op.Name)
		}
		pattern := likeEscape(v) + "%"
		if op.Name == "contains" {
			pattern = "%" + pattern
		}
		return sq.Expr("("+set+text+" LIKE ?"+dialects.LikeEscape(cp.c.Dialect)+")", pattern), nil
	case "is_null":
		if op.Value.(bool) {
			return sq.Expr(col + " IS NULL"), nil
		}
		return sq.Expr(col + " IS NOT NULL"), nil
	case "between":
		list := op.Value.([]any)
		if len(list) != 2 {
			return nil, fmt.Errorf("%s: between takes two values", n.Pos)
		}
		return sq.Expr("("+set+col+" BETWEEN ? AND ?)", list[0], list[1]), nil
	case "before":
		return sq.Expr("("+set+col+" < "+tp+")", ts(op.Value.(models.Duration))), nil
	case "after":
		return sq.Expr("("+set+col+" > "+tp+")", ts(op.Value.(models.Duration))), nil
	case "within":
		return sq.Expr("("+set+col+" >= "+tp+" AND "+col+" <= "+tp+")",
			ts(op.Value.(models.Duration)), plan.TimeArg(cp.c.Now)), nil
	}
	return nil, fmt.Errorf("%s: unknown operator %q", n.Pos, op.Name)
}

// likeEscape escapes LIKE's wildcards and its escape character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// profileSet is a query of profile ids, with its arguments; grouped when
// it names each profile once.
type profileSet struct {
	sql     string
	args    []any
	grouped bool
}

// event compiles an event condition: the profiles whose matching rows of
// the source (name, within, where) number within the count bounds. It
// returns a set of profiles and whether the condition holds for its
// members (true) or for the profiles outside it (false): a bound that zero
// satisfies is "not among the profiles whose count breaks it", so that
// profiles without any rows are included.
func (cp *compiler) event(e *models.EventCondition) (profileSet, bool, error) {
	d := cp.c.Dialect
	src := cp.c.Project.Source(e.Source)
	if src == nil {
		return profileSet{}, false, fmt.Errorf("%s: unknown source %q", e.Pos, e.Source)
	}
	filters := sq.And{}
	if e.Name != "" {
		if src.Event == "" {
			return profileSet{}, false, fmt.Errorf("%s: source %q has no event column", e.Pos, src.Name)
		}
		filters = append(filters, sq.Expr("e."+d.Quote(src.Event)+" = ?", e.Name))
	}
	if e.Within.Set() {
		if src.Timestamp == "" {
			return profileSet{}, false, fmt.Errorf("%s: within needs a timestamp on source %q", e.Pos, src.Name)
		}
		col := "e." + d.Quote(src.Timestamp)
		tp := plan.TimeParam(d, "?")
		filters = append(filters, sq.Expr(col+" >= "+tp+" AND "+col+" <= "+tp,
			plan.TimeArg(cp.c.Now.Add(-e.Within.D)), plan.TimeArg(cp.c.Now)))
	}
	for _, w := range e.Where {
		s, err := cp.cond(w, "e")
		if err != nil {
			return profileSet{}, false, err
		}
		filters = append(filters, s)
	}
	sub := "SELECT e.profile_id FROM " + cp.rows(src, e) + " e"
	var args []any
	if len(filters) > 0 {
		w, a, err := filters.ToSql()
		if err != nil {
			return profileSet{}, false, err
		}
		sub += " WHERE " + w
		args = a
	}
	bounds := countBounds(e.Count)
	if len(bounds) == 0 {
		return profileSet{sub, args, false}, true, nil
	}
	zeroOK := true
	var having []string
	for _, b := range bounds {
		zeroOK = zeroOK && b.holds(0)
		having = append(having, "count(*) "+b.sym+" ?")
		args = append(args, b.n)
	}
	cond := strings.Join(having, " AND ")
	if zeroOK {
		return profileSet{sub + " GROUP BY e.profile_id HAVING NOT (" + cond + ")", args, true}, false, nil
	}
	return profileSet{sub + " GROUP BY e.profile_id HAVING " + cond, args, true}, true, nil
}

// rows is what an event condition scans: the source's rows table, or,
// when the table does not keep a column the condition tests (an unsaved
// segment's new filter) or there is no table, the source joined to
// identity_graph on the fly.
func (cp *compiler) rows(src *models.Source, e *models.EventCondition) string {
	kept := map[string]bool{}
	for _, s := range profiles.RowSources(cp.c.Project) {
		if s.Name == src.Name {
			for _, col := range profiles.RowColumns(cp.c.Project, src) {
				kept[col] = true
			}
			kept["profile_id"] = true
		}
	}
	ok := kept["profile_id"]
	for _, w := range e.Where {
		profiles.WhereColumns(w, func(col string) { ok = ok && kept[col] })
	}
	if ok {
		return cp.c.Input(profiles.RowsTable(src.Name))
	}
	return "(" + identity.ProfileRows(cp.c, src, cp.c.Input(identity.GraphTable)) + ")"
}

type bound struct {
	sym string
	n   int64
}

func (b bound) holds(v int64) bool {
	switch b.sym {
	case "=":
		return v == b.n
	case ">":
		return v > b.n
	case ">=":
		return v >= b.n
	case "<":
		return v < b.n
	}
	return v <= b.n
}

func countBounds(c *models.CountBound) []bound {
	if c == nil {
		return nil
	}
	var out []bound
	for _, x := range []struct {
		sym string
		v   *int
	}{{"=", c.Eq}, {">", c.Gt}, {">=", c.Gte}, {"<", c.Lt}, {"<=", c.Lte}} {
		if x.v != nil {
			out = append(out, bound{x.sym, int64(*x.v)})
		}
	}
	return out
}

// assignment is the holdout flag and the split arm of a member, as SQL over
// the profiles row p: holdout when md5-bucket(segment:profile_id) of 100 is
// below the holdout percentage; the arm from a second bucket over
// split:segment:profile_id against the cumulative weights in order.
// Holdout members get no arm.
//
// A fractional percentage (12.5%) also holds out part of the next bucket:
// the bucket of 10,000 is that bucket plus 100 times a second digit pair, so
// 12.5% is bucket 12 with that pair below 50. A whole percentage keeps its
// members, and a larger holdout holds out everyone a smaller one did.
func assignment(d dialects.Dialect, seg *models.Segment) (holdout, arm string) {
	holdout = "false"
	if seg.Holdout > 0 {
		key := dialects.Literal(d, seg.Name+":") + " || p.profile_id"
		whole, hundredths := seg.Holdout.Hundredths()
		holdout = fmt.Sprintf("(%s < %d)", d.Bucket(key, 100), whole)
		if hundredths > 0 {
			holdout = fmt.Sprintf("(%s < %d OR (%s = %d AND %s < %d))", d.Bucket(key, 100), whole,
				d.Bucket(key, 100), whole, d.Bucket(key, 10000), hundredths*100+whole)
		}
	}
	arm = "CAST(NULL AS " + d.TypeName(dialects.Text) + ")"
	total := 0
	for _, s := range seg.Splits {
		total += s.Weight
	}
	if len(seg.Splits) > 0 && total > 0 {
		var b strings.Builder
		b.WriteString("CASE WHEN " + holdout + " THEN NULL")
		bucket := d.Bucket(dialects.Literal(d, "split:"+seg.Name+":")+" || p.profile_id", total)
		cum := 0
		for _, s := range seg.Splits {
			cum += s.Weight
			fmt.Fprintf(&b, " WHEN %s < %d THEN %s", bucket, cum, dialects.Literal(d, s.Name))
		}
		b.WriteString(" END")
		arm = b.String()
	}
	return holdout, arm
}
