package plan

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/models"
)

// Context is what steps are compiled against.
type Context struct {
	Project *models.Project
	Dialect dialects.Dialect
	Schema  string         // output schema, e.g. "cohort"
	Now     time.Time      // the run's clock (injectable for tests), in Location
	Loc     *time.Location // the project's timezone
	RunID   string         // suffix of staged table names, unique per run
	// FullRefresh forces identity to rebuild from scratch instead of incrementally.
	FullRefresh bool
	// Building lists the public tables this run rebuilds; steps read those
	// through Input (their staged version) and every other table as final.
	Building map[string]bool
	// Suppressed is the suppression list of forgotten people (cohort
	// forget): the SHA-256 hex of each "type:normalized value", sorted. A run
	// reads no source row holding one of them; the run finds them in the
	// output schema's SuppressionsTable, which the service keeps in step
	// with the state store.
	Suppressed []string
	// Trace reports the slow statements of every step's plan; zero reports
	// nothing.
	Trace Trace
}

// Replacements are the swaps that put tables' staged versions in place of
// the final ones, as the Publish nodes pubs say (the last one for a table
// decides; a table without one is replaced by its staged version).
func (c *Context) Replacements(tables []string, pubs []Publish) []dialects.Replace {
	by := map[string]Publish{}
	for _, p := range pubs {
		by[p.Table] = p
	}
	var r []dialects.Replace
	for _, t := range tables {
		p := by[t]
		apply := p.Apply
		if len(apply) == 0 && p.Append {
			apply = []string{
				"INSERT INTO " + c.Final(t) + " (" + p.Cols + ") SELECT " + p.Cols + " FROM " + c.Staged(t),
				c.Dialect.DropTable(c.Staged(t)),
			}
		}
		r = append(r, dialects.Replace{Schema: c.Schema, Final: t, Staged: c.StagedName(t), InPlace: len(p.Apply) > 0, Apply: apply})
	}
	return r
}

// Input is the quoted name a step reads a public table from: the staged
// table when this run builds it, else the final one.
func (c *Context) Input(table string) string {
	if c.Building[table] {
		return c.Staged(table)
	}
	return c.Final(table)
}

// Final is the quoted name of a public output table.
func (c *Context) Final(table string) string { return c.Dialect.Quote(c.Schema, table) }

// StagedName is the unquoted name a table is built under during a run.
func (c *Context) StagedName(table string) string { return table + "__stage_" + c.RunID }

// Staged is the quoted name a table is built under during a run.
func (c *Context) Staged(table string) string {
	return c.Dialect.Quote(c.Schema, c.StagedName(table))
}

// Work is the quoted name of a scratch table of this run (dropped at the end).
func (c *Context) Work(table string) string {
	return c.Dialect.Quote(c.Schema, "_work_"+table+"_"+c.RunID)
}

// Statement is one SQL statement with its bound arguments, in the dialect's
// placeholder format.
type Statement struct {
	SQL  string
	Args []any
	// Def names the YAML definitions the statement was built from, for
	// progress and errors ("segments vip, lapsed_vip"); "" when none alone.
	Def string
}

// Step is one unit of a run. Steps run in order; a step reads the staged
// tables of the steps before it.
type Step interface {
	// Name is short and stable: "identity", "profiles", "segments".
	Name() string
	// SQL is the step's SQL as a data engineer should read it in `cohort
	// compile`: one comment header saying which YAML definitions produced it,
	// loops shown once with a comment saying how they repeat.
	SQL() string
	// Run executes the step. It reports progress through p and returns what it did.
	Run(ctx context.Context, wh dialects.Warehouse, p Progress) (Stats, error)
	// Outputs are the public tables this step stages (unquoted names such as
	// "identity_graph"); the executor swaps them in after the last step.
	Outputs() []string
}

// Progress receives what a running step is doing. It may be nil-safe no-op.
type Progress func(msg string)

// Stats are the figures a step reports for the summary and the run history.
type Stats struct {
	Rows    map[string]int64 // rows per output table, and other named counts
	Details []string         // lines for the summary (rounds, precision, ...)
	// Publish are the Publish nodes the step's run reached: how the
	// publish step puts its tables in place (Context.Replacements).
	Publish []Publish `json:"-"`
}

