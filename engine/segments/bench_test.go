package segments_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/demo"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/models"
)

// TestBenchDemo runs Bench on the demo project end to end: identity, then
// profiles and segments, then previews. COHORT_BENCH_PROFILES sets the size
// (default 2000; the README's figures use 1000000).
func TestBenchDemo(t *testing.T) {
	n := 2000
	if v := os.Getenv("COHORT_BENCH_PROFILES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	ctx := context.Background()
	w := dialecttest.Open(t, "duckdb")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	start := time.Now()
	_, err := demo.Generate(ctx, w.WH, demo.Options{Profiles: n, Seed: 1, Now: now})
	require.NoError(t, err)
	t.Logf("demo data for %d profiles generated in %.1f s", n, time.Since(start).Seconds())
	dir := t.TempDir()
	require.NoError(t, demo.WriteProject(dir, demo.ProjectOptions{}))
	p, err := models.Load(dir)
	require.NoError(t, err)
	require.NoError(t, models.Validate(p))
	c := &plan.Context{Project: p, Dialect: w.WH.Dialect(), Schema: p.Warehouse.Schema, Now: now.In(p.Location()), Loc: p.Location(), RunID: "x"}
	rep, err := segments.Bench(ctx, w.WH, c, testWriter{t})
	require.NoError(t, err)
	require.EqualValues(t, len(p.Segments), rep.Segments)
	require.Greater(t, rep.Members, int64(0))
	require.Greater(t, rep.PreviewCount, int64(0), "the bench segment should match some demo profiles")
	require.Len(t, rep.PreviewTimes, segments.BenchPreviews)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }
