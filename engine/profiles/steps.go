package profiles

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// Table is the public table of profiles.
const Table = "profiles"

// RowsTable is the internal output table holding a source's rows with
// their profile_id resolved (every column of the source plus profile_id).
func RowsTable(source string) string { return "_rows_" + source }

// RowSources are the sources that get a rows table: those traits or
// segments read, and every events source (for the profile view).
func RowSources(p *models.Project) []*models.Source {
	used := map[string]bool{}
	for _, t := range p.Traits {
		if t == nil {
			continue
		}
		for _, f := range t.From {
			src, _, _ := strings.Cut(f, ".")
			used[src] = true
		}
		if t.Source != "" {
			used[t.Source] = true
		}
	}
	for _, seg := range p.Segments {
		if seg != nil {
			eventConditions(seg.Where, func(e *models.EventCondition) { used[e.Source] = true })
		}
	}
	var out []*models.Source
	for _, s := range p.Sources {
		if s != nil && len(s.Identifiers) > 0 && (used[s.Name] || s.IsEvents()) {
			out = append(out, s)
		}
	}
	return out
}

// RowColumns are the columns of a source its rows table keeps besides
// profile_id: the timestamp, the event name, and every column a trait or a
// saved segment's event condition reads. Keeping only those makes the
// tables of large event sources cheap to build and scan.
func RowColumns(p *models.Project, src *models.Source) []string {
	var out []string
	seen := map[string]bool{}
	add := func(col string) {
		if col != "" && !seen[col] {
			seen[col] = true
			out = append(out, col)
		}
	}
	add(src.Timestamp)
	add(src.Event)
	for _, t := range p.Traits {
		if t == nil {
			continue
		}
		for _, f := range t.From {
			if name, col, ok := strings.Cut(f, "."); ok && name == src.Name {
				add(col)
			}
		}
		if t.Source == src.Name {
			add(t.Amount)
		}
	}
	for _, seg := range p.Segments {
		if seg == nil {
			continue
		}
		eventConditions(seg.Where, func(e *models.EventCondition) {
			if e.Source == src.Name {
				for _, w := range e.Where {
					WhereColumns(w, add)
				}
			}
		})
	}
	return out
}

// WhereColumns calls f with every column a condition inside an event's
// where tests.
func WhereColumns(c *models.Condition, f func(string)) {
	c.Walk(func(n *models.Condition) {
		if n.Column != "" {
			f(n.Column)
		}
	})
}

// eventConditions calls f with every event condition of a tree (segment
// references are not followed: the referenced segment is visited itself).
func eventConditions(c *models.Condition, f func(*models.EventCondition)) {
	c.Walk(func(n *models.Condition) {
		if n.Event != nil {
			f(n.Event)
		}
	})
}

// RowsQuery selects a source's rows with their profile_id and the kept columns.
func RowsQuery(c *plan.Context, src *models.Source, graph string) string {
	d := c.Dialect
	cols := []string{"r.profile_id"}
	for _, col := range RowColumns(c.Project, src) {
		cols = append(cols, "r."+d.Quote(col))
	}
	return "SELECT " + strings.Join(cols, ", ") + "\nFROM (\n" + identity.ProfileRows(c, src, graph) + "\n) r"
}

// RowsByProfile says whether src's rows table is written in profile_id
// order: an events source's rows, which the profile look-up's timeline
// reads by profile_id, where the warehouse prunes blocks by their minimum
// and maximum. A scan for one profile then reads only the blocks holding
// it, as fast as an index would, and the run builds no index on the table
// (a DuckDB ART index on the 16M web events of the 1M-person demo took
// longer than the sort; see README "Measured performance").
func RowsByProfile(d dialects.Dialect, src *models.Source) bool {
	return d.Capabilities().MinMaxPruning && src.IsEvents() && src.Timestamp != ""
}

