package identity

import (
	"context"
	"database/sql"
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
			q.W("SELECT ", NormalizeExpr(d, c.rule, "x"), " FROM (SELECT CAST(", q.Arg(c.in), " AS ", d.TypeName(dialects.Text), ") AS x) raw")
			var got sql.NullString
			if err := plan.QueryRow(context.Background(), w.WH, q.Statement(d).SQL, q.Args, &got); err != nil {
				t.Fatalf("%v: %v", c.in, err)
			}
			if got.String != c.want || got.Valid != (c.want != "") {
				t.Errorf("%s %q: got %q (valid %v), want %q", ruleName(c.rule), c.in, got.String, got.Valid, c.want)
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
