package postgres_test

import (
	"context"
	"testing"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

func TestConformance(t *testing.T) { dialecttest.Conformance(t, "postgres") }

// The distinct-share hint is what ANALYZE records, and the table keeps it
// through the rename that publishes it.
func TestDistinctShareSurvivesRename(t *testing.T) {
	ctx := context.Background()
	wh := dialecttest.Open(t, "postgres").WH
	d := wh.Dialect()
	staged, final := d.Quote("public", "hinted__stage"), d.Quote("public", "hinted")
	for _, q := range []string{
		d.CreateTableAs(staged, "SELECT 'p' || CAST(g % 10 AS text) AS profile_id FROM generate_series(1, 1000) AS g", false),
		dialects.DistinctShare(d, staged, "profile_id", 0.25),
		"ALTER TABLE " + staged + " RENAME TO " + d.Quote("hinted"),
		dialects.Analyze(d, final),
	} {
		if err := wh.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rows, err := wh.Query(ctx, "SELECT n_distinct FROM pg_stats WHERE schemaname = 'public' AND tablename = 'hinted' AND attname = 'profile_id'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var nd float64
	if !rows.Next() || rows.Scan(&nd) != nil || nd != -0.25 {
		t.Fatalf("n_distinct %v, want -0.25 (the sample alone says 10 values)", nd)
	}
}