// Columns lists the columns a trait adds to profiles, in order.
func Columns(t *models.Trait) []string {
	if t.Model == "rfm" {
		return []string{t.Name + "_recency", t.Name + "_frequency", t.Name + "_monetary", t.Name}
	}
	return []string{t.Name}
}

// Steps is the profiles part of a run: one step that stages a rows table per
// source and the profiles table.
func Steps(c *plan.Context) ([]plan.Step, error) {
	p := c.Project
	order, err := p.TraitOrder()
	if err != nil {
		return nil, err
	}
	d := c.Dialect
	step := &plan.SQLStep{StepName: "profiles", Count: map[string]string{}, Ctx: c}
	var header []string
	// identity_graph's columns this step reads, and its profile ids, first
	// as tables with statistics. An incremental run stages identity_graph as
	// a view (the previous graph without the profiles resolved again, plus
	// their new rows); read through it, PostgreSQL misjudged every join (a
	// billion rows expected, sorted on disk) and guessed 200 profile ids:
	// the step took 36.5 s instead of 6.0 s on 50,000 demo people. The copy
	// is ordered by identifier type where the warehouse prunes blocks by
	// their minimum and maximum: each source joins it once per type it
	// holds, and then reads only that type's blocks. A rebuild writes the
	// graph in that order already; an incremental run's view interleaved
	// the types, and DuckDB's joins of the sources took twice as long
	// (20,000 demo people: the profiles step 7.7 s incremental against
	// 6.7 s rebuilt before, 4.4 s against 4.9 s after). The copy costs one
	// scan of the graph, and its sort where it pays.
	// Both live in the warehouse's scratch space where it has one (DuckDB:
	// an in-memory database; writing the copy to the file took two thirds
	// of its 4.3 s of processor time at 1M people) and are dropped at the
	// end of the step.
	// When this run does not rebuild identity_graph (cohort bench segments,
	// a run of the later parts only), the step reads the final table, a
	// table with statistics, as it is, and copies only the profile ids (1M
	// demo: the copy cost 1.1-1.5 s of processor time, and each type's scan
	// of the final table about what it costs on the copy).
	// Every table of the step is written in any order but the rows tables
	// sorted by profile (their ORDER BY keeps them so): where the warehouse
	// would otherwise keep a join's row order by writing on one thread, the
	// profiles table and the unsorted rows tables are written in parallel.
	unordered, reset := dialects.UnorderedWrites(d)
	for _, st := range unordered {
		step.Statements = append(step.Statements, plan.Statement{SQL: st})
	}
	setup, scratch := dialects.ScratchSpace(d, c.Schema)
	for _, st := range setup {
		step.Statements = append(step.Statements, plan.Statement{SQL: st})
	}
	graph, ids := scratch+"."+d.Quote("_work_graph_"+c.RunID), scratch+"."+d.Quote("_work_profile_ids_"+c.RunID)
	copied := []string{ids}
	if c.Building[identity.GraphTable] {
		copyGraph, what := "SELECT profile_id, identifier_type, identifier_value FROM "+c.Input(identity.GraphTable), "identity_graph as this step reads it"
		if d.Capabilities().MinMaxPruning {
			copyGraph, what = copyGraph+"\nORDER BY identifier_type", what+", each identifier type together"
		}
		step.Statements = append(step.Statements, plan.Statement{SQL: plan.Comment(what) + d.CreateTableAs(graph, copyGraph, true),
			Def: "identity_graph"})
		copied = []string{graph, ids}
	} else {
		graph = c.Final(identity.GraphTable)
	}
	step.Statements = append(step.Statements,
		plan.Statement{SQL: plan.Comment("every profile id, once") +
			d.CreateTableAs(ids, "SELECT DISTINCT profile_id FROM "+graph, true),
			Def: "profile ids of identity_graph"})
	for _, t := range copied {
		if a := dialects.Analyze(d, t); a != "" {
			step.Statements = append(step.Statements, plan.Statement{SQL: a})
		}
	}
	for _, src := range RowSources(p) {
		name := RowsTable(src.Name)
		q, what := RowsQuery(c, src, graph), fmt.Sprintf("source %s (%s): its rows with their profile_id, only the columns traits and segments read", src.Name, src.Pos)
		if RowsByProfile(d, src) {
			q, what = q+"\nORDER BY r.profile_id", what+", each profile's together"
		}
		step.Statements = append(step.Statements, plan.Statement{SQL: plan.Comment(what) +
			d.CreateTableAs(c.Staged(name), q, false),
			Def: fmt.Sprintf("rows of source %s (%s)", src.Name, src.Pos)})
		if a := dialects.Analyze(d, c.Staged(name)); a != "" {
			step.Statements = append(step.Statements, plan.Statement{SQL: a})
		}
		step.Out = append(step.Out, name)
	}
	q, err := profilesQuery(c, order, ids)
	if err != nil {
		return nil, err
	}
	var names, files []string
	for _, t := range p.Traits {
		header = append(header, fmt.Sprintf("trait %s (%s)", t.Name, t.Pos))
		names = append(names, t.Name)
		if !slices.Contains(files, t.Pos.File) {
			files = append(files, t.Pos.File)
		}
	}
	st := q.Statement(d)
	st.SQL = d.CreateTableAs(c.Staged(Table), st.SQL, false)
	st.Def = fmt.Sprintf("profiles of traits %s (%s)", strings.Join(names, ", "), strings.Join(files, ", "))
	step.Statements = append(step.Statements, st)
	if a := dialects.Analyze(d, c.Staged(Table)); a != "" {
		step.Statements = append(step.Statements, plan.Statement{SQL: a})
	}
	for _, t := range copied {
		step.Cleanup = append(step.Cleanup, plan.Statement{SQL: d.DropTable(t)})
	}
	for _, st := range reset {
		step.Cleanup = append(step.Cleanup, plan.Statement{SQL: st})
	}
	step.Out = append(step.Out, Table)
	step.Count[Table] = c.Staged(Table)
	step.Header = "profiles: one row per profile of identity_graph, one column per trait\n" + strings.Join(header, "\n")
	return []plan.Step{step}, nil
}

