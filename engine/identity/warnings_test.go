package identity

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/models"
)

// A source read incrementally is advised an index on its timestamp where
// scans cannot skip the older rows (PostgreSQL), until it has one; a view,
// a source without a timestamp and a warehouse with min/max pruning are not.
func TestWarningsTimestampIndex(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		d := w.WH.Dialect()
		table(t, w.WH, "raw.web", []string{"cookie", "email", "ts"}, [][]any{{"c1", "a@x.nl", "2026-01-01 00:00:00"}})
		require.NoError(t, w.WH.Exec(ctx, d.CreateView(d.Quote("raw", "web_view"), "SELECT * FROM "+d.Quote("raw", "web"))))
		ids := []*models.SourceIdentifier{{Type: "cookie", Column: "cookie"}, {Type: "email", Column: "email"}}
		p := &models.Project{Sources: []*models.Source{
			{Name: "web", Table: "raw.web", Timestamp: "ts", Identifiers: ids},
			{Name: "viewed", Table: "raw.web_view", Timestamp: "ts", Identifiers: ids},
			{Name: "untimed", Table: "raw.web", Identifiers: ids},
			{Name: "traits_only", Table: "raw.web", Timestamp: "ts"},
		}}
		got, err := Warnings(ctx, w.WH, p)
		require.NoError(t, err)
		if dialects.LeadingIndex(d) == "" || d.Capabilities().MinMaxPruning {
			require.Empty(t, got)
			return
		}
		require.Len(t, got, 1)
		require.Contains(t, got[0], "source web: table raw.web has no index on its timestamp column ts")

		// an index whose first column is another one does not serve
		require.NoError(t, w.WH.Exec(ctx, "CREATE INDEX web_by_cookie_ts ON "+d.Quote("raw", "web")+" (cookie, ts)"))
		got, err = Warnings(ctx, w.WH, p)
		require.NoError(t, err)
		require.Len(t, got, 1)

		require.NoError(t, w.WH.Exec(ctx, dialects.IndexOn(d, "raw", "web", "ts")))
		got, err = Warnings(ctx, w.WH, p)
		require.NoError(t, err)
		require.Empty(t, got)
	})
}
