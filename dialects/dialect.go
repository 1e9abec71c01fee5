package dialects

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	sq "github.com/Masterminds/squirrel"
)

// Type is a portable column type.
type Type string

const (
	Text      Type = "text"
	Integer   Type = "integer" // 64-bit
	Number    Type = "number"  // double precision
	Boolean   Type = "boolean"
	Timestamp Type = "timestamp" // without time zone, in UTC
	Decimal   Type = "decimal"   // exact, two decimals: money
)

// Dialect writes the SQL that differs between warehouses. The engine writes
// each algorithm once and asks the dialect for these narrow pieces; it never
// branches on a dialect's name.
type Dialect interface {
	Name() string
	// Placeholder is the bind-parameter format of the SQL this dialect runs.
	// Statements handed to a Warehouse are already in this format.
	Placeholder() sq.PlaceholderFormat
	// Quote quotes each part as an identifier and joins them with dots.
	Quote(parts ...string) string
	// TypeName is the column type in this warehouse.
	TypeName(t Type) string
	// CreateSchema creates a schema if it does not exist.
	CreateSchema(schema string) string
	// CreateTableAs builds table (already quoted) from query. Work tables that
	// may be lost on a crash are created unlogged where the warehouse can.
	CreateTableAs(table, query string, work bool) string
	// DropTable drops a table (already quoted) if it exists.
	DropTable(table string) string
	// Publish returns the statements that put each staged table in place of
	// its final one (names unquoted, in one schema), as transactions to run
	// in order, each all or nothing. With Capabilities().AtomicPublish there
	// is one, and a reader sees every table of the previous run or every
	// table of the new one. Without it (a warehouse that commits each DDL
	// statement on its own) the tables are published one after the other and
	// a reader may meanwhile see some new tables beside old ones.
	Publish(pairs []Replace) [][]string
	// Hash64 is a fast 64-bit signed integer hash of text expressions: of
	// their concatenation, or of each combined in order where the warehouse
	// hashes several at once (no concatenated copy of every value). It need
	// not agree between dialects. Combined, a part does not change how the
	// others hash (DuckDB: each part's hash XOR the rest), so two values
	// whose hashes clash clash beside any other part: a salt meant to end a
	// clash goes into the text (identity's keyExpr).
	Hash64(exprs ...string) string
	// Bucket maps a text expression to 0..n-1 with a hash that gives the same
	// result on every dialect (md5 based), for holdouts and splits.
	Bucket(expr string, n int) string
	// RegexpMatches is a boolean expression: expr matches the pattern expression.
	RegexpMatches(expr, pattern string) string
	// RegexpReplace replaces every match of pattern in expr.
	RegexpReplace(expr, pattern, replacement string) string
	// EpochSeconds converts a timestamp expression to seconds since 1970 (double).
	EpochSeconds(expr string) string
	// StringAgg is an aggregate joining a text expression's values of a
	// group with sep between them, in no particular order.
	StringAgg(expr, sep string) string
	// Let is body with name standing for value, value computed once per row
	// where the dialect can (DuckDB computes an expression once per
	// reference); name must not occur in body but as that reference.
	Let(value, name, body string) string
	// TextOrder makes a text expression compare byte by byte (not by the
	// database's locale), so that min() and ORDER BY agree on every dialect.
	TextOrder(expr string) string
	// MD5Hex is the md5 of a text expression as 32 lower-case hex digits,
	// the same on every dialect (public profile ids are derived from it).
	MD5Hex(expr string) string
	// HashValue is a value of an MD5Hex result (not NULL) that two hashes
	// share exactly when they are equal, in as little memory as the
	// dialect allows: the diff of a sync holds one per member and per
	// snapshot row in a join. The hex text itself where nothing is smaller.
	HashValue(md5Hex string) string
	// SHA256Hex is the SHA-256 of a text expression's UTF-8 bytes as 64
	// lower-case hex digits, the same on every dialect and in Go: the
	// suppression list of forgotten people (cohort forget) is matched by it.
	SHA256Hex(expr string) string
	// ArrayRows is a query returning one row per index of equal-length array
	// parameters (each a placeholder bound to a []string or []int64), one
	// column per array in order, of the given types: many rows in one
	// statement without a placeholder per value.
	ArrayRows(params []string, types []Type) string
	// CreateView creates a view (already quoted) of query.
	CreateView(view, query string) string
	// Capabilities are what the engine may rely on.
	Capabilities() Capabilities
}