// bindTime binds now - d as a timestamp.
func bindTime(q *plan.Builder, c *plan.Context, d models.Duration) string {
	return plan.TimeParam(c.Dialect, q.Arg(plan.TimeArg(c.Now.Add(-d.D))))
}

// profilesQuery is the SELECT of profiles: one CTE per trait, a join of
// them onto every profile id, then one CTE per sql trait in dependency order.
func profilesQuery(c *plan.Context, order []*models.Trait, ids string) (*plan.Builder, error) {
	d := c.Dialect
	q := &plan.Builder{}
	q.W("WITH ", d.Quote("profile_ids"), " AS (\n  SELECT profile_id FROM ", ids, "\n)")
	var sqlTraits []*models.Trait
	cteOf := map[string]string{}
	// aggregates of one source share one scan and one GROUP BY, and so do
	// its picks where the dialect has an aggregate that picks
	groups := map[string][]*models.Trait{}
	var sources []string
	for _, t := range order {
		if len(t.From) == 1 && (t.SQL == "" && t.Model == "" && t.Aggregate != "" || picked(d, t)) {
			src, _, _ := strings.Cut(t.From[0], ".")
			if groups[src] == nil {
				sources = append(sources, src)
			}
			groups[src] = append(groups[src], t)
		}
	}
	for _, src := range sources {
		q.W(",\n")
		if err := aggregatesCTE(c, q, src, groups[src]); err != nil {
			return nil, err
		}
		for _, t := range groups[src] {
			cteOf[t.Name] = d.Quote("aggregates_" + src)
		}
	}
	for _, t := range order {
		if t.SQL != "" {
			sqlTraits = append(sqlTraits, t)
			continue
		}
		if cteOf[t.Name] != "" {
			continue
		}
		cteOf[t.Name] = d.Quote("trait_" + t.Name)
		q.W(",\n", plan.Comment(fmt.Sprintf("trait %s (%s)", t.Name, t.Pos)))
		if err := traitCTE(c, q, t); err != nil {
			return nil, err
		}
	}
	// join every computed trait onto the profile ids
	q.W(",\n", d.Quote("traits"), " AS (\n  SELECT ids.profile_id")
	var joins []string
	joined := map[string]bool{}
	for _, t := range order {
		if t.SQL != "" {
			continue
		}
		cte := cteOf[t.Name]
		for _, col := range Columns(t) {
			v := cte + "." + d.Quote(col)
			if t.Aggregate == "count" || t.Aggregate == "count_distinct" {
				v = "coalesce(" + v + ", 0)"
			}
			q.W(",\n    ", v, " AS ", d.Quote(col))
		}
		if !joined[cte] {
			joined[cte] = true
			joins = append(joins, "  LEFT JOIN "+cte+" ON "+cte+".profile_id = ids.profile_id")
		}
	}
	q.W("\n  FROM ", d.Quote("profile_ids"), " ids\n", strings.Join(joins, "\n"), "\n)")
	prev := d.Quote("traits")
	for _, t := range sqlTraits {
		cte := d.Quote("trait_" + t.Name)
		expr := "(" + t.SQL + ")"
		if t.Type != "" {
			expr = "CAST(" + expr + " AS " + d.TypeName(dialects.Type(t.Type)) + ")"
		}
		q.W(",\n", plan.Comment(fmt.Sprintf("trait %s (%s): sql over other traits", t.Name, t.Pos)))
		q.W(cte, " AS (\n  SELECT prev.*, ", expr, " AS ", d.Quote(t.Name), "\n  FROM ", prev, " prev\n)")
		prev = cte
	}
	q.W("\nSELECT profile_id")
	for _, t := range c.Project.Traits {
		for _, col := range Columns(t) {
			q.W(", ", d.Quote(col))
		}
	}
	q.W(", ", plan.TimeParam(d, q.Arg(plan.TimeArg(c.Now))), " AS updated_at\nFROM ", prev)
	return q, nil
}