// Planned is a step whose work is a plan of nodes: Plan is what its Run
// executes and its SQL prints, and the publication compile prints comes
// from it (Publishes).
type Planned interface {
	Plan() []Node
}

// SQLStep is a step whose work is a plan of nodes (Nodes; or Statements
// run in order): Run executes exactly what SQL prints.
type SQLStep struct {
	StepName   string
	Header     string // which YAML definitions produced it
	Statements []Statement
	// Nodes, when set, are the step's plan instead of Statements; Ctx is
	// the context their IfExists nodes read.
	Nodes []Node
	Ctx   *Context
	Out   []string
	// Count is run after the plan: each entry counts a table for Stats.
	Count map[string]string
	// Cleanup ends the plan, and runs also when the plan failed: it drops
	// the step's scratch tables (which may live outside the schema, where
	// the run's end does not look for them).
	Cleanup []Statement
}

func (s *SQLStep) Name() string      { return s.StepName }
func (s *SQLStep) Outputs() []string { return s.Out }

// Plan is the step's nodes.
func (s *SQLStep) Plan() []Node {
	nodes := append([]Node(nil), s.Nodes...)
	if s.Nodes == nil {
		for _, st := range s.Statements {
			nodes = append(nodes, Exec{st})
		}
	}
	for _, st := range s.Cleanup {
		nodes = append(nodes, Exec{st})
	}
	return nodes
}

func (s *SQLStep) SQL() string { return Comment(s.Header) + Print(s.Plan()) }

func (s *SQLStep) Run(ctx context.Context, wh dialects.Warehouse, p Progress) (Stats, error) {
	run, err := Execute(ctx, wh, s.Ctx, s.Plan(), p)
	if err != nil {
		for _, st := range s.Cleanup {
			_ = wh.Exec(context.WithoutCancel(ctx), st.SQL, st.Args...)
		}
		return Stats{}, err
	}
	stats := Stats{Rows: map[string]int64{}, Publish: run.Published}
	for name, table := range s.Count {
		n, err := CountRows(ctx, wh, table)
		if err != nil {
			return stats, err
		}
		stats.Rows[name] = n
	}
	return stats, nil
}

// CountRows counts the rows of a quoted table.
func CountRows(ctx context.Context, wh dialects.Warehouse, table string) (int64, error) {
	var n int64
	err := QueryRow(ctx, wh, "SELECT count(*) FROM "+table, nil, &n)
	return n, err
}

// Where is a condition with the arguments of its ? placeholders.
type Where struct {
	Cond string
	Args []any
}

// In is the condition that col is one of values, a placeholder each.
func In(col string, values []string) Where {
	w := Where{Cond: col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")"}
	for _, v := range values {
		w.Args = append(w.Args, v)
	}
	return w
}

// DeleteEach deletes the rows of the quoted table that each condition
// matches, one condition after the other, and returns how many it deleted
// (a row two match counted once, by the first). Each is its own DELETE:
// "a IN (...) OR b IN (SELECT ...)" is a subquery PostgreSQL tests row by
// row once it outgrows work_mem, where alone it is a join.
func DeleteEach(ctx context.Context, wh dialects.Warehouse, table string, conds []Where) (int64, error) {
	d := wh.Dialect()
	var n int64
	for _, w := range conds {
		var found int64
		if err := QueryRow(ctx, wh, dialects.Bind(d, "SELECT count(*) FROM "+table+" WHERE "+w.Cond), w.Args, &found); err != nil {
			return n, err
		}
		if found == 0 {
			continue
		}
		if err := wh.Exec(ctx, dialects.Bind(d, "DELETE FROM "+table+" WHERE "+w.Cond), w.Args...); err != nil {
			return n, err
		}
		n += found
	}
	return n, nil
}

// QueryRow runs a query expected to return one row and scans it.
func QueryRow(ctx context.Context, wh dialects.Warehouse, query string, args []any, dest ...any) error {
	rows, err := wh.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("no row returned by: %s", query)
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// Comment renders text as a SQL comment block.
func Comment(text string) string {
	if text == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString("-- " + CommentSafe(l) + "\n")
	}
	return b.String()
}

