package snowflake

import (
	"fmt"
	"regexp"
	"strings"

	sq "github.com/Masterminds/squirrel"

	"github.com/cohort-cdp/cohort/dialects"
)

// Name is the registered name of this dialect.
const Name = "snowflake"

func init() {
	dialects.Register(Name, dialects.Driver{Dialect: Dialect{}, Open: Open, Needs: []string{"dsn"},
		Instead: map[string]dialects.KeySet{"dsn": {Keys: []string{"account", "user", "private_key_path"}, For: "key-pair authentication"}}})
}

// Dialect writes Snowflake SQL.
type Dialect struct{}

func (Dialect) Name() string                      { return Name }
func (Dialect) Placeholder() sq.PlaceholderFormat { return sq.Question }

var (
	lowerName = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)
	upperName = regexp.MustCompile(`^[A-Z_][A-Z0-9_$]*$`)
)

// Ident is one name as Snowflake stores it: a lower-case name is the
// upper-case one Snowflake makes of it unquoted.
func Ident(s string) string {
	if lowerName.MatchString(s) {
		return strings.ToUpper(s)
	}
	return s
}

// Unfold is the name Cohort knows for a name Snowflake stores (the
// inverse of Ident).
func Unfold(s string) string {
	if upperName.MatchString(s) {
		return strings.ToLower(s)
	}
	return s
}

func (Dialect) Quote(parts ...string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = dialects.QuoteIdent(Ident(p))
	}
	return strings.Join(q, ".")
}

func (d Dialect) CreateSchema(schema string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + d.Quote(schema)
}

// CreateTableAs replaces the table; a run's work tables are transient (no
// fail-safe storage is paid for tables a crash may lose).
func (Dialect) CreateTableAs(table, query string, work bool) string {
	if work {
		return "CREATE OR REPLACE TRANSIENT TABLE " + table + " AS\n" + query
	}
	return "CREATE OR REPLACE TABLE " + table + " AS\n" + query
}

func (Dialect) DropTable(table string) string { return "DROP TABLE IF EXISTS " + table }

// Hash64: HASH is Snowflake's 64-bit signed hash.
func (Dialect) Hash64(exprs ...string) string { return "HASH(" + strings.Join(exprs, " || ") + ")" }

// Bucket: the first 8 hex digits of the md5 as an unsigned 32-bit number,
// modulo n, as on every dialect.
func (Dialect) Bucket(expr string, n int) string {
	return fmt.Sprintf("MOD(TO_NUMBER(SUBSTR(MD5(%s), 1, 8), 'XXXXXXXX'), %d)", expr, n)
}

// RegexpMatches: REGEXP_LIKE matches the whole text; a match anywhere is
// what every other dialect means, so the position of the first is asked.
func (Dialect) RegexpMatches(expr, p string) string {
	return "(REGEXP_INSTR(" + expr + ", " + p + ") > 0)"
}

func (Dialect) StringAgg(expr, sep string) string { return "LISTAGG(" + expr + ", " + sep + ")" }

// RegexpReplace replaces every match (REGEXP_REPLACE's default).
func (Dialect) RegexpReplace(expr, pattern, repl string) string {
	return "REGEXP_REPLACE(" + expr + ", " + pattern + ", " + repl + ")"
}

func (Dialect) EpochSeconds(expr string) string {
	return "(CAST(DATE_PART(EPOCH_MICROSECOND, " + expr + ") AS DOUBLE) / 1000000)"
}

func (Dialect) Let(value, name, body string) string { return dialects.LetInline(value, name, body) }

// TextOrder: without a collation Snowflake compares text byte by byte.
func (Dialect) TextOrder(expr string) string { return expr }

// MD5Hex: MD5 gives lower-case hex text.
func (Dialect) MD5Hex(expr string) string { return "MD5(" + expr + ")" }

// HashValue: the text.
func (Dialect) HashValue(md5Hex string) string { return md5Hex }

// ArrayRows: the warehouse binds each array as JSON text (see Warehouse),
// flattened side by side and joined on their index.
func (d Dialect) ArrayRows(params []string, types []dialects.Type) string {
	sel := make([]string, len(params))
	from := make([]string, len(params))
	for i, p := range params {
		a := fmt.Sprintf("a%d", i)
		sel[i] = "CAST(" + a + ".value AS " + d.TypeName(types[i]) + ")"
		from[i] = "TABLE(FLATTEN(INPUT => PARSE_JSON(" + p + "))) " + a
		if i > 0 {
			from[i] = "JOIN " + from[i] + " ON " + a + ".index = a0.index"
		}
	}
	return "SELECT " + strings.Join(sel, ", ") + "\nFROM " + strings.Join(from, "\n")
}

func (Dialect) CreateView(view, query string) string {
	return "CREATE OR REPLACE VIEW " + view + " AS\n" + query
}

// Publish swaps each staged table with its final one (created empty like
// it on a first run), then drops the staged one, which holds the previous
// contents after the swap. Snowflake commits each DDL statement on its
// own: every table is replaced atomically, the set one after the other;
// the rows an in-place update changes are one transaction.
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
		s = append(s, "CREATE TABLE IF NOT EXISTS "+final+" LIKE "+staged,
			"ALTER TABLE "+final+" SWAP WITH "+staged,
			d.DropTable(staged))
	}
	return dialects.DDLAlone(s)
}

// StringLiteral: a backslash in a Snowflake literal starts an escape.
func (Dialect) StringLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
}

// LikeEscape names the backslash, written as a Snowflake literal.
func (Dialect) LikeEscape() string { return ` ESCAPE '\\'` }

func (Dialect) Capabilities() dialects.Capabilities {
	return dialects.Capabilities{MinMaxPruning: true}
}

// Snowflake's optional hooks.
var (
	_ dialects.Literaler   = Dialect{}
	_ dialects.LikeEscaper = Dialect{}
)

// RegexpLimits: Snowflake's regular expressions are POSIX extended ones
// with Perl's \d \s \w classes: no lookaround, no Unicode classes.
func (Dialect) RegexpLimits() []dialects.RegexpLimit {
	return []dialects.RegexpLimit{
		{Contains: []string{"(?=", "(?!", "(?<=", "(?<!"}, Problem: "uses lookaround %s...), which Snowflake does not support: rewrite it without lookahead/lookbehind"},
		{Contains: []string{`\p`, `\P`}, Problem: `uses a Unicode class (\p), which Snowflake does not support: use a bracket expression such as [[:alpha:]]`},
	}
}

// SHA256Hex: SHA2 of 256 bits gives lower-case hex text of the UTF-8 bytes.
func (Dialect) SHA256Hex(expr string) string { return "SHA2(" + expr + ", 256)" }
