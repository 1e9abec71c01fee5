package identity

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/models"
)

func shopProject() *models.Project {
	return &models.Project{
		Name: "shop",
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{
			{Type: "customer_id", Limit: 1},
			{Type: "email", Normalize: "email", Exclude: []string{`^test@`, `@example\.com$`}, Limit: 3},
			{Type: "phone", Normalize: "phone", DefaultCountry: "NL"},
			{Type: "anonymous_id", MaxLinks: 2},
		}},
		Sources: []*models.Source{
			{Name: "shop", Table: "raw.shop", PrimaryKey: "customer_id", Timestamp: "ts", Identifiers: []*models.SourceIdentifier{
				{Type: "customer_id", Column: "customer_id"}, {Type: "email", Column: "email"}, {Type: "phone", Column: "phone"}}},
			{Name: "web", Kind: "events", Table: "raw.web", Timestamp: "ts", Identifiers: []*models.SourceIdentifier{
				{Type: "anonymous_id", Column: "anonymous_id"}, {Type: "customer_id", Column: "user_id"}}},
			{Name: "newsletter", Table: "raw.newsletter", Timestamp: "ts", Identifiers: []*models.SourceIdentifier{
				{Type: "email", Column: "email"}, {Type: "anonymous_id", Column: "anonymous_id"}}},
		},
	}
}

var (
	shopRows = [][]any{
		{"c1", "Test@Shop.nl ", "06-12345678", "2026-01-01 10:00:00"}, // email excluded, phone normalized
		{"c5", "shared@x.nl", nil, "2026-01-02 10:00:00"},
		{"c6", " SHARED@x.nl", "+31 6 1234 0000", "2026-01-03 10:00:00"}, // limit: c6 cannot join c5
		{"c7", "someone@example.com", "", "2026-01-04 10:00:00"},         // excluded, empty phone is no identifier
		{"c8", "", nil, "2026-01-05 10:00:00"},
	}
	webRows = [][]any{
		{"tablet", "c2", "2026-02-01 09:00:00"}, // a junk hub: linked to c2, c3, c4
		{"tablet", "c3", "2026-02-01 09:01:00"},
		{"tablet", "c4", "2026-02-01 09:02:00"},
		{"a1", "c1", "2026-02-02 09:00:00"},
		{"a1", nil, "2026-02-03 09:00:00"},
		{"a2", "c2", "2026-02-04 09:00:00"},
		{"a2", "c2", "2026-02-05 09:00:00"},
	}
	newsletterRows = [][]any{
		{"z@x.nl", "a5", "1999-12-31 08:00:00"}, // earliest seen (in fewer digits of milliseconds): z anchors, though b sorts first
		{"b@x.nl", "a5", "2026-03-01 08:00:00"},
		{"0031612345678", nil, "2026-03-02 08:00:00"}, // not a valid email, but an email all the same
	}
)

func loadShop(t *testing.T, wh dialects.Warehouse, reverse bool) {
	rev := func(rows [][]any) [][]any {
		if !reverse {
			return rows
		}
		out := make([][]any, len(rows))
		for i, r := range rows {
			out[len(rows)-1-i] = r
		}
		return out
	}
	table(t, wh, "raw.shop", []string{"customer_id", "email", "phone", "ts"}, rev(shopRows))
	table(t, wh, "raw.web", []string{"anonymous_id", "user_id", "ts"}, rev(webRows))
	table(t, wh, "raw.newsletter", []string{"email", "anonymous_id", "ts"}, rev(newsletterRows))
}

