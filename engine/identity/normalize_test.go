package identity

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// TestNormalize: each rule gives the same identifier on every dialect.
func TestNormalize(t *testing.T) {
	nl := &models.IdentifierRule{Type: "phone", Normalize: "phone", DefaultCountry: "NL"}
	nowhere := &models.IdentifierRule{Type: "phone", Normalize: "phone"}
	email := &models.IdentifierRule{Type: "email", Normalize: "email"}
	cases := []struct {
		rule *models.IdentifierRule
		in   any // string or nil
		want string
	}{
		{nl, "+31 (0)6 1234 5678", "+31612345678"},
		{nl, "0031 6 12345678", "+31612345678"},
		{nl, "06-12345678", "+31612345678"},
		{nl, "+32 470 12 34 56", "+32470123456"},
		{nl, "+31 6+1234 5678", "+31612345678"}, // a stray plus after the country code goes
		{nl, "612345678", "+612345678"},
		{nl, "12345", ""}, // fewer than six digits: no phone number
		{nl, "tel: n/a", ""},
		{nl, "", ""},
		{nl, nil, ""},
		{nowhere, "06-12345678", ""}, // a national number without a default country cannot be placed
		{nowhere, "0049 30 1234567", "+49301234567"},
		{email, " Jan.Jansen @Example.NL\t", "jan.jansen@example.nl"},
		{email, "  ", ""},
		{nil, "  c1 ", "c1"},
	}
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		d := w.WH.Dialect()
		for _, c := range cases {
			q := &plan.Builder{}
			q.W("SELECT ", NormalizeExpr(d, c.rule, "x"), ", ", ProbeExpr(d, c.rule, "x"),
				" FROM (SELECT CAST(", q.Arg(c.in), " AS ", d.TypeName(dialects.Text), ") AS x) raw")
			var got, probe sql.NullString
			if err := plan.QueryRow(context.Background(), w.WH, q.Statement(d).SQL, q.Args, &got, &probe); err != nil {
				t.Fatalf("%v: %v", c.in, err)
			}
			if got.String != c.want || got.Valid != (c.want != "") {
				t.Errorf("%s %q: got %q (valid %v), want %q", ruleName(c.rule), c.in, got.String, got.Valid, c.want)
			}
			// a probe gives the same identifier, and where there is none
			// a value no identifier has: NULL or the empty text
			if probe.String != c.want {
				t.Errorf("%s %q: probe gives %q, want %q", ruleName(c.rule), c.in, probe.String, c.want)
			}
		}
	})
}

func ruleName(r *models.IdentifierRule) string {
	if r == nil {
		return "trim"
	}
	return strings.TrimSpace(r.Normalize + " " + r.DefaultCountry)
}

// TestNormalizeASCII: where the look-up normalizes in Go, it gives what the
// warehouse gives, for typed and pasted values and random ones; values it
// leaves to the warehouse (other white space, letters outside ASCII) are
// ones where Go's rules would differ.
func TestNormalizeASCII(t *testing.T) {
	rules := []*models.IdentifierRule{
		{Type: "phone", Normalize: "phone", DefaultCountry: "NL"},
		{Type: "phone", Normalize: "phone", DefaultCountry: "US"},
		{Type: "phone", Normalize: "phone"},
		{Type: "email", Normalize: "email"},
		{Type: "handle", Normalize: "lower"},
		{Type: "raw", Normalize: "none"},
		nil, // trim
	}
	values := []string{
		"+31 (0)6 1234 5678", "0031 6 12345678", "06-12345678", "(06) 1234-5678", "((0)0)6 12345678",
		"+", "++31612345678", "00", "00+31612345678", "0", "012345", "12345", "123456", "tel: n/a",
		" Jan.Jansen @Example.NL ", "JAN@EXAMPLE.NL", "a b@c.d", "  ", "", " x ", "Cookie-ABC_1",
		"x\ty", "\vjan@example.nl", "jan@example.nl\n", "\u00a0jan@example.nl", "JAN@EXAMPLE.NL\u3000",
		"ÉLODIE@EXAMPLE.FR", "İstanbul", "STRASSE", "straße", "ǅ", "\u200bx", "a\x00b", "x\x7f",
	}
	alphabet := []string{" ", " ", "a", "Z", "0", "6", "1", "+", "-", "(", ")", "@", ".", "_", "\t", "\n", "\v", "\r", "\u00a0", "É", "ß", "İ", "\u2028"}
	r := rand.New(rand.NewPCG(14, 50))
	for range 200 {
		var b strings.Builder
		for range r.IntN(16) {
			if r.IntN(3) == 0 {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			} else {
				b.WriteString(alphabet[r.IntN(10)]) // mostly printable ASCII
			}
		}
		values = append(values, b.String())
	}
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		d := w.WH.Dialect()
		inGo, inWarehouse := 0, 0
		for _, rule := range rules {
			for _, v := range values {
				want, ok := normalizeASCII(rule, v)
				if !ok {
					inWarehouse++
					continue
				}
				inGo++
				q := &plan.Builder{}
				q.W("SELECT ", NormalizeExpr(d, rule, "x"), " FROM (SELECT CAST(", q.Arg(v), " AS ", d.TypeName(dialects.Text), ") AS x) raw")
				var got sql.NullString
				if err := plan.QueryRow(context.Background(), w.WH, q.Statement(d).SQL, q.Args, &got); err != nil {
					t.Fatalf("%s %q: %v", ruleName(rule), v, err)
				}
				if got.String != want || got.Valid != (want != "") {
					t.Errorf("%s %q: the warehouse gives %q (valid %v), Go %q", ruleName(rule), v, got.String, got.Valid, want)
				}
			}
		}
		if inGo < 500 || inWarehouse < 100 {
			t.Errorf("%d values normalized in Go, %d left to the warehouse: the test lost its mix", inGo, inWarehouse)
		}
	})
}
