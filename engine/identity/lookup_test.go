package identity

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/models"
)

func TestLookupExplainAccuracy(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		p := shopProject()
		c := testContext(p, w.WH.Dialect(), testNow)
		_, err := Lookup(ctx, w.WH, c, "email", "z@x.nl")
		require.ErrorContains(t, err, "run `cohort run` first")
		acc, err := Accuracy(ctx, w.WH, c)
		require.NoError(t, err)
		require.Nil(t, acc, "no demo_truth: no report")

		loadShop(t, w.WH, false)
		runIdentity(t, w.WH, p, testNow, nil)

		lookups := func(t *testing.T) {
			prof, err := Lookup(ctx, w.WH, c, "email", " Z@X.nl")
			require.NoError(t, err)
			require.Equal(t, pid("email", "z@x.nl"), prof.ID)
			var got []string
			for _, id := range prof.Identifiers {
				got = append(got, id.Type+":"+id.Value+" "+strings.Join(id.Sources, ","))
			}
			require.Equal(t, []string{"email:b@x.nl newsletter", "email:z@x.nl newsletter", "anonymous_id:a5 newsletter"}, got)
			require.Equal(t, "1999-12-31 08:00:00", prof.Identifiers[1].FirstSeen.Format("2006-01-02 15:04:05"))

			prof, err = Lookup(ctx, w.WH, c, "customer_id", "c1")
			require.NoError(t, err)
			got = nil
			for _, id := range prof.Identifiers {
				got = append(got, id.Type+":"+id.Value+" "+strings.Join(id.Sources, ","))
			}
			require.Equal(t, []string{"customer_id:c1 shop,web", "phone:+31612345678 shop", "anonymous_id:a1 web"}, got)
			require.Contains(t, prof.String(), "customer_id:c1")

			_, err = Lookup(ctx, w.WH, c, "anonymous_id", "tablet")
			require.True(t, errors.Is(err, ErrNotFound))
			require.ErrorContains(t, err, "max_links (linked to 3 distinct identifiers (max_links 2))")
			_, err = Lookup(ctx, w.WH, c, "email", "nobody@x.nl")
			require.True(t, errors.Is(err, ErrNotFound))
			_, err = Lookup(ctx, w.WH, c, "email", "TEST@shop.nl")
			require.ErrorContains(t, err, "rule exclude (matches ^test@)")
		}
		// without _identity_sources a look-up reads every source; with it
		// (and its index, where the warehouse has indexes) it finds the same
		t.Run("lookup reading the sources", lookups)
		t.Run("lookup through _identity_sources", func(t *testing.T) {
			st := SourcesStep(c)
			_, err := st.Run(ctx, w.WH, nil)
			require.NoError(t, err)
			require.NoError(t, dialects.Publish(ctx, w.WH, c.Replacements([]string{SourcesTable}, nil)))
			if ix := dialects.IndexOn(w.WH.Dialect(), c.Schema, SourcesTable, "identifier_value"); ix != "" {
				require.NoError(t, w.WH.Exec(ctx, ix))
			}
			lookups(t)
		})
		// where the warehouse prunes blocks, the run also writes each
		// profile's identifiers with their sources: one read, the same
		// profiles as probing the graph and _identity_sources
		t.Run("lookup through _profile_identifiers", func(t *testing.T) {
			published := *c // the graph and sources are published: read those
			published.Building = nil
			st := ProfileIdentifiersStep(&published)
			if st == nil {
				require.False(t, ProfileIdentifiersByProfile(w.WH.Dialect()))
				return
			}
			_, err := st.Run(ctx, w.WH, nil)
			require.NoError(t, err)
			require.NoError(t, dialects.Publish(ctx, w.WH, c.Replacements([]string{ProfileIdentifiersTable}, nil)))
			ids, ok, err := identifiersOf(ctx, w.WH, c, pid("email", "z@x.nl"))
			require.NoError(t, err)
			require.True(t, ok, "the look-up reads the table")
			require.Len(t, ids, 3)
			lookups(t)
		})

		t.Run("explain one profile", func(t *testing.T) {
			a, _ := ParseIdent("phone:06 1234 5678")
			b, _ := ParseIdent("anonymous_id:a1")
			e, err := Explain(ctx, w.WH, c, a, b)
			require.NoError(t, err)
			require.True(t, e.SameProfile)
			require.Equal(t, []Hop{
				{From: Ident{"phone", "+31612345678"}, To: Ident{"customer_id", "c1"}, Source: "shop", Row: "customer_id=c1",
					keyed: true, cells: []cell{{column: "customer_id", value: "c1"}}},
				{From: Ident{"customer_id", "c1"}, To: Ident{"anonymous_id", "a1"}, Source: "web", Row: "row with anonymous_id=a1, user_id=c1",
					cells: []cell{{"anonymous_id", "a1", "anonymous_id"}, {"user_id", "c1", "customer_id"}}},
			}, e.Path)
			require.Contains(t, e.String(), "are one profile (p_")
			require.Contains(t, e.String(), "joined by 2 links:\n")
		})
		t.Run("explain one identifier twice", func(t *testing.T) {
			a, _ := ParseIdent("phone:06 1234 5678")
			b, _ := ParseIdent("phone:+31612345678")
			e, err := Explain(ctx, w.WH, c, a, b)
			require.NoError(t, err)
			require.True(t, e.SameProfile)
			require.Empty(t, e.Path)
			require.Regexp(t, `^both are phone:\+31612345678, the same identifier \(profile p_\w+\): name two different identifiers to see what joins them\n$`, e.String())
		})
		t.Run("explain a limit", func(t *testing.T) {
			e, err := Explain(ctx, w.WH, c, Ident{"customer_id", "c6"}, Ident{"customer_id", "c5"})
			require.NoError(t, err)
			require.False(t, e.SameProfile)
			require.Len(t, e.Path, 2)
			require.Equal(t, Ident{"email", "shared@x.nl"}, e.Path[0].To)
			require.Contains(t, e.Path[0].Blocked, "limit: link customer_id:c6 — email:shared@x.nl cut")
			require.Empty(t, e.Path[1].Blocked)
			require.Contains(t, e.String(), "BLOCKED")
		})
		t.Run("explain a junk hub", func(t *testing.T) {
			e, err := Explain(ctx, w.WH, c, Ident{"customer_id", "c2"}, Ident{"customer_id", "c3"})
			require.NoError(t, err)
			require.False(t, e.SameProfile)
			require.Len(t, e.Path, 2)
			require.Equal(t, Ident{"anonymous_id", "tablet"}, e.Path[0].To)
			require.Equal(t, []string{"max_links: anonymous_id:tablet linked to 3 distinct identifiers (max_links 2)"}, e.Reasons)
		})
		t.Run("explain strangers", func(t *testing.T) {
			e, err := Explain(ctx, w.WH, c, Ident{"customer_id", "c7"}, Ident{"customer_id", "c8"})
			require.NoError(t, err)
			require.False(t, e.SameProfile)
			require.Empty(t, e.Path)
			require.Contains(t, e.Reasons[0], "no source row links them")
		})

		t.Run("accuracy", func(t *testing.T) {
			table(t, w.WH, "demo_truth.identifiers", []string{"person_id", "identifier_type", "identifier_value"}, [][]any{
				{"1", "customer_id", "c1"}, {"1", "phone", "+31612345678"}, {"1", "anonymous_id", "a1"},
				{"2", "customer_id", "c5"}, {"2", "email", "shared@x.nl"}, {"2", "customer_id", "c6"},
			})
			acc, err := Accuracy(ctx, w.WH, c)
			require.NoError(t, err)
			require.Equal(t, &AccuracyReport{TruthIdentifiers: 6, InGraph: 6, PairsPredicted: 4, PairsTrue: 6, PairsCorrect: 4, Precision: 1, Recall: 4.0 / 6}, acc)
		})
	})
}