// picked says whether t is a pick the dialect computes with its pick
// aggregate in a GROUP BY (most_frequent counts first: it ranks).
func picked(d dialects.Dialect, t *models.Trait) bool {
	return t.SQL == "" && t.Model == "" && t.Aggregate == "" && t.Pick != "most_frequent" &&
		dialects.PickFirst(d, "v", "c", nil) != ""
}

// pickOrder is the order whose first row a pick keeps: by time, then by the
// position k in from (when there are several), then by the value's text.
func pickOrder(d dialects.Dialect, t *models.Trait, value, ts, k string) []dialects.OrderKey {
	text := dialects.OrderKey{Expr: d.TextOrder("CAST(" + value + " AS " + d.TypeName(dialects.Text) + ")")}
	var keys []dialects.OrderKey
	switch t.Pick {
	case "first":
		keys = []dialects.OrderKey{{Expr: ts}, {Expr: k}}
	case "priority":
		keys = []dialects.OrderKey{{Expr: k}, {Expr: ts, Desc: true}}
	default: // latest
		keys = []dialects.OrderKey{{Expr: ts, Desc: true}, {Expr: k}}
	}
	if k == "" {
		keys = slices.DeleteFunc(keys, func(o dialects.OrderKey) bool { return o.Expr == "" })
	}
	return append(keys, text)
}

// pickCond holds on the rows whose value a pick may keep: not NULL and,
// for a column, not blank.
func pickCond(d dialects.Dialect, value string, column bool) string {
	cond := value + " IS NOT NULL"
	if column {
		cond += " AND trim(CAST(" + value + " AS " + d.TypeName(dialects.Text) + ")) <> ''"
	}
	return cond
}