// The hooks below are optional: a dialect implements them only where its
// warehouse needs them, and the engine asks through the functions that
// follow (Analyze, ScratchSpace ...), which give the default otherwise.

// Analyzer is a dialect whose planner statistics must be refreshed after a
// bulk build (PostgreSQL); others keep them as they write.
type Analyzer interface {
	// Analyze refreshes the planner's statistics of a table (already quoted).
	Analyze(table string) string
}

// Analyze is d's statement refreshing a table's statistics, or "".
func Analyze(d Dialect, table string) string {
	if a, ok := d.(Analyzer); ok {
		return a.Analyze(table)
	}
	return ""
}

// Scratcher is a dialect that keeps a run's scratch tables somewhere other
// than the output schema (DuckDB: an attached in-memory database).
type Scratcher interface {
	// ScratchSpace returns the statements that prepare the scratch space of
	// a run writing to schema, and the quoted prefix of its tables' names.
	// Scratch tables never need to survive a crash, so a warehouse may keep
	// them in memory (spilling to disk beyond its memory limit).
	ScratchSpace(schema string) (setup []string, prefix string)
}

// ScratchSpace says where the scratch tables of a run writing to schema
// live: the statements that prepare it and the quoted prefix of their names
// (by default the output schema itself).
func ScratchSpace(d Dialect, schema string) ([]string, string) {
	if s, ok := d.(Scratcher); ok {
		return s.ScratchSpace(schema)
	}
	return nil, d.Quote(schema)
}

// BulkTuner is a dialect with session settings for a run of large
// set-based builds.
type BulkTuner interface {
	// BulkSettings returns the settings for large set-based builds (rows of
	// CREATE TABLE AS / INSERT ... SELECT written in any order, in parallel;
	// more memory per hash or sort before spilling to disk) and the
	// statements that put the defaults back. Where the session is one of a
	// pool's connections they help only the statements that land on it.
	BulkSettings() (set, reset []string)
}

// BulkSettings are d's settings for large builds and their reset, or none.
func BulkSettings(d Dialect) (set, reset []string) {
	if b, ok := d.(BulkTuner); ok {
		return b.BulkSettings()
	}
	return nil, nil
}

// UnorderedWriter is a dialect whose CREATE TABLE AS keeps its query's row
// order unless a setting says otherwise, and then writes on one thread
// where that order is not a sort's.
type UnorderedWriter interface {
	// UnorderedWrites returns the settings under which a CREATE TABLE AS
	// without ORDER BY may write its rows in any order, in parallel (one with
	// ORDER BY stays in its order), and the statements that put the
	// defaults back.
	UnorderedWrites() (set, reset []string)
}

// UnorderedWrites are d's settings for writes in any order and their
// reset, or none.
func UnorderedWrites(d Dialect) (set, reset []string) {
	if u, ok := d.(UnorderedWriter); ok {
		return u.UnorderedWrites()
	}
	return nil, nil
}

// Embedded is a dialect whose warehouse runs inside this process, so that
// its memory and threads are ours to cap and to measure (benchmarks).
type Embedded interface {
	// Resources returns the statements that cap this session's memory
	// (e.g. "2GB"; work beyond it spills to disk) and threads (0: leave as is).
	Resources(memoryLimit string, threads int) []string
	// MemoryUsage is a query returning the bytes the warehouse holds in memory now.
	MemoryUsage() string
}