func TestParseIdent(t *testing.T) {
	id, err := ParseIdent("email:a:b@x.nl")
	require.NoError(t, err)
	require.Equal(t, Ident{"email", "a:b@x.nl"}, id)
	for _, bad := range []string{"email", ":x", "email:"} {
		_, err := ParseIdent(bad)
		require.Error(t, err, bad)
	}
}

// TestExplainThroughAThirdProfile: c1 and c3 are kept apart by two limit cuts
// with c2's profile between them; explain reads the profiles cut from the
// same component and shows the whole chain with both cuts.
func TestExplainThroughAThirdProfile(t *testing.T) {
	p := &models.Project{
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{{Type: "customer_id", Limit: 1}, {Type: "email"}}},
		Sources: []*models.Source{{Name: "shop", Table: "raw.shop", PrimaryKey: "id", Identifiers: []*models.SourceIdentifier{
			{Type: "customer_id", Column: "c"}, {Type: "email", Column: "e"}}}},
	}
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		table(t, w.WH, "raw.shop", []string{"id", "c", "e"}, [][]any{{"1", "c1", "x"}, {"2", "c2", "x"}, {"3", "c2", "y"}, {"4", "c3", "y"}})
		runIdentity(t, w.WH, p, testNow, nil)
		e, err := Explain(ctx, w.WH, testContext(p, w.WH.Dialect(), testNow), Ident{"customer_id", "c1"}, Ident{"customer_id", "c3"})
		require.NoError(t, err)
		require.False(t, e.SameProfile)
		var hops []string
		for _, h := range e.Path {
			hops = append(hops, h.From.String()+" "+h.To.String()+" "+h.Row+" "+map[bool]string{true: "cut", false: "ok"}[strings.HasPrefix(h.Blocked, "limit:")])
		}
		require.Equal(t, []string{"customer_id:c1 email:x id=1 ok", "email:x customer_id:c2 id=2 cut", "customer_id:c2 email:y id=3 ok", "email:y customer_id:c3 id=4 cut"}, hops, e.String())
	})
}