// CommentSafe is text for one line of a -- comment: every control
// character (a carriage return, a vertical tab ...) written as an escape,
// so that no user text ends the comment and runs as SQL.
func CommentSafe(text string) string {
	if strings.IndexFunc(text, unicode.IsControl) < 0 {
		return text
	}
	var b strings.Builder
	for _, r := range text {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Render shows a statement with its arguments listed after it, as compile prints it.
func Render(st Statement) string {
	if len(st.Args) == 0 {
		return st.SQL
	}
	var args []string
	for i, a := range st.Args {
		args = append(args, fmt.Sprintf("$%d = %s", i+1, formatArg(a)))
	}
	return st.SQL + "\n-- parameters: " + strings.Join(args, ", ")
}

func formatArg(a any) string {
	switch v := a.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case time.Time:
		return "'" + v.Format("2006-01-02 15:04:05") + "'"
	case Var:
		return "{" + string(v) + "} (set as the plan runs)"
	default:
		return fmt.Sprint(v)
	}
}

// SuppressionsTable is the output table holding the suppression list
// (identifier_hash), so that SQL can exclude forgotten people.
const SuppressionsTable = "suppressions"

// Relation is the FROM item of a source: its quoted table, or its query in parentheses.
func Relation(d dialects.Dialect, src *models.Source) string {
	if src.SQL != "" {
		return "(" + strings.TrimRight(strings.TrimSpace(src.SQL), ";") + ")"
	}
	schema, table := dialects.SplitTable(src.Table)
	if schema == "" {
		return d.Quote(table)
	}
	return d.Quote(schema, table)
}

// TimeArg formats t as a naive timestamp literal to bind with TimeParam.
// Source timestamps without a time zone are read as the project's local time.
func TimeArg(t time.Time) string { return t.Format("2006-01-02 15:04:05.999999") }

// TimeParam reads a bound TimeArg (or NULL) as the dialect's timestamp type.
func TimeParam(d dialects.Dialect, placeholder string) string {
	return "CAST(" + placeholder + " AS " + d.TypeName(dialects.Timestamp) + ")"
}

// Show formats a value read from a warehouse for people: NULL as "-",
// timestamps to the second with their zone (read them with WallClock
// first), doubles of 1 and more with two decimals (money)
// and smaller ones with four significant digits (scores).
func Show(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case time.Time:
		return ShowTime(x, x.Location())
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		if x >= 1 || x <= -1 {
			return fmt.Sprintf("%.2f", x)
		}
		return fmt.Sprintf("%.4g", x)
	}
	return fmt.Sprint(v)
}

// Builder builds one statement with ? placeholders and its bound values;
// Statement rewrites the placeholders into the dialect's format.
type Builder struct {
	SQL  strings.Builder
	Args []any
}

// W writes SQL text.
func (s *Builder) W(parts ...string) *Builder {
	for _, p := range parts {
		s.SQL.WriteString(p)
	}
	return s
}

// Arg binds a value and returns its placeholder.
func (s *Builder) Arg(v any) string {
	s.Args = append(s.Args, v)
	return "?"
}

// List binds values and returns their placeholders as "(?, ?, ...)": an
// IN list or a VALUES row.
func (s *Builder) List(vs ...any) string {
	ph := make([]string, len(vs))
	for i, v := range vs {
		ph[i] = s.Arg(v)
	}
	return "(" + strings.Join(ph, ", ") + ")"
}

// Statement is the built statement in the dialect's placeholder format.
func (s *Builder) Statement(d dialects.Dialect) Statement {
	return Statement{SQL: dialects.Bind(d, s.SQL.String()), Args: s.Args}
}

// FinalExists reports whether a table of the output schema exists (it does
// not before the first run that builds it).
func (c *Context) FinalExists(ctx context.Context, wh dialects.Warehouse, table string) (bool, error) {
	_, err := wh.Columns(ctx, c.Schema+"."+table)
	if errors.Is(err, dialects.ErrNoTable) {
		return false, nil
	}
	return err == nil, err
}

// RequireFinal fails when the output table a command reads is not there,
// as on a project that has not run yet, saying what to do.
func (c *Context) RequireFinal(ctx context.Context, wh dialects.Warehouse, table string) error {
	ok, err := c.FinalExists(ctx, wh, table)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s.%s does not exist: run `cohort run` first", c.Schema, table)
	}
	return nil
}

// Thousands formats 1234567 as 1,234,567.
func Thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
