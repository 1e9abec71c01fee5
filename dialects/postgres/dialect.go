package postgres

import (
	"fmt"
	"strconv"
	"strings"

	sq "github.com/Masterminds/squirrel"

	"github.com/cohort-cdp/cohort/dialects"
)

// Name is the registered name of this dialect.
const Name = "postgres"

func init() {
	dialects.Register(Name, dialects.Driver{Dialect: Dialect{}, Open: Open, Needs: []string{"dsn"}})
}

// Dialect writes PostgreSQL SQL.
type Dialect struct{}

func (Dialect) Name() string                      { return Name }
func (Dialect) Placeholder() sq.PlaceholderFormat { return sq.Dollar }
func (Dialect) CreateSchema(schema string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + dialects.QuoteIdent(schema)
}
func (Dialect) DropTable(table string) string { return "DROP TABLE IF EXISTS " + table }
func (Dialect) Hash64(exprs ...string) string {
	return "hashtextextended(" + strings.Join(exprs, " || ") + ", 0)"
}
func (Dialect) EpochSeconds(expr string) string {
	return "CAST(extract(epoch FROM " + expr + ") AS DOUBLE PRECISION)"
}

// Let writes value out at each reference: PostgreSQL has no lambdas, and a
// scalar subquery per row costs more than the repetitions it saves.
func (Dialect) Let(value, name, body string) string { return dialects.LetInline(value, name, body) }
func (Dialect) RegexpMatches(expr, p string) string { return "(" + expr + " ~ " + p + ")" }

func (Dialect) Quote(parts ...string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = dialects.QuoteIdent(p)
	}
	return strings.Join(q, ".")
}

func (Dialect) TypeName(t dialects.Type) string {
	switch t {
	case dialects.Integer:
		return "BIGINT"
	case dialects.Number:
		return "DOUBLE PRECISION"
	case dialects.Boolean:
		return "BOOLEAN"
	case dialects.Timestamp:
		return "TIMESTAMP"
	case dialects.Decimal:
		return "NUMERIC(18,2)"
	}
	return "TEXT"
}

func (Dialect) CreateTableAs(table, query string, work bool) string {
	if work {
		return "CREATE UNLOGGED TABLE " + table + " AS\n" + query
	}
	return "CREATE TABLE " + table + " AS\n" + query
}

// MD5Hex: md5 gives lower-case hex text.
func (Dialect) MD5Hex(expr string) string { return "md5(" + expr + ")" }

// HashValue: the text.
func (Dialect) HashValue(md5Hex string) string { return md5Hex }

// SHA256Hex: sha256 takes bytea (PostgreSQL 11+): the text's UTF-8 bytes.
func (Dialect) SHA256Hex(expr string) string {
	return "encode(sha256(convert_to(" + expr + ", 'UTF8')), 'hex')"
}

func (d Dialect) ArrayRows(params []string, types []dialects.Type) string {
	return dialects.UnnestArrays(d.TypeName, params, types)
}

func (Dialect) CreateView(view, query string) string { return dialects.CreateViewANSI(view, query) }

// Publish renames every staged table in one transaction.
//
// A table brought up to date in place (an identity increment deletes the
// rows of the profiles it resolved again) is changed with the run's
// random_page_cost (bulkSettings): under the default 4 the planner deleted
// the benchmark increment's ~15,000 profiles from identity_graph by a
// scan of its 8M rows (2.9-5.2 s) instead of their index look-ups
// (1.4-1.5 s for 160,000 rows).
func (d Dialect) Publish(pairs []dialects.Replace) [][]string {
	txs := dialects.RenameInTransaction(d.Quote, pairs)
	for _, p := range pairs {
		if len(p.Apply) > 0 {
			txs[0] = append([]string{"SET LOCAL random_page_cost = " + bulkSetting("random_page_cost")}, txs[0]...)
			break
		}
	}
	return txs
}

// bulkSetting is the value bulkSettings give a setting.
func bulkSetting(name string) string {
	for _, s := range bulkSettings {
		if s[0] == name {
			return s[1]
		}
	}
	return ""
}

// Bucket hashes with md5 so that DuckDB gives the same bucket.
func (Dialect) Bucket(expr string, n int) string {
	return fmt.Sprintf("(CAST(CAST(('x' || substr(md5(%s), 1, 8)) AS bit(32)) AS BIGINT) %% %d)", expr, n)
}

func (Dialect) StringAgg(expr, sep string) string { return "string_agg(" + expr + ", " + sep + ")" }

func (Dialect) RegexpReplace(expr, pattern, repl string) string {
	return "regexp_replace(" + expr + ", " + pattern + ", " + repl + ", 'g')"
}

// TextOrder compares byte by byte whatever the database's locale.
func (Dialect) TextOrder(expr string) string { return "(" + expr + ` COLLATE "C")` }

func (Dialect) Analyze(table string) string { return "ANALYZE " + table }