// Resources are d's statements capping memory and threads; none when its
// warehouse does not run in this process.
func Resources(d Dialect, memoryLimit string, threads int) []string {
	if e, ok := d.(Embedded); ok {
		return e.Resources(memoryLimit, threads)
	}
	return nil
}

// MemoryUsage is d's query of its own memory in bytes, or "" when it does not report it.
func MemoryUsage(d Dialect) string {
	if e, ok := d.(Embedded); ok {
		return e.MemoryUsage()
	}
	return ""
}

// RegexpLimit is a regular-expression construct a dialect cannot run.
type RegexpLimit struct {
	Contains []string // any of these in a pattern uses the construct
	Problem  string   // what is wrong and what to write instead; %s is the construct found
}

// RegexpLimiter is a dialect whose regular expressions lack some of RE2,
// the syntax exclude patterns are written in; validation refuses those
// constructs for every project, so that a project runs on any warehouse.
type RegexpLimiter interface {
	RegexpLimits() []RegexpLimit
}

// Indexer is a dialect whose warehouse keeps indexes for point look-ups
// (an ART index on DuckDB, a btree on PostgreSQL): the profile look-up
// finds one profile's rows through them instead of scanning its tables.
// Warehouses without indexes (Snowflake, BigQuery) do not implement it.
type Indexer interface {
	// IndexOn creates, if it does not exist, an index on one column of a
	// table (names unquoted, the table in schema), named after both.
	IndexOn(schema, table, column string) string
}

// IndexOn is d's statement indexing table.column, or "" where d keeps no
// indexes.
func IndexOn(d Dialect, schema, table, column string) string {
	if i, ok := d.(Indexer); ok {
		return i.IndexOn(schema, table, column)
	}
	return ""
}

// CoveringIndexer is an Indexer whose index can carry more columns than it
// is searched by (PostgreSQL's INCLUDE), and whose index-only scans need a
// table's pages marked visible to every transaction (PostgreSQL's
// visibility map, which a bulk write leaves unset until a vacuum visits).
// A look-up that finds its other columns in the index reads no table page.
type CoveringIndexer interface {
	Indexer
	// IndexCovering is IndexOn with the include columns carried in the index.
	IndexCovering(schema, table, column string, include []string) string
	// MarkVisible marks a table's pages visible (table quoted), so that
	// index-only scans skip them.
	MarkVisible(table string) string
}

// IndexCovering is d's statement indexing table.column with include carried
// in the index where it can, else IndexOn's.
func IndexCovering(d Dialect, schema, table, column string, include ...string) string {
	if i, ok := d.(CoveringIndexer); ok && len(include) > 0 {
		return i.IndexCovering(schema, table, column, include)
	}
	return IndexOn(d, schema, table, column)
}

// MarkVisible is d's statement marking a table's pages visible for
// index-only scans, or "" where d needs none.
func MarkVisible(d Dialect, table string) string {
	if i, ok := d.(CoveringIndexer); ok {
		return i.MarkVisible(table)
	}
	return ""
}

// IndexFinder is an Indexer that can tell whether a column leads one of a
// table's indexes (PostgreSQL): where a scan cannot skip the older rows by
// their min/max (Capabilities.MinMaxPruning), a source read incrementally
// needs an index on its timestamp, and `cohort validate` says so.
type IndexFinder interface {
	// LeadingIndex is a query with two parameters, a column and a relation
	// as a query names it (quoted, schema-qualified or found on the search
	// path), returning one row: whether the relation is one that can be
	// indexed (a table; false for a view or when there is none), and
	// whether an index of it has that column first.
	LeadingIndex() string
}

// LeadingIndex is d's query telling whether a column leads an index of a
// relation (IndexFinder), or "" where d cannot tell.
func LeadingIndex(d Dialect) string {
	if f, ok := d.(IndexFinder); ok {
		return Bind(d, f.LeadingIndex())
	}
	return ""
}

