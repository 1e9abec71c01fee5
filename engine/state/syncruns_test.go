package state

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

func TestSyncRuns(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "state.db" },
		"postgres": func(t *testing.T) string { return dialecttest.NewPostgresDB(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := Open(ctx, t.TempDir(), open(t))
			require.NoError(t, err)
			defer s.Close()

			t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			runs := []*SyncRun{
				{ID: "a1", Project: "shop", Sync: "a", Destination: "hook", Mode: "mirror", StartedAt: t0},
				{ID: "a2", Project: "shop", Sync: "a", Destination: "hook", Mode: "mirror", StartedAt: t0.Add(500 * time.Millisecond)},
				{ID: "b1", Project: "shop", Sync: "b", Destination: "hook", Mode: "upsert", StartedAt: t0.Add(time.Second)},
				{ID: "x1", Project: "other", Sync: "a", Destination: "hook", Mode: "upsert", StartedAt: t0.Add(time.Hour)},
			}
			for _, r := range runs {
				require.NoError(t, s.StartSyncRun(ctx, r))
			}
			fin := t0.Add(2 * time.Minute)
			a2 := runs[1]
			a2.FinishedAt, a2.Status, a2.Added, a2.Changed, a2.Removed, a2.Rejected, a2.Retried, a2.Pending, a2.Error =
				&fin, Partial, 10, 2, 3, 1, 4, 5, "1 row rejected"
			require.NoError(t, s.FinishSyncRun(ctx, a2))
			require.NoError(t, s.AddRejections(ctx, "shop", []Rejection{
				{RunID: "a2", Sync: "a", Key: "jan@example.nl", ProfileID: "p_1", Reason: "invalid email", RejectedAt: fin},
				{RunID: "a2", Sync: "a", Key: "an@example.nl", ProfileID: "p_2", Reason: "blocked", RejectedAt: fin},
			}))

			got, err := s.SyncRuns(ctx, "shop", "a", 10)
			require.NoError(t, err)
			require.Len(t, got, 2)
			assert.Equal(t, "a2", got[0].ID, "newest first, even within one second")
			assert.Equal(t, SyncRun{ID: "a2", Project: "shop", Sync: "a", Destination: "hook", Mode: "mirror", StartedAt: a2.StartedAt,
				FinishedAt: &fin, Status: Partial, Added: 10, Changed: 2, Removed: 3, Rejected: 1, Retried: 4, Pending: 5,
				Error: "1 row rejected"}, got[0])
			assert.Equal(t, Running, got[1].Status)
			assert.Nil(t, got[1].FinishedAt)

			all, err := s.SyncRuns(ctx, "shop", "", 10)
			require.NoError(t, err)
			assert.Len(t, all, 3)

			last, err := s.LastSyncRuns(ctx, "shop")
			require.NoError(t, err)
			assert.Equal(t, "a2", last["a"].ID)
			assert.Equal(t, "b1", last["b"].ID)
			assert.Len(t, last, 2)

			rej, err := s.Rejections(ctx, "a2", 10)
			require.NoError(t, err)
			require.Len(t, rej, 2)
			assert.Equal(t, Rejection{RunID: "a2", Sync: "a", Key: "an@example.nl", ProfileID: "p_2", Reason: "blocked", RejectedAt: fin}, rej[0])

			// Retention: rejections go first, then whole runs (never a running one).
			require.NoError(t, s.PruneSyncHistory(ctx, "shop", t0, fin.Add(time.Second)))
			rej, err = s.Rejections(ctx, "a2", 10)
			require.NoError(t, err)
			assert.Empty(t, rej)
			all, err = s.SyncRuns(ctx, "shop", "", 10)
			require.NoError(t, err)
			assert.Len(t, all, 3, "runs younger than the retention stay")
			require.NoError(t, s.PruneSyncHistory(ctx, "shop", t0.Add(time.Minute), t0))
			all, err = s.SyncRuns(ctx, "shop", "", 10)
			require.NoError(t, err)
			require.Len(t, all, 2, "the finished old run went; the running ones stay")
		})
	}
}