// aggregatesCTE writes the CTE "aggregates_<source>": every aggregate trait
// of one source as a column of one GROUP BY, and every pick where the
// dialect has a pick aggregate; within becomes a FILTER. A normalized
// pick's value is computed once per row, in a subquery over the rows.
func aggregatesCTE(c *plan.Context, q *plan.Builder, srcName string, traits []*models.Trait) error {
	d := c.Dialect
	src := c.Project.Source(srcName)
	if src == nil {
		return fmt.Errorf("%s: trait %s: unknown source %q", traits[0].Pos, traits[0].Name, srcName)
	}
	q.W(d.Quote("aggregates_"+srcName), " AS (\n  SELECT r.profile_id")
	var normalized []string
	for _, t := range traits {
		_, column, _ := strings.Cut(t.From[0], ".")
		if t.Aggregate == "" {
			value := "1"
			if column != "" {
				value = "r." + d.Quote(column)
				if rule := c.Project.Identity.Rule(t.Normalize); t.Normalize != "" && rule != nil {
					name := d.Quote("normalized_" + t.Name)
					normalized = append(normalized, identity.NormalizeExpr(d, rule, value)+" AS "+name)
					value = "r." + name
				}
			}
			ts := plan.TimeParam(d, "NULL")
			if src.Timestamp != "" {
				ts = "r." + d.Quote(src.Timestamp)
			}
			cond := pickCond(d, value, column != "")
			if t.Within.Set() {
				if src.Timestamp == "" {
					return fmt.Errorf("%s: trait %s: within needs a timestamp on source %s", t.Pos, t.Name, src.Name)
				}
				cond += " AND " + ts + " >= " + bindTime(q, c, t.Within)
			}
			q.W(",\n    -- trait ", t.Name, " (", t.Pos.String(), ")\n    ",
				dialects.PickFirst(d, value, cond, pickOrder(d, t, value, ts, "")), " AS ", d.Quote(t.Name))
			continue
		}
		value := "*"
		if column != "" {
			value = "r." + d.Quote(column)
		}
		if value == "*" && t.Aggregate != "count" {
			return fmt.Errorf("%s: trait %s: %s needs a column (from: %s.COLUMN)", t.Pos, t.Name, t.Aggregate, srcName)
		}
		var filter string
		if t.Within.Set() {
			if src.Timestamp == "" {
				return fmt.Errorf("%s: trait %s: within needs a timestamp on source %s", t.Pos, t.Name, src.Name)
			}
			cond := "r." + d.Quote(src.Timestamp) + " >= " + bindTime(q, c, t.Within)
			if d.Capabilities().AggregateFilter {
				filter = " FILTER (WHERE " + cond + ")"
			} else { // the aggregates ignore NULLs: rows outside the window count as none
				if value == "*" {
					value = "1"
				}
				value = "CASE WHEN " + cond + " THEN " + value + " END"
			}
		}
		var agg string
		switch t.Aggregate {
		case "sum", "avg":
			agg = t.Aggregate + "(" + value + ")"
		case "count":
			agg = "count(" + value + ")"
		case "count_distinct":
			agg = "count(DISTINCT " + value + ")"
		case "min", "max":
			agg = t.Aggregate + "(" + value + ")"
		default:
			return fmt.Errorf("%s: trait %s: unknown aggregate %q", t.Pos, t.Name, t.Aggregate)
		}
		agg += filter
		switch t.Aggregate {
		case "sum", "avg":
			agg = "CAST(" + agg + " AS " + d.TypeName(dialects.Number) + ")"
		case "count", "count_distinct":
			agg = "CAST(" + agg + " AS " + d.TypeName(dialects.Integer) + ")"
		}
		q.W(",\n    -- trait ", t.Name, " (", t.Pos.String(), ")\n    ", agg, " AS ", d.Quote(t.Name))
	}
	from := c.Staged(RowsTable(srcName))
	if len(normalized) > 0 {
		from = "(\n    SELECT r.*, " + strings.Join(normalized, ", ") + "\n    FROM " + from + " r\n  )"
	}
	q.W("\n  FROM ", from, " r\n  GROUP BY r.profile_id\n)")
	return nil
}

// traitCTE writes the CTE "trait_<name>" (profile_id and the trait's columns)
// of a pick, aggregate or model trait.
func traitCTE(c *plan.Context, q *plan.Builder, t *models.Trait) error {
	d := c.Dialect
	q.W(d.Quote("trait_"+t.Name), " AS (\n")
	defer q.W("\n)")
	col := d.Quote(t.Name)
	switch {
	case t.Model == "rfm":
		return rfmSQL(c, q, t)
	case t.Model == "churn_risk":
		return churnSQL(c, q, t)
	case t.Model != "":
		return fmt.Errorf("%s: trait %s: unknown model %q (rfm or churn_risk)", t.Pos, t.Name, t.Model)
	case t.Aggregate != "":
		var agg string
		switch t.Aggregate {
		case "sum", "avg":
			agg = "CAST(" + t.Aggregate + "(v.value) AS " + d.TypeName(dialects.Number) + ")"
		case "count":
			agg = "CAST(count(v.value) AS " + d.TypeName(dialects.Integer) + ")"
		case "count_distinct":
			agg = "CAST(count(DISTINCT v.value) AS " + d.TypeName(dialects.Integer) + ")"
		case "min", "max":
			agg = t.Aggregate + "(v.value)"
		default:
			return fmt.Errorf("%s: trait %s: unknown aggregate %q", t.Pos, t.Name, t.Aggregate)
		}
		q.W("  SELECT v.profile_id, ", agg, " AS ", col, "\n  FROM (")
		if err := values(c, q, t, true); err != nil {
			return err
		}
		q.W(") v\n  GROUP BY v.profile_id")
	default:
		// pick: rank each profile's values and keep the first
		var rankBy string
		valueOrder := d.TextOrder("CAST(v.value AS " + d.TypeName(dialects.Text) + ")")
		switch t.Pick {
		case "latest", "":
			rankBy = "v.ts DESC NULLS LAST, v.k, " + valueOrder
		case "first":
			rankBy = "v.ts ASC NULLS LAST, v.k, " + valueOrder
		case "priority":
			rankBy = "v.k, v.ts DESC NULLS LAST, " + valueOrder
		case "most_frequent":
			q.W("  SELECT profile_id, value AS ", col, " FROM (\n    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY count(*) DESC, max(v.ts) DESC NULLS LAST, min(v.k), ", valueOrder, ") AS rn\n    FROM (")
			if err := values(c, q, t, true); err != nil {
				return err
			}
			q.W(") v\n    GROUP BY v.profile_id, v.value\n  ) ranked WHERE rn = 1")
			return nil
		default:
			return fmt.Errorf("%s: trait %s: unknown pick %q", t.Pos, t.Name, t.Pick)
		}
		if picked(d, t) { // one pass with the dialect's pick aggregate, no sort
			order := pickOrder(d, t, "v.value", "v.ts", "v.k")
			q.W("  SELECT v.profile_id, ", dialects.PickFirst(d, "v.value", pickCond(d, "v.value", true), order), " AS ", col, "\n  FROM (")
			if err := values(c, q, t, false); err != nil {
				return err
			}
			q.W(") v\n  GROUP BY v.profile_id")
			return nil
		}
		if !d.Capabilities().DistinctOn {
			q.W("  SELECT profile_id, value AS ", col, " FROM (\n    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY ", rankBy, ") AS rn\n    FROM (")
			if err := values(c, q, t, true); err != nil {
				return err
			}
			q.W(") v\n  ) ranked WHERE rn = 1")
			return nil
		}
		q.W("  SELECT DISTINCT ON (v.profile_id) v.profile_id, v.value AS ", col, "\n  FROM (")
		if err := values(c, q, t, true); err != nil {
			return err
		}
		q.W(") v\n  ORDER BY v.profile_id, ", rankBy)
	}
	return nil
}

