package duckdb

import (
	"fmt"
	"strings"

	sq "github.com/Masterminds/squirrel"

	"github.com/cohort-cdp/cohort/dialects"
)

// Name is the registered name of this dialect.
const Name = "duckdb"

func init() {
	dialects.Register(Name, dialects.Driver{Dialect: Dialect{}, Open: Open})
}

// Dialect writes DuckDB SQL.
type Dialect struct{}

func (Dialect) Name() string                      { return Name }
func (Dialect) Placeholder() sq.PlaceholderFormat { return sq.Dollar }
func (Dialect) CreateSchema(schema string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + dialects.QuoteIdent(schema)
}
func (Dialect) DropTable(table string) string { return "DROP TABLE IF EXISTS " + table }

// Hash64: hash() takes several values and combines their hashes, without
// a concatenated copy of each value (10M-links identity benchmark: the
// links in 0.80-0.84 s instead of 1.35-1.41 s). The combination is the
// last value's hash XOR a constant of the others: see dialects.Dialect.
func (Dialect) Hash64(exprs ...string) string {
	return "CAST(hash(" + strings.Join(exprs, ", ") + ") >> 1 AS BIGINT)"
}
func (Dialect) EpochSeconds(expr string) string { return "CAST(epoch(" + expr + ") AS DOUBLE)" }

// Let binds value once through a one-element list and a lambda.
func (Dialect) Let(value, name, body string) string {
	return "list_transform([" + value + "], lambda " + name + ": " + body + ")[1]"
}
func (Dialect) RegexpMatches(expr, p string) string { return "regexp_matches(" + expr + ", " + p + ")" }

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
		return "DOUBLE"
	case dialects.Boolean:
		return "BOOLEAN"
	case dialects.Timestamp:
		return "TIMESTAMP"
	case dialects.Decimal:
		return "DECIMAL(18,2)"
	}
	return "VARCHAR"
}

func (Dialect) CreateTableAs(table, query string, work bool) string {
	return "CREATE TABLE " + table + " AS\n" + query
}

// MD5Hex: md5 gives lower-case hex text.
func (Dialect) MD5Hex(expr string) string { return "md5(" + expr + ")" }

// HashValue: the 32 hex digits as one 128-bit integer, 16 bytes in a join
// instead of the text's 48 (a string over 12 bytes is a 16-byte header and
// its bytes apart).
func (Dialect) HashValue(md5Hex string) string { return "CAST('0x' || " + md5Hex + " AS UHUGEINT)" }

// SHA256Hex: sha256 of a VARCHAR hashes its UTF-8 bytes, as lower-case hex.
func (Dialect) SHA256Hex(expr string) string { return "sha256(" + expr + ")" }

func (d Dialect) ArrayRows(params []string, types []dialects.Type) string {
	return dialects.UnnestArrays(d.TypeName, params, types)
}

func (Dialect) CreateView(view, query string) string { return dialects.CreateViewANSI(view, query) }

// Publish renames every staged table in one transaction.
func (d Dialect) Publish(pairs []dialects.Replace) [][]string {
	return dialects.RenameInTransaction(d.Quote, pairs)
}

// Bucket hashes with md5 so that PostgreSQL gives the same bucket.
func (Dialect) Bucket(expr string, n int) string {
	return fmt.Sprintf("(CAST(('0x' || substr(md5(%s), 1, 8)) AS BIGINT) %% %d)", expr, n)
}

func (Dialect) StringAgg(expr, sep string) string { return "string_agg(" + expr + ", " + sep + ")" }

func (Dialect) RegexpReplace(expr, pattern, repl string) string {
	return "regexp_replace(" + expr + ", " + pattern + ", " + repl + ", 'g')"
}

// TextOrder: DuckDB compares text byte by byte already.
func (Dialect) TextOrder(expr string) string { return expr }

func (Dialect) Resources(memoryLimit string, threads int) []string {
	var s []string
	if memoryLimit != "" {
		s = append(s, "SET memory_limit = '"+strings.ReplaceAll(memoryLimit, "'", "''")+"'")
	}
	if threads > 0 {
		s = append(s, fmt.Sprintf("SET threads = %d", threads))
	}
	return s
}

func (Dialect) MemoryUsage() string {
	return "SELECT CAST(coalesce(sum(memory_usage_bytes), 0) AS BIGINT) FROM duckdb_memory()"
}

// ScratchDatabase is the in-memory database scratch tables live in: writing
// them to the database file (compressed) took half of their build time.
const ScratchDatabase = "cohort_scratch"

