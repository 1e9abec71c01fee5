package identity

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// TestBenchSmall runs the benchmark end to end at a small size: the
// generated graph resolves to the union-find partition on every dialect.
func TestBenchSmall(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		var out strings.Builder
		rep, err := Bench(context.Background(), w.WH, BenchOptions{Edges: 30000, Seed: 7, Check: true, MemoryLimit: "1GB", Threads: 2, Increment: 300}, &out)
		require.NoError(t, err, out.String())
		t.Log(out.String())
		require.True(t, rep.Correct)
		require.True(t, rep.Checked)
		require.EqualValues(t, 30000, rep.Edges)
		// about 0.8 identifiers per link, several shapes: many profiles, far fewer than identifiers
		require.InDelta(t, 0.8*30000, float64(rep.Identifiers), 0.1*30000)
		require.Greater(t, rep.Profiles, int64(1000))
		require.Less(t, rep.Profiles, rep.Identifiers/2)
		// the increment is resolved incrementally, to the union-find's partition of all links
		require.NotNil(t, rep.Increment)
		require.True(t, rep.Increment.Correct)
		require.Contains(t, strings.Join(rep.Increment.Details, "\n"), "incremental: 300 new rows")
	})
}

// TestBenchLarge is the measurement: COHORT_BENCH_EDGES=10000000
// COHORT_BENCH_DIALECT=duckdb go test -run TestBenchLarge -v ./engine/identity/
func TestBenchLarge(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("COHORT_BENCH_EDGES"))
	if n == 0 {
		t.Skip("set COHORT_BENCH_EDGES to measure")
	}
	typ := os.Getenv("COHORT_BENCH_DIALECT")
	if typ == "" {
		typ = "duckdb"
	}
	w := dialecttest.Open(t, typ)
	inc, _ := strconv.Atoi(os.Getenv("COHORT_BENCH_INCREMENT"))
	rep, err := Bench(context.Background(), w.WH, BenchOptions{Edges: n, Seed: 1, Check: os.Getenv("COHORT_BENCH_CHECK") != "0", MemoryLimit: os.Getenv("COHORT_BENCH_MEMORY"), Increment: inc}, os.Stdout)
	require.NoError(t, err)
	require.True(t, !rep.Checked || rep.Correct)
	require.True(t, !rep.Checked || rep.Increment == nil || rep.Increment.Correct)
}