// values writes the union of a trait's inputs as (profile_id, value, ts, k):
// k is the position in from; a bare source counts rows (value 1). Pick
// traits skip NULL and blank values here when skip is set (else their pick
// aggregate does); within keeps rows newer than now - within.
func values(c *plan.Context, q *plan.Builder, t *models.Trait, skip bool) error {
	d := c.Dialect
	for k, from := range t.From {
		srcName, column, _ := strings.Cut(from, ".")
		src := c.Project.Source(srcName)
		if src == nil {
			return fmt.Errorf("%s: trait %s: unknown source %q", t.Pos, t.Name, srcName)
		}
		if k > 0 {
			q.W("\n      UNION ALL ")
		}
		value := "1"
		if column != "" {
			value = "r." + d.Quote(column)
			if rule := c.Project.Identity.Rule(t.Normalize); t.Normalize != "" && rule != nil {
				value = identity.NormalizeExpr(d, rule, value)
			}
		}
		ts := plan.TimeParam(d, "NULL")
		if src.Timestamp != "" {
			ts = "r." + d.Quote(src.Timestamp)
		}
		q.W(fmt.Sprintf("SELECT r.profile_id, %s AS value, %s AS ts, %d AS k FROM %s r", value, ts, k, c.Staged(RowsTable(src.Name))))
		var where []string
		if t.Aggregate == "" && skip { // a blank string is no value: it never wins a pick
			where = append(where, pickCond(d, value, column != ""))
		}
		if t.Within.Set() {
			if src.Timestamp == "" {
				return fmt.Errorf("%s: trait %s: within needs a timestamp on source %s", t.Pos, t.Name, src.Name)
			}
			where = append(where, ts+" >= "+bindTime(q, c, t.Within))
		}
		if len(where) > 0 {
			q.W(" WHERE ", strings.Join(where, " AND "))
		}
	}
	return nil
}

// modelSource is the source and timestamp column of a built-in model.
func modelSource(c *plan.Context, t *models.Trait) (*models.Source, error) {
	src := c.Project.Source(t.Source)
	if src == nil {
		return nil, fmt.Errorf("%s: trait %s: model %s needs source: the orders source", t.Pos, t.Name, t.Model)
	}
	if src.Timestamp == "" {
		return nil, fmt.Errorf("%s: trait %s: model %s needs a timestamp on source %s", t.Pos, t.Name, t.Model, src.Name)
	}
	return src, nil
}

// RFMLabels maps recency and frequency scores to the rfm label; the first
// matching rule wins. The README documents them.
var RFMLabels = []struct {
	Label      string
	RMin, RMax int
	FMin, FMax int
}{
	{"champions", 4, 5, 4, 5},
	{"new", 4, 5, 1, 2},
	{"loyal", 3, 5, 3, 5},
	{"at risk", 1, 2, 3, 5},
	{"hibernating", 1, 2, 1, 2},
	{"needs attention", 1, 5, 1, 5},
}

// RFMLabel is the label of a recency and frequency score (Go twin of the SQL).
func RFMLabel(r, f int) string {
	for _, l := range RFMLabels {
		if r >= l.RMin && r <= l.RMax && f >= l.FMin && f <= l.FMax {
			return l.Label
		}
	}
	return ""
}

