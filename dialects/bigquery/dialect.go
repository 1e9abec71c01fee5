package bigquery

import (
	"fmt"
	"strings"

	sq "github.com/Masterminds/squirrel"

	"github.com/cohort-cdp/cohort/dialects"
)

// Name is the registered name of this dialect.
const Name = "bigquery"

func init() {
	dialects.Register(Name, dialects.Driver{Dialect: Dialect{}, Open: Open, Needs: []string{"project"}})
}

// Dialect writes GoogleSQL, BigQuery's SQL.
type Dialect struct{}

func (Dialect) Name() string { return Name }

// Placeholder: named parameters @p1, @p2 ... (see params).
func (Dialect) Placeholder() sq.PlaceholderFormat { return sq.AtP }

// Quote quotes each part in back-quotes (a dataset is a schema).
func (Dialect) Quote(parts ...string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(p) + "`"
	}
	return strings.Join(q, ".")
}

// CreateSchema creates a dataset in the location the warehouse's jobs run in.
func (d Dialect) CreateSchema(schema string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + d.Quote(schema)
}

// CreateTableAs replaces the table; a run's work tables expire after a day
// by themselves, so that a crashed run leaves nothing to pay for.
func (Dialect) CreateTableAs(table, query string, work bool) string {
	if work {
		return "CREATE OR REPLACE TABLE " + table + "\nOPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS\n" + query
	}
	return "CREATE OR REPLACE TABLE " + table + " AS\n" + query
}

func (Dialect) DropTable(table string) string { return "DROP TABLE IF EXISTS " + table }

// Hash64: FARM_FINGERPRINT is a 64-bit signed hash.
func (Dialect) Hash64(exprs ...string) string {
	return "FARM_FINGERPRINT(" + strings.Join(exprs, " || ") + ")"
}

// Bucket: the first 8 hex digits of the md5 as an unsigned 32-bit number
// (BigQuery reads '0x...' text as hex), modulo n, as on every dialect.
func (Dialect) Bucket(expr string, n int) string {
	return fmt.Sprintf("MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(%s)), 1, 8)) AS INT64), %d)", expr, n)
}

func (Dialect) RegexpMatches(expr, p string) string {
	return "REGEXP_CONTAINS(" + expr + ", " + p + ")"
}

func (Dialect) StringAgg(expr, sep string) string { return "STRING_AGG(" + expr + ", " + sep + ")" }

// RegexpReplace replaces every match (REGEXP_REPLACE's only way).
func (Dialect) RegexpReplace(expr, pattern, repl string) string {
	return "REGEXP_REPLACE(" + expr + ", " + pattern + ", " + repl + ")"
}

func (Dialect) EpochSeconds(expr string) string {
	return "(UNIX_MICROS(" + expr + ") / 1000000)"
}

func (Dialect) Let(value, name, body string) string { return dialects.LetInline(value, name, body) }

// TextOrder: BigQuery compares text by code point, which is byte order in UTF-8.
func (Dialect) TextOrder(expr string) string { return expr }

// MD5Hex: MD5 gives bytes; TO_HEX writes them in lower case.
func (Dialect) MD5Hex(expr string) string { return "TO_HEX(MD5(" + expr + "))" }

// HashValue: the text.
func (Dialect) HashValue(md5Hex string) string { return md5Hex }

// ArrayRows unnests the array parameters side by side, joined on their offsets.
func (d Dialect) ArrayRows(params []string, types []dialects.Type) string {
	sel := make([]string, len(params))
	from := make([]string, len(params))
	for i, p := range params {
		a := fmt.Sprintf("a%d", i)
		sel[i] = "CAST(" + a + " AS " + d.TypeName(types[i]) + ")"
		from[i] = "UNNEST(" + p + ") AS " + a + " WITH OFFSET o" + a[1:]
		if i > 0 {
			from[i] = "JOIN " + from[i] + " ON o" + a[1:] + " = o0"
		}
	}
	return "SELECT " + strings.Join(sel, ", ") + "\nFROM " + strings.Join(from, "\n")
}

