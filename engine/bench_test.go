package engine

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/demo"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/models"
)

// TestBenchSegments runs the segments benchmark on the demo project end to
// end: identity first (no graph yet), then profiles and segments through the
// executor, then previews. COHORT_BENCH_PROFILES sets the size (default 2000).
func TestBenchSegments(t *testing.T) {
	n := 2000
	if v := os.Getenv("COHORT_BENCH_PROFILES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	ctx := context.Background()
	w := dialecttest.Open(t, "duckdb")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	_, err := demo.Generate(ctx, w.WH, demo.Options{Profiles: n, Seed: 1, Now: now})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, demo.WriteProject(dir, demo.ProjectOptions{}))
	p, err := models.Load(dir)
	require.NoError(t, err)
	require.NoError(t, models.Validate(p))
	var out strings.Builder
	rep, err := BenchSegments(ctx, w.WH, p, now, &out)
	require.NoError(t, err)
	require.Contains(t, out.String(), "identity_graph missing")
	require.Greater(t, rep.Identity, 0.0)
	require.Greater(t, rep.ProfilesStep, 0.0)
	require.Greater(t, rep.SegmentsStep, 0.0)
	require.Greater(t, rep.RunCPU, 0.0, "the run's processor time")
	require.EqualValues(t, len(p.Segments), rep.Segments)
	require.Greater(t, rep.Members, int64(0))
	require.Greater(t, rep.Profiles, int64(n/2))
	require.Greater(t, rep.PreviewCount, int64(0), "the bench segment should match some demo profiles")
	require.Len(t, rep.PreviewTimes, segments.BenchPreviews)
	require.Contains(t, rep.String(), "identity accuracy against demo_truth: precision 1.0000")
	t.Log(rep.String())
}

// WatchPeakRSS reads a process's own peak: after this one touched 128 MiB,
// a small program it starts reads far less (its ru_maxrss would read this
// process's peak).
func TestWatchPeakRSS(t *testing.T) {
	b := make([]byte, 128<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	require.GreaterOrEqual(t, WatchPeakRSS(os.Getpid())(), int64(128<<20))
	cmd := exec.Command("sleep", "0.5")
	require.NoError(t, cmd.Start())
	peak := WatchPeakRSS(cmd.Process.Pid)
	require.NoError(t, cmd.Wait())
	child := peak()
	require.Positive(t, child)
	require.Less(t, child, int64(64<<20))
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.Logf("sleep: VmHWM %d KiB, ru_maxrss %d KiB", child>>10, ru.Maxrss)
	}
	runtime.KeepAlive(b)
}
