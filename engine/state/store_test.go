package state

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// Every store driver passes the same suite.
func TestStoreConformance(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "state.db" },
		"postgres": func(t *testing.T) string { return dialecttest.NewPostgresDB(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			loc := open(t)
			s, err := Open(ctx, dir, loc)
			require.NoError(t, err)
			defer s.Close()

			t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			for i, id := range []string{"r1", "r2"} {
				r := &Run{ID: id, Project: "shop", Warehouse: "duckdb", StartedAt: t0.Add(time.Duration(i) * time.Hour)}
				require.NoError(t, s.StartRun(ctx, r))
				fin := r.StartedAt.Add(90 * time.Second)
				r.FinishedAt = &fin
				r.Status = Succeeded
				if id == "r2" {
					r.Status, r.Error, r.FailedStep = Failed, "boom", "profiles"
				}
				r.Steps = []StepRecord{{Name: "identity", StartedAt: r.StartedAt, Seconds: 1.5, Rows: map[string]int64{"identity_graph": 42}}}
				require.NoError(t, s.FinishRun(ctx, r))
			}
			runs, err := s.Runs(ctx, 10)
			require.NoError(t, err)
			require.Len(t, runs, 2)
			require.Equal(t, "r2", runs[0].ID, "newest first")
			require.Equal(t, Failed, runs[0].Status)
			require.Equal(t, "profiles", runs[0].FailedStep)
			require.Equal(t, int64(42), runs[1].Steps[0].Rows["identity_graph"])
			require.Equal(t, t0, runs[1].StartedAt)
			require.Equal(t, t0.Add(90*time.Second), *runs[1].FinishedAt)

			// Reopening applies no migration twice and keeps the history.
			s2, err := Open(ctx, dir, loc)
			require.NoError(t, err)
			defer s2.Close()
			runs, err = s2.Runs(ctx, 1)
			require.NoError(t, err)
			require.Len(t, runs, 1)
		})
	}
}
