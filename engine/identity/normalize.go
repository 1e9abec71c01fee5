package identity

import (
	"fmt"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/models"
)

// CountryCodes are the calling codes known to normalize: phone's default_country.
// The list lives in models, whose validation checks default_country against it.
var CountryCodes = models.CountryCodes

// NormalizeExpr is the SQL expression that normalizes a raw identifier
// expression by the rule (nil: trim). Empty results are NULL: not an identifier.
func NormalizeExpr(d dialects.Dialect, rule *models.IdentifierRule, expr string) string {
	return normalizeExpr(d, rule, expr, true)
}

// ProbeExpr is NormalizeExpr for comparing with identity_graph's values,
// which are never empty: an empty result stays empty instead of becoming
// NULL, since it matches nothing either way. Written in a join's condition,
// where DuckDB shares no common expression, NULLIF (planned as a CASE
// that compares x with the empty text, then returns x) would compute x twice.
func ProbeExpr(d dialects.Dialect, rule *models.IdentifierRule, expr string) string {
	return normalizeExpr(d, rule, expr, false)
}

func normalizeExpr(d dialects.Dialect, rule *models.IdentifierRule, expr string, emptyIsNull bool) string {
	text := "CAST(" + expr + " AS " + d.TypeName(dialects.Text) + ")"
	mode := "trim"
	if rule != nil && rule.Normalize != "" {
		mode = rule.Normalize
	}
	// Where v is a CASE, the empty result becomes NULL inside it rather than
	// by NULLIF(v, ''): DuckDB plans NULLIF as a CASE that compares v and
	// then returns it, and shares no CASE between the two, so v was computed
	// twice (10M links: the nodes step 2.6 s -> 2.4 s).
	switch mode {
	case "none":
		if emptyIsNull {
			return "NULLIF(" + text + ", '')" // a column read twice costs nothing
		}
		return text
	case "lower":
		// lower empties no text: the trimmed value decides
		return "lower(" + trimExpr(text, emptyIsNull) + ")"
	case "email":
		// trim, lower, and drop inner white space that copy-paste leaves behind
		v := "lower(" + d.RegexpReplace(text, dialects.Literal(d, `\s+`), "''") + ")"
		if emptyIsNull { // a function's result DuckDB does compute once
			return "NULLIF(" + v + ", '')"
		}
		return v
	case "phone":
		return phoneExpr(d, rule, text, emptyIsNull)
	}
	return trimExpr(text, emptyIsNull)
}

// trimExpr trims spaces, calling trim only on values that start or end with
// one: most identifiers are clean, and trim copies every value it touches.
// With emptyIsNull an empty result is NULL.
func trimExpr(text string, emptyIsNull bool) string {
	if !emptyIsNull {
		return "CASE WHEN " + text + " LIKE ' %' OR " + text + " LIKE '% ' THEN trim(" + text + ") ELSE " + text + " END"
	}
	return "CASE WHEN " + text + " = '' THEN NULL WHEN " + text + " LIKE ' %' OR " + text + " LIKE '% ' THEN NULLIF(trim(" + text + "), '') ELSE " + text + " END"
}

// phoneExpr normalizes to E.164: keep digits and a leading +, read 00 as +,
// and a single leading 0 (a trunk prefix) as the default country's code.
// "+31 (0)6 1234 5678", "0031 6 12345678" and "06-12345678" all become +31612345678.
// Fewer than six digits give NULL, so no digits at all do too: the digits
// are made NULL when empty only where the warehouse would otherwise read
// the empty text (emptyIsNull; a probe computes them once).
func phoneExpr(d dialects.Dialect, rule *models.IdentifierRule, text string, emptyIsNull bool) string {
	cc := CountryCodes[strings.ToUpper(rule.DefaultCountry)]
	// drop the "(0)" trunk marker, then everything but digits and +
	noTrunk := d.RegexpReplace(text, dialects.Literal(d, `\(0\)`), "''")
	digits := d.RegexpReplace(noTrunk, `'[^0-9+]'`, "''")
	if emptyIsNull {
		digits = "NULLIF(" + digits + ", '')"
	}
	// the digits are read at every branch: computed once (Let), not eight
	// times (1M-people demo: the phones' nodes 1.6 s -> 0.8 s on DuckDB)
	const p = "phone_digits"
	local := "'+" + cc + "' || substr(" + p + ", 2)"
	if cc == "" {
		local = "NULL" // no default country: a national number cannot be placed
	}
	return d.Let(digits, p, fmt.Sprintf(`CASE
    WHEN length(replace(%[1]s, '+', '')) < 6 THEN NULL
    WHEN substr(%[1]s, 1, 1) = '+' THEN '+' || replace(substr(%[1]s, 2), '+', '')
    WHEN substr(%[1]s, 1, 2) = '00' THEN '+' || substr(%[1]s, 3)
    WHEN substr(%[1]s, 1, 1) = '0' THEN %[2]s
    ELSE '+' || %[1]s END`, p, local))
}

// normalizeASCII gives what NormalizeExpr gives for a value of printable
// ASCII (spaces, letters, digits, punctuation), the way people type an
// identifier into a look-up, without asking the warehouse: "" where it
// gives NULL. ok is false for any other value (white space other than
// spaces, control characters, letters outside ASCII), which warehouses
// trim, lower-case and match with \s each in their own way: the warehouse
// normalizes those. TestNormalizeASCII holds both to the same results.
func normalizeASCII(rule *models.IdentifierRule, value string) (v string, ok bool) {
	for i := 0; i < len(value); i++ {
		if value[i] < ' ' || value[i] > '~' {
			return "", false
		}
	}
	mode := "trim"
	if rule != nil && rule.Normalize != "" {
		mode = rule.Normalize
	}
	switch mode {
	case "none":
		return value, true
	case "lower":
		return strings.ToLower(strings.Trim(value, " ")), true
	case "email":
		return strings.ToLower(strings.ReplaceAll(value, " ", "")), true
	case "phone":
		return phoneASCII(rule, value), true
	case "trim":
		return strings.Trim(value, " "), true
	}
	return "", false
}

// phoneASCII is phoneExpr in Go.
func phoneASCII(rule *models.IdentifierRule, value string) string {
	p := strings.Map(func(r rune) rune {
		if r == '+' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.ReplaceAll(value, "(0)", ""))
	switch {
	case len(strings.ReplaceAll(p, "+", "")) < 6:
		return ""
	case strings.HasPrefix(p, "+"):
		return "+" + strings.ReplaceAll(p[1:], "+", "")
	case strings.HasPrefix(p, "00"):
		return "+" + p[2:]
	case strings.HasPrefix(p, "0"):
		cc := CountryCodes[strings.ToUpper(rule.DefaultCountry)]
		if cc == "" {
			return ""
		}
		return "+" + cc + p[1:]
	}
	return "+" + p
}