// bulkSettings are the planner settings for a run of large builds, each
// measured on the identity benchmark (10M links, statement by statement):
//   - jit off: compiling took up to 1.5 s of a 10 s statement and saves
//     nothing on queries that are hashing and sorting, not evaluating;
//   - enable_hashagg off: with the default work_mem a large GROUP BY or
//     DISTINCT hashes in dozens of spilled batches; a parallel sort is
//     faster (round 1's choice 10.0 -> 5.5 s, the nodes 20.8 -> 16.9 s);
//   - parallel_setup_cost 0, parallel_tuple_cost 0.001: the planner ran a
//     10M-row join with DISTINCT on one process; in parallel 16.2 -> 11.9 s;
//   - random_page_cost 1.1 (solid-state storage, not the default's disks):
//     with the parallel costs above, an increment looked 20,000 new keys up
//     in the 8M of _identity_keys by a parallel scan (1.9 s) instead of its
//     index (0.6-0.75 s); a rebuild's work tables have no index to choose.
//
// work_mem is left alone: 16MB to 1GB made the same statements slower
// (round 1's contraction 16 s at 4MB, 18-44 s above), their plans trading
// parallel sorts for one big hash.
var bulkSettings = [][2]string{
	{"jit", "off"},
	{"enable_hashagg", "off"},
	{"parallel_setup_cost", "0"},
	{"parallel_tuple_cost", "0.001"},
	{"random_page_cost", "1.1"},
}

// BulkSettings: the planner settings above, for this session.
func (Dialect) BulkSettings() (set, reset []string) {
	for _, s := range bulkSettings {
		set = append(set, "SET "+s[0]+" = "+s[1])
		reset = append(reset, "RESET "+s[0])
	}
	return set, reset
}

func (Dialect) Capabilities() dialects.Capabilities {
	return dialects.Capabilities{TransactionalDDL: true, AtomicPublish: true, UnloggedTables: true, DistinctOn: true, AggregateFilter: true,
		IndexedRename: true}
}

// RegexpLimits: PostgreSQL's regular expressions (POSIX ARE) lack these parts of RE2.
func (Dialect) RegexpLimits() []dialects.RegexpLimit {
	return []dialects.RegexpLimit{
		{Contains: []string{`\p`, `\P`}, Problem: `uses a Unicode class (\p), which PostgreSQL does not support: use a bracket expression such as [[:alpha:]]`},
		{Contains: []string{"(?P<", "(?<"}, Problem: "uses a named group, which PostgreSQL does not support: use (...) or (?:...)"},
		{Contains: []string{`\z`}, Problem: `uses \z, which PostgreSQL does not support: use $`},
	}
}

// PostgreSQL's optional hooks.
var (
	_ dialects.RegexpLimiter = Dialect{}
	_ dialects.Analyzer      = Dialect{}
	_ dialects.BulkTuner     = Dialect{}
)

// IndexOn: a btree; it survives the rename of a staged table, but the
// engine indexes the public tables after the publish step on every
// dialect, outside the publish transaction that readers wait on.
func (d Dialect) IndexOn(schema, table, column string) string {
	return "CREATE INDEX IF NOT EXISTS " + d.Quote(dialects.IndexName(table, column)) + " ON " + d.Quote(schema, table) + " (" + d.Quote(column) + ")"
}

// IndexCovering: IndexOn's btree carrying the include columns (INCLUDE).
func (d Dialect) IndexCovering(schema, table, column string, include []string) string {
	var cols []string
	for _, c := range include {
		cols = append(cols, d.Quote(c))
	}
	return d.IndexOn(schema, table, column) + " INCLUDE (" + strings.Join(cols, ", ") + ")"
}

// MarkVisible: VACUUM sets the visibility map, which a CREATE TABLE AS
// leaves empty (autovacuum sets it later, if it runs): until then an
// index-only scan still fetches every row from the table. On the
// identity benchmark's 10M kept links it takes about a second.
func (Dialect) MarkVisible(table string) string { return "VACUUM " + table }

// LeadingIndex: pg_index's first key column of the relation's indexes;
// to_regclass finds the relation as a query would (NULL when there is none).
func (Dialect) LeadingIndex() string {
	return `SELECT coalesce(bool_or(c.relkind IN ('r', 'p', 'm')), false), coalesce(bool_or(EXISTS (SELECT 1 FROM pg_index i
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
  WHERE i.indrelid = c.oid AND a.attname = ?)), false)
FROM pg_class c WHERE c.oid = to_regclass(?)`
}

// DistinctShare: a negative n_distinct is a share of the rows; ANALYZE
// keeps it instead of its estimate, also after the table is renamed.
func (d Dialect) DistinctShare(table, column string, share float64) string {
	return "ALTER TABLE " + table + " ALTER COLUMN " + d.Quote(column) + " SET (n_distinct = " + strconv.FormatFloat(-share, 'g', -1, 64) + ")"
}

// MaterializedCTE: the CTE is run on its own, with its index scan.
func (Dialect) MaterializedCTE() string { return "MATERIALIZED " }

var (
	_ dialects.Indexer        = Dialect{}
	_ dialects.IndexFinder    = Dialect{}
	_ dialects.DistinctHinter = Dialect{}
	_ dialects.Materializer   = Dialect{}
)