func (Dialect) CreateView(view, query string) string {
	return "CREATE OR REPLACE VIEW " + view + " AS\n" + query
}

// Publish copies each staged table over its final one (a table copy is
// free and atomic for that table), then drops the staged one. BigQuery
// allows no DDL on permanent tables inside a transaction: the tables are
// replaced one after the other; the rows an in-place update changes are
// one transaction.
func (d Dialect) Publish(pairs []dialects.Replace) [][]string {
	var s []string
	for _, p := range pairs {
		staged, final := d.Quote(p.Schema, p.Staged), d.Quote(p.Schema, p.Final)
		if p.InPlace {
			s = append(s, dialects.DropView(staged))
		}
		if len(p.Apply) > 0 {
			s = append(s, p.Apply...)
			continue
		}
		s = append(s, "CREATE OR REPLACE TABLE "+final+" COPY "+staged, d.DropTable(staged))
	}
	return dialects.DDLAlone(s)
}

// StringLiteral: a backslash in a BigQuery literal starts an escape, and a
// quote is escaped with one.
func (Dialect) StringLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`, "\n", `\n`, "\r", `\r`).Replace(s) + "'"
}

// LikeEscape: backslash escapes in BigQuery's LIKE already.
func (Dialect) LikeEscape() string { return "" }

// Values unnests an array of structs, the first naming the columns.
func (Dialect) Values(rows [][]string, alias string, cols []string) string {
	r := make([]string, len(rows))
	for i, row := range rows {
		f := make([]string, len(row))
		for j, v := range row {
			f[j] = v
			if i == 0 {
				f[j] += " AS " + cols[j]
			}
		}
		r[i] = "STRUCT(" + strings.Join(f, ", ") + ")"
	}
	return "UNNEST([" + strings.Join(r, ", ") + "]) AS " + alias
}

func (Dialect) UnionDistinct() string  { return "UNION DISTINCT" }
func (Dialect) ExceptDistinct() string { return "EXCEPT DISTINCT" }

func (Dialect) Capabilities() dialects.Capabilities {
	return dialects.Capabilities{RestrictedNames: true}
}

// BigQuery's optional hooks.
var (
	_ dialects.Literaler    = Dialect{}
	_ dialects.LikeEscaper  = Dialect{}
	_ dialects.SetOperators = Dialect{}
	_ dialects.ValuesLister = Dialect{}
	_ dialects.Picker       = Dialect{}
)

// PickFirst: the first element of the group's values in order, an array
// of at most one. IGNORE NULLS leaves out the rows where cond fails (their
// value is NULL). BigQuery puts NULLs first ascending and last descending,
// so an ascending key sorts on "IS NULL" first.
func (Dialect) PickFirst(value, cond string, order []dialects.OrderKey) string {
	var keys []string
	for _, k := range order {
		if k.Desc {
			keys = append(keys, k.Expr+" DESC")
		} else {
			keys = append(keys, k.Expr+" IS NULL", k.Expr)
		}
	}
	return "ARRAY_AGG(IF(" + cond + ", " + value + ", NULL) IGNORE NULLS ORDER BY " + strings.Join(keys, ", ") + " LIMIT 1)[SAFE_OFFSET(0)]"
}

// RegexpLimits: BigQuery's regular expressions are RE2, without lookaround.
func (Dialect) RegexpLimits() []dialects.RegexpLimit {
	return []dialects.RegexpLimit{{Contains: []string{"(?=", "(?!", "(?<=", "(?<!"},
		Problem: "uses lookaround %s...), which BigQuery (RE2) does not support: rewrite it without lookahead/lookbehind"}}
}

// SHA256Hex: SHA256 of a STRING hashes its UTF-8 bytes; TO_HEX writes lower case.
func (Dialect) SHA256Hex(expr string) string { return "TO_HEX(SHA256(" + expr + "))" }