// DistinctHinter is a dialect whose planner estimates how many distinct
// values a column has from a sample of its rows, which skewed data misleads
// (PostgreSQL: one giant cluster made it count 16,000 profiles among 8M
// identifiers instead of 637,000, and scan the whole graph instead of
// looking 14,000 profiles up by their index).
type DistinctHinter interface {
	// DistinctShare is a statement telling the planner that about share
	// (0 < share <= 1) of a column's values are distinct, however many rows
	// the table (already quoted) gets; its statistics refreshed after it
	// take it.
	DistinctShare(table, column string, share float64) string
}

// DistinctShare is d's statement hinting a column's share of distinct
// values, or "" where the planner needs no hint.
func DistinctShare(d Dialect, table, column string, share float64) string {
	if h, ok := d.(DistinctHinter); ok {
		return h.DistinctShare(table, column, share)
	}
	return ""
}

// Materializer is a dialect where `WITH x AS MATERIALIZED (...)` makes its
// planner run the CTE on its own (DuckDB, PostgreSQL 12+). A look-up needs
// it to keep an index scan under an ORDER BY ... LIMIT, which DuckDB
// otherwise turns into a top-N over a sequential scan.
type Materializer interface {
	MaterializedCTE() string
}

// MaterializedCTE is d's keyword after `AS` in a CTE that must be run on
// its own ("MATERIALIZED "), or "".
func MaterializedCTE(d Dialect) string {
	if m, ok := d.(Materializer); ok {
		return m.MaterializedCTE()
	}
	return ""
}

// OrderKey is one key of an order: Expr ascending, or descending with
// Desc; NULLs come last either way.
type OrderKey struct {
	Expr string
	Desc bool
}

// Picker is a dialect with an aggregate that returns the value on a group's
// first row in an order (DuckDB's first(x ORDER BY ...), which it runs as
// arg_min; BigQuery's ARRAY_AGG(x ... LIMIT 1)). The profiles step then
// picks a trait's latest, first or priority value in the GROUP BY of its
// source's aggregates, instead of ranking every row with DISTINCT ON or
// row_number(), which sorts them. PostgreSQL has no such aggregate (its
// array_agg(x ORDER BY ...) sorts each group, slower than DISTINCT ON), nor
// has Snowflake one that keeps the value's type (ARRAY_AGG ... WITHIN GROUP
// gives a VARIANT, MIN_BY takes one key): they rank.
type Picker interface {
	// PickFirst is an aggregate expression: value on the first row in
	// order of the group's rows where cond holds (NULL when none does).
	// cond implies value IS NOT NULL; order decides every tie.
	PickFirst(value, cond string, order []OrderKey) string
}

// PickFirst is d's aggregate picking value at the first row in order
// among those where cond holds, or "" when d is no Picker.
func PickFirst(d Dialect, value, cond string, order []OrderKey) string {
	if p, ok := d.(Picker); ok {
		return p.PickFirst(value, cond, order)
	}
	return ""
}

// IndexName names the index of a table's column, as IndexOn creates it.
func IndexName(table, column string) string { return table + "__by_" + column }

// Literaler is a dialect whose string literals give backslash a meaning
// (Snowflake, BigQuery), so that a literal is not just text in quotes.
type Literaler interface {
	// StringLiteral is s as a string literal of this dialect.
	StringLiteral(s string) string
}