func TestRules(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		loadShop(t, w.WH, false)
		stats := runIdentity(t, w.WH, shopProject(), testNow, nil)
		t.Log(stats.Details)
		g := graphOf(t, w.WH)

		t.Run("normalize and link", func(t *testing.T) {
			require.Equal(t, pid("customer_id", "c1"), g["phone:+31612345678"])
			require.Equal(t, pid("customer_id", "c1"), g["anonymous_id:a1"])
			require.Equal(t, pid("customer_id", "c1"), g["customer_id:c1"])
			require.Equal(t, pid("customer_id", "c8"), g["customer_id:c8"])
			require.NotContains(t, g, "email:")
			require.NotContains(t, g, "phone:")
		})
		t.Run("exclude", func(t *testing.T) {
			require.NotContains(t, g, "email:test@shop.nl")
			require.NotContains(t, g, "email:someone@example.com")
			require.Equal(t, pid("customer_id", "c7"), g["customer_id:c7"])
		})
		t.Run("junk hub", func(t *testing.T) {
			require.NotContains(t, g, "anonymous_id:tablet")
			require.Equal(t, pid("customer_id", "c2"), g["customer_id:c2"])
			require.Equal(t, pid("customer_id", "c2"), g["anonymous_id:a2"])
			require.Equal(t, pid("customer_id", "c3"), g["customer_id:c3"])
			require.Equal(t, pid("customer_id", "c4"), g["customer_id:c4"])
		})
		t.Run("limit", func(t *testing.T) {
			require.Equal(t, pid("customer_id", "c5"), g["email:shared@x.nl"])
			require.Equal(t, pid("customer_id", "c6"), g["customer_id:c6"])
			require.Equal(t, pid("customer_id", "c6"), g["phone:+31612340000"])
		})
		t.Run("anchor earliest seen", func(t *testing.T) {
			require.Equal(t, pid("email", "z@x.nl"), g["email:b@x.nl"])
			require.Equal(t, pid("email", "z@x.nl"), g["anonymous_id:a5"])
		})
		t.Run("rejections", func(t *testing.T) {
			require.Equal(t, []string{
				"anonymous_id|tablet|max_links|linked to 3 distinct identifiers (max_links 2)",
				"email|shared@x.nl|limit|link customer_id:c6 — email:shared@x.nl cut: the profile would hold 2 customer_id (limit 1)",
				"email|someone@example.com|exclude|matches @example\\.com$",
				"email|test@shop.nl|exclude|matches ^test@",
				// the row of c6 linked all three of its identifiers: both links into c5's profile are cut
				"phone|+31612340000|limit|link email:shared@x.nl — phone:+31612340000 cut: the profile would hold 2 customer_id (limit 1)",
			}, dialecttest.Lines(t, w.WH, "SELECT identifier_type, identifier_value, rule, detail FROM cohort.identity_rejections"))
			require.Equal(t, []string{"customer_id|c6|email|shared@x.nl", "email|shared@x.nl|phone|+31612340000"},
				dialecttest.Lines(t, w.WH, "SELECT a_type, a_value, b_type, b_value FROM cohort._identity_cut_links"))
		})
		t.Run("first and last seen", func(t *testing.T) {
			require.Equal(t, []string{"2026-02-02 09:00:00|2026-02-03 09:00:00"},
				dialecttest.Lines(t, w.WH, "SELECT first_seen_at, last_seen_at FROM cohort.identity_graph WHERE identifier_value = 'a1'"))
		})
		t.Run("row order does not matter", func(t *testing.T) {
			q := []string{
				"SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM cohort.identity_graph",
				"SELECT identifier_type, identifier_value, rule, detail FROM cohort.identity_rejections",
				"SELECT profile_id, merged_profile_id FROM cohort.identity_lineage",
			}
			var before [][]string
			for _, s := range q {
				before = append(before, dialecttest.Lines(t, w.WH, s))
			}
			loadShop(t, w.WH, true)
			runIdentity(t, w.WH, shopProject(), testNow, nil)
			for i, s := range q {
				require.Equal(t, before[i], dialecttest.Lines(t, w.WH, s), s)
			}
			require.Empty(t, before[2], "an unchanged re-run merges nothing")
		})
	})
}

// TestLimitOrderIndependent: the links a limit cuts depend on priority and
// values only. c2 and c1 both claim one email; c1 keeps it whichever row comes first.
func TestLimitOrderIndependent(t *testing.T) {
	p := &models.Project{
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{{Type: "customer_id", Limit: 1}, {Type: "email"}, {Type: "phone"}}},
		Sources: []*models.Source{{Name: "crm", Table: "raw.crm", Identifiers: []*models.SourceIdentifier{
			{Type: "customer_id", Column: "c"}, {Type: "email", Column: "e"}, {Type: "phone", Column: "p"}}}},
	}
	rows := [][]any{
		{"c2", "e@x", "p2"},
		{"c1", "e@x", nil},
		{nil, "e2@x", "p2"}, // joins c2 through p2
		{"c3", "e3@x", "p2"},
	}
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		var first []string
		for i := 0; i < 4; i++ {
			rot := append(append([][]any{}, rows[i:]...), rows[:i]...)
			table(t, w.WH, "raw.crm", []string{"c", "e", "p"}, rot)
			runIdentity(t, w.WH, p, testNow, nil)
			g := dialecttest.Lines(t, w.WH, "SELECT identifier_type, identifier_value, profile_id FROM cohort.identity_graph")
			if first == nil {
				first = g
				part := partitionOf(graphOf(t, w.WH))
				require.Equal(t, [][]string{
					{"customer_id:c1", "email:e@x"},
					{"customer_id:c2", "email:e2@x", "phone:p2"},
					{"customer_id:c3", "email:e3@x"},
				}, part)
				require.Equal(t, []string{
					"customer_id|c2|email|e@x", // c1—e@x is stronger (same types, c1 < c2)
					"customer_id|c3|phone|p2",  // c2—p2 is stronger
					"email|e3@x|phone|p2",
					"email|e@x|phone|p2",
				}, dialecttest.Lines(t, w.WH, "SELECT a_type, a_value, b_type, b_value FROM cohort._identity_cut_links"))
			}
			require.Equal(t, first, g, "rotation %d", i)
		}
	})
}
