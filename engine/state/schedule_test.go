package state

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// Marks are claimed by one process at a time; retention prunes one
// project's finished runs only.
func TestMarksAndRetention(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "state.db" },
		"postgres": func(t *testing.T) string { return dialecttest.NewPostgresDB(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, t.TempDir(), open(t))
			require.NoError(t, err)
			defer s.Close()
			t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

			require.NoError(t, s.InitMark(ctx, "shop", "sync:a", t0))
			require.NoError(t, s.InitMark(ctx, "shop", "sync:a", t0.Add(time.Hour)), "a second init keeps the first")
			m, err := s.Mark(ctx, "shop", "sync:a")
			require.NoError(t, err)
			require.Equal(t, t0, m.Slot.UTC())
			require.False(t, m.Interrupted())
			stale := *m
			ok, err := s.StartMark(ctx, m, t0.Add(5*time.Minute), t0.Add(5*time.Minute))
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = s.StartMark(ctx, &stale, t0.Add(5*time.Minute), t0.Add(5*time.Minute))
			require.NoError(t, err)
			require.False(t, ok, "a mark read before another's claim cannot claim")
			m, err = s.Mark(ctx, "shop", "sync:a")
			require.NoError(t, err)
			require.True(t, m.Interrupted())
			require.NoError(t, s.FinishMark(ctx, "shop", "sync:a", t0.Add(6*time.Minute), Succeeded, ""))
			marks, err := s.Marks(ctx, "shop")
			require.NoError(t, err)
			require.Len(t, marks, 1)
			require.False(t, marks[0].Interrupted())
			require.Equal(t, Succeeded, marks[0].Status)

			for i, r := range []Run{
				{ID: "old", Project: "shop", StartedAt: t0, Status: Succeeded},
				{ID: "new", Project: "shop", StartedAt: t0.Add(48 * time.Hour), Status: Succeeded},
				{ID: "other", Project: "blog", StartedAt: t0, Status: Succeeded},
				{ID: "live", Project: "shop", StartedAt: t0, Status: Running},
			} {
				r.Warehouse = "duckdb"
				require.NoError(t, s.StartRun(ctx, &r))
				if r.ID != "live" {
					fin := r.StartedAt.Add(time.Minute)
					r.FinishedAt, r.Status = &fin, Succeeded
					require.NoError(t, s.FinishRun(ctx, &r), i)
				}
			}
			last, ok, err := s.LastSucceededRun(ctx, "shop")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, t0.Add(48*time.Hour+time.Minute), last)
			n, err := s.PruneRuns(ctx, "shop", t0.Add(24*time.Hour))
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			runs, err := s.Runs(ctx, 10)
			require.NoError(t, err)
			var ids []string
			for _, r := range runs {
				ids = append(ids, r.ID)
			}
			require.ElementsMatch(t, []string{"new", "other", "live"}, ids)
			require.NoError(t, s.Ping(ctx))
		})
	}
}