func (d Dialect) ScratchSpace(schema string) ([]string, string) {
	return []string{
		"ATTACH IF NOT EXISTS ':memory:' AS " + d.Quote(ScratchDatabase),
		"CREATE SCHEMA IF NOT EXISTS " + d.Quote(ScratchDatabase, schema),
	}, d.Quote(ScratchDatabase, schema)
}

// BulkSettings: keeping insertion order makes a large CREATE TABLE AS write
// on one thread; memory is governed by memory_limit already. Dictionary
// compression is left out: weighing it builds a hash set of every string
// written, which on identity_graph (8M distinct identifiers) doubled the
// write's time for a file 7% smaller than with FSST alone. When a statement
// frees more than 16 MB at once (a large aggregate's or join's hash table),
// the allocator's caches are flushed back to the system: by default only
// beyond 512 MB, so each large statement's freed memory stayed resident
// while the next one allocated anew (identity, 10M links with timestamps:
// peak resident memory 1.83-1.86 GiB instead of 2.20-2.25 GiB, processor
// time within the runs' spread).
func (Dialect) BulkSettings() ([]string, []string) {
	return []string{"SET preserve_insertion_order = false", "SET disabled_compression_methods = 'dictionary,dict_fsst'",
			"SET allocator_bulk_deallocation_flush_threshold = '16MB'"},
		[]string{"RESET preserve_insertion_order", "RESET disabled_compression_methods", "RESET allocator_bulk_deallocation_flush_threshold"}
}

// UnorderedWrites: keeping insertion order, DuckDB writes the result of a
// join (a source without batch indexes) on one thread, however many its
// query has: the profiles statement's chain of joins onto every profile id
// and the rows statements without ORDER BY ran their last pipeline, probes
// and compression, on one core. A query with ORDER BY keeps its order
// regardless (its plan fixes the order).
func (Dialect) UnorderedWrites() ([]string, []string) {
	return []string{"SET preserve_insertion_order = false"}, []string{"RESET preserve_insertion_order"}
}

func (Dialect) Capabilities() dialects.Capabilities {
	return dialects.Capabilities{TransactionalDDL: true, AtomicPublish: true, Appender: true, DistinctOn: true, AggregateFilter: true,
		MinMaxPruning: true, ExclusiveWriter: true}
}

// RegexpLimits: DuckDB's regular expressions are RE2, without lookaround.
func (Dialect) RegexpLimits() []dialects.RegexpLimit {
	return []dialects.RegexpLimit{{Contains: []string{"(?=", "(?!", "(?<=", "(?<!"},
		Problem: "uses lookaround %s...), which DuckDB (RE2) does not support: rewrite it without lookahead/lookbehind"}}
}

// DuckDB's optional hooks.
var (
	_ dialects.RegexpLimiter   = Dialect{}
	_ dialects.Scratcher       = Dialect{}
	_ dialects.BulkTuner       = Dialect{}
	_ dialects.UnorderedWriter = Dialect{}
	_ dialects.Embedded        = Dialect{}
)

// IndexOn: an ART index. DuckDB scans it for an equality filter on that
// one column (EXPLAIN ANALYZE shows "Index Scan"; plain EXPLAIN decides
// later and shows a sequential scan), with a bound parameter too, as long
// as few rows match; not for a filter on two columns of a two-column
// index, hence one column. A table with an index cannot be renamed, so the
// engine indexes the public tables after the publish step.
func (d Dialect) IndexOn(schema, table, column string) string {
	return "CREATE INDEX IF NOT EXISTS " + d.Quote(dialects.IndexName(table, column)) + " ON " + d.Quote(schema, table) + " (" + d.Quote(column) + ")"
}

// MaterializedCTE: the CTE is run on its own, with its index scan.
func (Dialect) MaterializedCTE() string { return "MATERIALIZED " }

// PickFirst: first() over the ordered rows, which DuckDB plans as
// arg_min over a sort key, one pass without a sort; FILTER keeps the rows
// where cond holds.
func (Dialect) PickFirst(value, cond string, order []dialects.OrderKey) string {
	keys := make([]string, len(order))
	for i, k := range order {
		keys[i] = k.Expr + " ASC NULLS LAST"
		if k.Desc {
			keys[i] = k.Expr + " DESC NULLS LAST"
		}
	}
	return "first(" + value + " ORDER BY " + strings.Join(keys, ", ") + ") FILTER (WHERE " + cond + ")"
}

var (
	_ dialects.Indexer      = Dialect{}
	_ dialects.Materializer = Dialect{}
	_ dialects.Picker       = Dialect{}
)