// Literal is s as a string literal of d: in single quotes with inner
// quotes doubled, unless d writes its literals otherwise.
func Literal(d Dialect, s string) string {
	if l, ok := d.(Literaler); ok {
		return l.StringLiteral(s)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// LikeEscaper is a dialect whose LIKE needs another escape clause than
// ESCAPE '\' written as an ANSI literal.
type LikeEscaper interface {
	// LikeEscape is the clause after `x LIKE pattern` that makes a
	// backslash escape % and _ in pattern ("" where it does already).
	LikeEscape() string
}

// LikeEscape is the clause making backslash LIKE's escape character on d.
func LikeEscape(d Dialect) string {
	if l, ok := d.(LikeEscaper); ok {
		return l.LikeEscape()
	}
	return ` ESCAPE '\'`
}

// SetOperators is a dialect that spells the set operations removing
// duplicates in its own way (BigQuery: UNION DISTINCT, EXCEPT DISTINCT).
type SetOperators interface {
	UnionDistinct() string
	ExceptDistinct() string
}

// Union is d's UNION that removes duplicates.
func Union(d Dialect) string {
	if s, ok := d.(SetOperators); ok {
		return s.UnionDistinct()
	}
	return "UNION"
}

// Except is d's EXCEPT that removes duplicates.
func Except(d Dialect) string {
	if s, ok := d.(SetOperators); ok {
		return s.ExceptDistinct()
	}
	return "EXCEPT"
}

// ValuesLister is a dialect without a VALUES list in FROM (BigQuery).
type ValuesLister interface {
	// Values is a FROM item named alias with columns cols, one row per
	// element of rows (literals, one per column).
	Values(rows [][]string, alias string, cols []string) string
}

// Values is a FROM item of literal rows: (VALUES (...), ...) AS alias(cols)
// unless d writes it otherwise.
func Values(d Dialect, rows [][]string, alias string, cols []string) string {
	if v, ok := d.(ValuesLister); ok {
		return v.Values(rows, alias, cols)
	}
	r := make([]string, len(rows))
	for i, row := range rows {
		r[i] = "(" + strings.Join(row, ", ") + ")"
	}
	return "(VALUES " + strings.Join(r, ", ") + ") AS " + alias + "(" + strings.Join(cols, ", ") + ")"
}

// LetInline is Let for a dialect without a way to name a value in an
// expression: value is written out at each reference.
func LetInline(value, name, body string) string {
	return strings.ReplaceAll(body, name, "("+value+")")
}

// ANSI behaviour that several dialects share: a dialect calls these from
// its own methods instead of writing them again.

// CreateViewANSI is CREATE VIEW.
func CreateViewANSI(view, query string) string {
	return "CREATE VIEW " + view + " AS\n" + query
}

// UnnestArrays is ArrayRows for a dialect with typed arrays unnested side
// by side in one SELECT list (DuckDB, PostgreSQL): typeName names the
// element type of each array.
func UnnestArrays(typeName func(Type) string, params []string, types []Type) string {
	sel := make([]string, len(params))
	for i, p := range params {
		sel[i] = "unnest(CAST(" + p + " AS " + typeName(types[i]) + "[]))"
	}
	return "SELECT " + strings.Join(sel, ", ")
}

// Replace names a staged table that replaces a final one, or brings it up
// to date in place.
type Replace struct {
	Schema string
	Final  string
	Staged string
	// InPlace: Staged is a view of Final with the run's changes, dropped
	// before Apply runs.
	InPlace bool
	// Apply, when set, brings Final up to date instead of replacing it
	// (delete and insert a few changed rows, append new ones); the
	// statements drop what they staged.
	Apply []string
}

// DropView drops a view (its name already quoted) if it exists.
func DropView(view string) string { return "DROP VIEW IF EXISTS " + view }

// RenameInTransaction is Publish for a dialect that drops and renames
// tables inside a transaction (DuckDB, PostgreSQL): one transaction in
// which each final table is dropped and its staged one renamed to it, or
// Apply run on it.
func RenameInTransaction(quote func(parts ...string) string, pairs []Replace) [][]string {
	var s []string
	for _, p := range pairs {
		if p.InPlace {
			s = append(s, DropView(quote(p.Schema, p.Staged)))
		}
		if len(p.Apply) > 0 {
			s = append(s, p.Apply...)
			continue
		}
		s = append(s, "DROP TABLE IF EXISTS "+quote(p.Schema, p.Final),
			"ALTER TABLE "+quote(p.Schema, p.Staged)+" RENAME TO "+quote(p.Final))
	}
	return [][]string{s}
}

// dmlStatement matches a statement that changes rows (after its comments).
var dmlStatement = regexp.MustCompile(`(?is)^\s*(--[^\n]*\n\s*)*(INSERT|DELETE|UPDATE|MERGE)\b`)

// IsDML says whether a statement changes rows rather than tables.
func IsDML(statement string) bool { return dmlStatement.MatchString(statement) }

// DDLAlone groups statements into transactions for a warehouse that
// commits DDL on its own (Snowflake) or allows none on permanent tables in
// a transaction (BigQuery): each run of consecutive row changes is one
// transaction, every other statement one by itself.
func DDLAlone(statements []string) [][]string {
	var txs [][]string
	for i, s := range statements {
		if IsDML(s) && i > 0 && IsDML(statements[i-1]) {
			txs[len(txs)-1] = append(txs[len(txs)-1], s)
			continue
		}
		txs = append(txs, []string{s})
	}
	return txs
}

// Publish runs d's publication of pairs on wh.
func Publish(ctx context.Context, wh Warehouse, pairs []Replace) error {
	for _, tx := range wh.Dialect().Publish(pairs) {
		if err := wh.InTx(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// Capabilities are flags the engine asks instead of a dialect's name.
type Capabilities struct {
	TransactionalDDL bool // CREATE/DROP/RENAME inside a transaction
	// AtomicPublish: Publish replaces the whole set of tables at once.
	AtomicPublish  bool
	UnloggedTables bool
	Appender       bool // bulk row loading faster than INSERT
	// DistinctOn: SELECT DISTINCT ON (key) ... ORDER BY key, ... keeps the
	// first row per key; without it the engine ranks with row_number().
	DistinctOn bool
	// AggregateFilter: agg(x) FILTER (WHERE c); without it the engine
	// writes agg(CASE WHEN c THEN x END).
	AggregateFilter bool
	// RestrictedNames: quoting does not make any name legal. BigQuery
	// datasets (schemas) take letters, digits and _ only, and its table
	// names no quotes.
	RestrictedNames bool
	// MinMaxPruning: a scan skips the blocks whose minimum and maximum of
	// a filtered column exclude the value asked for (DuckDB's zone maps,
	// Snowflake's micro-partitions), so a table written in the order of
	// that column is read only where the value is.
	MinMaxPruning bool
	// IndexedRename: an index built on a staged table is kept when the
	// table is renamed over the final one (PostgreSQL); DuckDB cannot
	// rename an indexed table.
	IndexedRename bool
	// ExclusiveWriter: the warehouse is a file that a process opening it
	// read-write holds alone (embedded DuckDB), while any number of
	// processes may open it read-only (Config.ReadOnly). A long-lived
	// process then reads through a read-only handle and opens a read-write
	// one only while it writes, so that other tools can read meanwhile.
	ExclusiveWriter bool
}

// Rows is what a query returns; *sql.Rows satisfies it, and so can a
// non-database/sql client such as BigQuery's.
type Rows interface {
	Columns() ([]string, error)
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Warehouse is a connection to a warehouse. It does not assume database/sql.
type Warehouse interface {
	Dialect() Dialect
	Exec(ctx context.Context, query string, args ...any) error
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Tables lists the tables and views of schema whose names contain
	// marker ("" lists them all).
	Tables(ctx context.Context, schema, marker string) ([]Table, error)
	// InTx runs statements in one transaction (all or nothing).
	InTx(ctx context.Context, statements []string) error
	// Columns lists a table's columns in order, or an error wrapping
	// ErrNoTable when it does not exist. table may be schema-qualified ("raw.orders").
	Columns(ctx context.Context, table string) ([]Column, error)
	// QueryColumns lists the columns a read-only query returns.
	QueryColumns(ctx context.Context, query string) ([]Column, error)
	Close() error
}

// JobLog is a Warehouse whose statements run as jobs with ids of their own
// (BigQuery), which a run's history keeps to trace each step's cost.
type JobLog interface {
	// TakeJobs returns the ids of the jobs run since the last call.
	TakeJobs() []string
}

// TakeJobs are the ids of wh's jobs since the last call, or none.
func TakeJobs(wh Warehouse) []string {
	if j, ok := wh.(JobLog); ok {
		return j.TakeJobs()
	}
	return nil
}

// Warner is a Warehouse with advice for `cohort validate` (a BigQuery
// dataset outside the EU).
type Warner interface {
	Warnings(ctx context.Context) []string
}

// Warnings are wh's advice on its set-up, or none.
func Warnings(ctx context.Context, wh Warehouse) []string {
	if w, ok := wh.(Warner); ok {
		return w.Warnings(ctx)
	}
	return nil
}

// Rememberer is a Warehouse that keeps values computed from its tables for
// as long as no process can change them (an embedded file opened
// read-only): per-look-up work can then be done once per handle.
type Rememberer interface {
	// Remember returns the value kept under key, computed by f from the
	// same handle the first time (once, whoever asks meanwhile). ok is
	// false, and f not called, while the tables may change.
	Remember(ctx context.Context, key string, f func(context.Context, Warehouse) (any, error)) (v any, ok bool, err error)
}

// Remember is wh's Remember, or not ok where wh keeps nothing.
func Remember(ctx context.Context, wh Warehouse, key string, f func(context.Context, Warehouse) (any, error)) (any, bool, error) {
	if r, ok := wh.(Rememberer); ok {
		return r.Remember(ctx, key, f)
	}
	return nil, false, nil
}

// Pinner is a Warehouse that can keep one of its connections for a caller,
// so that session settings hold for the statements after them (a pool
// would run each statement on any of its connections).
type Pinner interface {
	Pin(ctx context.Context) (wh Warehouse, release func(), err error)
}

// Preparer is a Warehouse that can parse and plan a statement once for
// many runs with different arguments.
type Preparer interface {
	Prepare(ctx context.Context, query string) (Statement, error)
}

// Statement is a statement to run many times with different arguments.
type Statement interface {
	Exec(ctx context.Context, args ...any) error
	Close() error
}

// Prepare is query prepared on wh, or, where wh prepares nothing, query
// run through wh.Exec each time.
func Prepare(ctx context.Context, wh Warehouse, query string) (Statement, error) {
	if p, ok := wh.(Preparer); ok {
		return p.Prepare(ctx, query)
	}
	return unprepared{wh: wh, query: query}, nil
}

type unprepared struct {
	wh    Warehouse
	query string
}

func (u unprepared) Exec(ctx context.Context, args ...any) error {
	return u.wh.Exec(ctx, u.query, args...)
}
func (u unprepared) Close() error { return nil }

// Table is a table or view of a schema.
type Table struct {
	Name string
	View bool
}

// Column is a column of a table or query.
type Column struct {
	Name string
	Type string // as the warehouse names it
}

// ErrNoTable says a table does not exist.
var ErrNoTable = fmt.Errorf("table does not exist")

// Config opens a warehouse.
type Config struct {
	Dir         string // project folder: relative paths are resolved against it
	Path        string
	DSN         string
	Project     string
	Location    string
	MemoryLimit string
	Threads     int
	// SmallMemory asks an embedded warehouse to keep the process small:
	// memory it frees goes back to the system instead of being kept for
	// its next work (a sync, which runs beside nothing else and should stay
	// within a small, predictable footprint).
	SmallMemory bool
	// MustExist: an embedded warehouse file that does not exist is an error
	// naming its path, not created (validate and read commands).
	MustExist bool
	// ReadOnly opens the warehouse for reading only, where the dialect
	// distinguishes (Capabilities().ExclusiveWriter); it implies MustExist.
	ReadOnly bool
	// Schema is the output schema (BigQuery: dataset) of the project.
	Schema string
	// Snowflake, when no DSN is given (key-pair authentication).
	Account        string
	User           string
	PrivateKeyPath string // PKCS#8 PEM, relative to Dir
	Role           string
	Database       string
	Compute        string // the virtual warehouse queries run on
	// QueryTag labels every statement so the warehouse's cost views can be
	// traced to Cohort (Snowflake QUERY_TAG, BigQuery job label).
	QueryTag string
	// MaxBytesBilled caps what one BigQuery query may scan (0: no cap).
	MaxBytesBilled int64
	// Endpoint overrides the API address (BigQuery: an emulator or a
	// private endpoint), without authentication when it is http://.
	Endpoint string
}

// Driver is a registered dialect with its warehouse opener.
type Driver struct {
	Dialect Dialect
	Open    func(ctx context.Context, cfg Config) (Warehouse, error)
	// Needs are the keys of cohort.yaml's `warehouse:` it cannot open
	// without ("dsn", "project"); none for a file next to the project.
	Needs []string
	// Instead are keys that, given together, stand in for a needed one:
	// Snowflake opens without a dsn from account, user and
	// private_key_path (key-pair authentication).
	Instead map[string]KeySet
}

// KeySet is keys of `warehouse:` that go together, and what they are for.
type KeySet struct {
	Keys []string
	For  string // "key-pair authentication"
}

var (
	mu      sync.RWMutex
	drivers = map[string]Driver{}
)

// Register makes a dialect available by name; dialect packages call it from init.
func Register(name string, d Driver) {
	mu.Lock()
	defer mu.Unlock()
	drivers[name] = d
}

// Lookup returns a registered dialect by name.
func Lookup(name string) (Driver, error) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := drivers[name]
	if !ok {
		return Driver{}, fmt.Errorf("unknown warehouse type %q (known: %s)", name, strings.Join(namesLocked(), ", "))
	}
	return d, nil
}

// Names lists the registered dialects.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	var n []string
	for k := range drivers {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Open opens a warehouse of a registered type.
func Open(ctx context.Context, typ string, cfg Config) (Warehouse, error) {
	d, err := Lookup(typ)
	if err != nil {
		return nil, err
	}
	return d.Open(ctx, cfg)
}

// StringLiteral is s as an ANSI SQL string literal (inner quotes doubled),
// for validated names that are part of a query's shape (identifier types,
// segment names): they hold no quote or backslash, so the literal reads the
// same on every dialect. Text that may (a regular expression) goes through
// Literal, the dialect's own; user values are bound parameters instead.
func StringLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// QuoteIdent quotes one identifier with double quotes, doubling inner quotes.
// Both embedded dialects and most warehouses use it.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// SplitTable splits "schema.table" into its parts; a bare name has no schema.
func SplitTable(name string) (schema, table string) {
	if i := strings.LastIndex(name, "."); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

// Bind rewrites ? placeholders into the dialect's format.
func Bind(d Dialect, query string) string {
	s, err := d.Placeholder().ReplacePlaceholders(query)
	if err != nil {
		return query
	}
	return s
}

// StatementError is a statement the warehouse refused: the YAML definition
// it was built from (when known) and its SQL, which the error's text leaves
// out (the command line prints it with --verbose).
type StatementError struct {
	Def string // e.g. "segment vip (models/segments.yaml:3:5)"; "" when not one definition's
	SQL string
	Err error
}

func (e *StatementError) Error() string {
	msg := e.Err.Error()
	if MaskMessage != nil {
		msg = MaskMessage(msg)
	}
	if e.Def != "" {
		return e.Def + ": " + msg
	}
	return msg
}

// MaskMessage, when set, masks the personal values a warehouse's message
// quotes (the value it could not convert: an e-mail, a name) before a
// StatementError is printed, logged or recorded in the run history; the
// engine sets it to models.MaskValuesIn.
var MaskMessage func(string) string

func (e *StatementError) Unwrap() error { return e.Err }

// ConfigError is a warehouse configuration that cannot work as written
// (a malformed DSN): bad usage, not a failure of the warehouse.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }
