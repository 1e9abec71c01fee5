package sync

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/engine/state"
)

// A sync killed (SIGKILL) between the destination applying a batch and
// answering it resumes on the next run: what was acknowledged is not sent
// again, the batches in flight are sent again with the same change ids (so
// the receiver applies each change once), and the dead run is marked
// failed.
func TestKilledSyncResumesExactlyOnce(t *testing.T) {
	forEachWarehouse(t, func(t *testing.T, fw dialecttest.Fresh) {
		ctx := context.Background()
		w := newWorldN(t, fw.WH, 400)
		w.load()
		want := w.expected()
		f := fake.New(t)
		stateDir := t.TempDir()
		dsn := fw.Config.DSN
		if dsn == "" {
			dsn = fw.Config.Dir + "/" + fw.Config.Path
		}
		// The child opens the warehouse itself: the parent lets go of a DuckDB file.
		require.NoError(t, fw.WH.Close())

		cmd := exec.Command(os.Args[0], "-test.run=^TestSyncChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "COHORT_SYNC_CHILD=1", "CHILD_TYPE="+fw.Type, "CHILD_DSN="+dsn,
			"CHILD_STATE="+stateDir, "CHILD_URL="+f.URL())
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		killed := make(chan struct{})
		f.AfterBatches(6, func() {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
			close(killed)
		})
		select {
		case <-killed:
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			t.Fatalf("the child never reached its sixth batch:\n%s", out.String())
		}
		before := f.Counts()
		require.Greater(t, before.Added, 0)
		require.Less(t, before.Added, len(want), "killed halfway")

		wh, err := dialects.Open(ctx, fw.Type, fw.Config)
		require.NoError(t, err)
		defer wh.Close()
		store, err := state.Open(ctx, stateDir, "state.db")
		require.NoError(t, err)
		defer store.Close()
		res, err := Run(ctx, Params{Project: project(f.URL(), "mirror"), Sync: "vip_hook", Warehouse: wh, Store: store,
			Delivery: Options{Clock: NewManualClock(time.Now())}})
		require.NoError(t, err)
		assert.Equal(t, state.Succeeded, res.Run.Status)

		c := f.Counts()
		assert.Equal(t, len(want), c.Added, "every member applied exactly once")
		assert.Equal(t, jsonText(want), jsonText(members(f)))
		// Recorded acknowledgements are not sent again; at most the batches
		// answered but not yet recorded at the kill ((2 writers + 1) × 10
		// records) come back, recognised by their change ids.
		assert.LessOrEqual(t, c.Duplicates, 30)
		assert.Positive(t, c.Duplicates, "the batch applied but not answered was sent again")
		assert.Equal(t, int64(len(want)-before.Added+c.Duplicates), res.Planned.Total(),
			"the resumed run sends what was not acknowledged, and nothing else")
		runs, err := store.SyncRuns(ctx, "shop", "vip_hook", 10)
		require.NoError(t, err)
		require.Len(t, runs, 2)
		assert.Equal(t, state.Failed, runs[1].Status)
		assert.Contains(t, runs[1].Error, "abandoned")
	})
}

// TestSyncChild is the process TestKilledSyncResumesExactlyOnce kills.
func TestSyncChild(t *testing.T) {
	if os.Getenv("COHORT_SYNC_CHILD") == "" {
		t.Skip("run by TestKilledSyncResumesExactlyOnce")
	}
	ctx := context.Background()
	cfg := dialects.Config{DSN: os.Getenv("CHILD_DSN")}
	if os.Getenv("CHILD_TYPE") == "duckdb" {
		cfg = dialects.Config{Path: os.Getenv("CHILD_DSN")}
	}
	wh, err := dialects.Open(ctx, os.Getenv("CHILD_TYPE"), cfg)
	require.NoError(t, err)
	store, err := state.Open(ctx, os.Getenv("CHILD_STATE"), "state.db")
	require.NoError(t, err)
	_, err = Run(ctx, Params{Project: project(os.Getenv("CHILD_URL"), "mirror"), Sync: "vip_hook", Warehouse: wh, Store: store,
		Delivery: Options{Limits: destinations.Limits{BatchRecords: 10, Concurrency: 2}}})
	t.Fatalf("the child should have been killed, but its run ended: %v", err)
}