// Redact masks the e-mail address two devices share wherever the
// explanation quotes it (the chain, the source rows, the cut), and leaves
// readable what the user typed: the two devices, or the address when it is
// one of the two.
func TestExplainRedact(t *testing.T) {
	p := &models.Project{
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{{Type: "device_id", Limit: 1}, {Type: "email", Normalize: "email"}}},
		Sources: []*models.Source{{Name: "app", Table: "raw.app", Identifiers: []*models.SourceIdentifier{
			{Type: "device_id", Column: "device"}, {Type: "email", Column: "mail"}}}},
	}
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		table(t, w.WH, "raw.app", []string{"device", "mail"}, [][]any{{"d1", "x@y.nl"}, {"d2", "X@y.nl"}})
		runIdentity(t, w.WH, p, testNow, nil)
		c := testContext(p, w.WH.Dialect(), testNow)

		e, err := Explain(ctx, w.WH, c, Ident{"device_id", "d1"}, Ident{"device_id", "d2"})
		require.NoError(t, err)
		require.Contains(t, e.String(), "x@y.nl", "before Redact")
		e.Redact(p.Personal())
		out := e.String()
		require.NotContains(t, out, "x@y.nl")
		require.Contains(t, out, "device_id:d1 — email:x***@y***.nl   (app, row with device=d1, mail=x***@y***.nl)")
		require.Contains(t, out, "device_id:d2")
		require.Contains(t, out, "BLOCKED: limit: link ")
		for _, r := range e.Reasons {
			require.NotContains(t, r, "x@y.nl")
		}

		e, err = Explain(ctx, w.WH, c, Ident{"email", " X@y.nl"}, Ident{"device_id", "d1"})
		require.NoError(t, err)
		e.Redact(p.Personal())
		require.Contains(t, e.String(), "email:x@y.nl — device_id:d1   (app, row with device=d1, mail=x@y.nl)", "the address asked about")
	})
}