// rfmSQL scores each profile with orders 1..5 by quintile of the time of
// its last order (recency), its number of orders (frequency) and the sum of
// amount (monetary); ties are broken by profile_id so every warehouse agrees.
func rfmSQL(c *plan.Context, q *plan.Builder, t *models.Trait) error {
	d := c.Dialect
	src, err := modelSource(c, t)
	if err != nil {
		return err
	}
	amount := "count(*)"
	if t.Amount != "" {
		amount = "coalesce(sum(r." + d.Quote(t.Amount) + "), 0)"
	}
	in := d.TypeName(dialects.Integer)
	pid := d.TextOrder("profile_id")
	q.W("  SELECT profile_id,\n",
		"    CAST(r AS ", in, ") AS ", d.Quote(t.Name+"_recency"), ",\n",
		"    CAST(f AS ", in, ") AS ", d.Quote(t.Name+"_frequency"), ",\n",
		"    CAST(m AS ", in, ") AS ", d.Quote(t.Name+"_monetary"), ",\n    CASE")
	for _, l := range RFMLabels {
		q.W(fmt.Sprintf("\n      WHEN r BETWEEN %d AND %d AND f BETWEEN %d AND %d THEN '%s'", l.RMin, l.RMax, l.FMin, l.FMax, l.Label))
	}
	q.W("\n    END AS ", d.Quote(t.Name), "\n  FROM (\n",
		"    SELECT profile_id,\n",
		"      ntile(5) OVER (ORDER BY last_at, ", pid, ") AS r,\n",
		"      ntile(5) OVER (ORDER BY orders, ", pid, ") AS f,\n",
		"      ntile(5) OVER (ORDER BY amount, ", pid, ") AS m\n",
		"    FROM (\n",
		"      SELECT r.profile_id, max(r.", d.Quote(src.Timestamp), ") AS last_at, count(*) AS orders, ", amount, " AS amount\n",
		"      FROM ", c.Staged(RowsTable(src.Name)), " r\n",
		"      WHERE r.", d.Quote(src.Timestamp), " IS NOT NULL\n",
		"      GROUP BY r.profile_id\n    ) per_profile\n  ) scores")
	return nil
}

// churnSQL: risk = 1 - exp(-t / g), t the seconds since the last order, g
// the profile's mean gap between orders ((last - first) / (orders - 1)), or
// the population's mean of those gaps when the profile has fewer than two
// orders; g is at least one day.
func churnSQL(c *plan.Context, q *plan.Builder, t *models.Trait) error {
	d := c.Dialect
	src, err := modelSource(c, t)
	if err != nil {
		return err
	}
	ts := "r." + d.Quote(src.Timestamp)
	num := d.TypeName(dialects.Number)
	now := d.EpochSeconds(plan.TimeParam(d, q.Arg(plan.TimeArg(c.Now))))
	q.W("  SELECT o.profile_id, CASE WHEN o.gap IS NULL THEN NULL\n",
		"    ELSE 1 - exp(-(CASE WHEN o.elapsed > 0 THEN o.elapsed ELSE 0 END)\n",
		"      / (CASE WHEN o.gap < 86400 THEN 86400 ELSE o.gap END)) END AS ", d.Quote(t.Name), "\n",
		"  FROM (\n",
		"    SELECT p.profile_id, ", now, " - p.last_s AS elapsed,\n",
		"      CASE WHEN p.orders >= 2 THEN (p.last_s - p.first_s) / (p.orders - 1) ELSE pop.gap END AS gap\n",
		"    FROM (\n",
		"      SELECT r.profile_id, count(*) AS orders, CAST(min(", d.EpochSeconds(ts), ") AS ", num, ") AS first_s, CAST(max(", d.EpochSeconds(ts), ") AS ", num, ") AS last_s\n",
		"      FROM ", c.Staged(RowsTable(src.Name)), " r WHERE ", ts, " IS NOT NULL GROUP BY r.profile_id\n",
		"    ) p\n",
		"    CROSS JOIN (\n",
		"      SELECT avg((e.last_s - e.first_s) / (e.orders - 1)) AS gap FROM (\n",
		"        SELECT count(*) AS orders, CAST(min(", d.EpochSeconds(ts), ") AS ", num, ") AS first_s, CAST(max(", d.EpochSeconds(ts), ") AS ", num, ") AS last_s\n",
		"        FROM ", c.Staged(RowsTable(src.Name)), " r WHERE ", ts, " IS NOT NULL GROUP BY r.profile_id\n",
		"      ) e WHERE e.orders >= 2\n",
		"    ) pop\n",
		"  ) o")
	return nil
}
