package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// The demo's webhook sync end to end: a run, a sync that sends the segment,
// a second that sends nothing, the history, and the project's lease.
func TestServiceSyncsTheDemoToAWebhook(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	f := fake.New(t)
	t.Setenv("CRM_WEBHOOK_URL", f.URL())
	t.Setenv("CRM_WEBHOOK_SECRET", fake.Secret)
	p := demoProject(t)
	svc := NewService(p, ServiceOptions{})
	svc.Clock = func() time.Time { return now }
	defer svc.Close()
	_, err := svc.GenerateDemo(ctx, DemoOptions{Profiles: 300, Seed: 5, Now: now})
	require.NoError(t, err)
	_, err = svc.Run(ctx, RunOptions{})
	require.NoError(t, err)
	svc.Clock = func() time.Time { now = now.Add(time.Second); return now } // each sync run a second later

	dry, err := svc.Sync(ctx, SyncOptions{Names: []string{"churn_risk_to_crm"}, DryRun: true})
	require.NoError(t, err)
	n := dry[0].Planned.Adds
	require.Positive(t, n)
	assert.Zero(t, f.Requests(), "a dry run sends nothing")

	var seen int64
	res, err := svc.Sync(ctx, SyncOptions{Names: []string{"churn_risk_to_crm"}, Progress: func(_ string, done, _ int64) { seen = done }})
	require.NoError(t, err)
	assert.Equal(t, state.Succeeded, res[0].Run.Status)
	assert.Equal(t, n, res[0].Run.Added)
	assert.Equal(t, n, seen)
	assert.Len(t, f.Members(), int(n))

	res, err = svc.Sync(ctx, SyncOptions{Names: []string{"churn_risk_to_crm"}})
	require.NoError(t, err)
	assert.Zero(t, res[0].Planned.Total(), "the second sync sends nothing")

	list, err := svc.Syncs(ctx)
	require.NoError(t, err)
	for _, s := range list {
		if s.Name == "churn_risk_to_crm" {
			require.NotNil(t, s.LastRun)
			assert.Equal(t, res[0].Run.ID, s.LastRun.ID)
		} else {
			assert.Nil(t, s.LastRun)
		}
	}
	h, err := svc.SyncHistory(ctx, "churn_risk_to_crm", 10, 5)
	require.NoError(t, err)
	assert.Len(t, h.Runs, 2)

	// A sync and a warehouse run never interleave: the sync takes the same lease.
	l, err := svc.Store.Acquire(ctx, LeaseKey(p.Name), "cohort run", 0)
	require.NoError(t, err)
	_, err = svc.Sync(ctx, SyncOptions{Names: []string{"churn_risk_to_crm"}})
	var busy *BusyError
	require.True(t, errors.As(err, &busy), "%v", err)
	require.NoError(t, l.Release(ctx))

	// A failing sync alerts through the alert destination, once per streak.
	alertHook := fake.New(t)
	p.Destinations = append(p.Destinations, &models.Destination{Name: "alert_hook", Type: "webhook", Region: "eu",
		Config: map[string]any{"url": alertHook.URL(), "secret": fake.Secret}})
	sy := p.Syncs[0]
	for _, x := range p.Syncs {
		if x.Name == "churn_risk_to_crm" {
			sy = x
		}
	}
	sy.Alert = &models.Alert{Destination: "alert_hook"}
	sy.Fields["tier_again"] = "tier" // a new mapping resends everyone
	f.Fail(100, 503)
	manual := SyncOptions{Names: []string{"churn_risk_to_crm"}, Delivery: sync.Options{Clock: sync.NewManualClock(now)}}
	res, err = svc.Sync(ctx, manual)
	require.ErrorContains(t, err, "HTTP 503")
	assert.Equal(t, state.Failed, res[0].Run.Status)
	assert.Equal(t, 1, alertHook.Counts().Notices)
	_, err = svc.Sync(ctx, manual)
	require.Error(t, err)
	assert.Equal(t, 1, alertHook.Counts().Notices, "a failure alerts once per streak")
	f.Recover()
	res, err = svc.Sync(ctx, manual)
	require.NoError(t, err)
	assert.Equal(t, n, res[0].Run.Changed)
	assert.Equal(t, 2, alertHook.Counts().Notices, "and once more when it recovers")

	_, err = svc.Sync(ctx, SyncOptions{Names: []string{"nope"}})
	var unknown *UnknownError
	require.True(t, errors.As(err, &unknown), "%v", err)
}

func TestSyncHealth(t *testing.T) {
	run := func(status string) *state.SyncRun { return &state.SyncRun{Status: status} }
	for want, st := range map[string]SyncStatus{
		"paused":    {Paused: true, LastRun: run(state.Succeeded)},
		"never_run": {},
		"healthy":   {LastRun: run(state.Succeeded)},
		"degraded":  {LastRun: run(state.Partial)},
		"running":   {LastRun: run(state.Running)},
		"failing":   {LastRun: run(state.Failed)},
	} {
		if got := health(st); got != want {
			t.Errorf("health(%+v) = %s, want %s", st, got, want)
		}
	}
}

// A sync that opens an embedded warehouse (cohort sync) caps it at
// sync.MemoryLimit and sync.Threads, so that a large diff spills to disk
// instead of growing the process; a project's own memory_limit and threads
// are kept.
func TestSyncOpensTheWarehouseCapped(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p := demoProject(t)
	svc := NewService(p, ServiceOptions{})
	svc.Clock = func() time.Time { return now }
	_, err := svc.GenerateDemo(ctx, DemoOptions{Profiles: 100, Seed: 5, Now: now})
	require.NoError(t, err)
	_, err = svc.Run(ctx, RunOptions{})
	require.NoError(t, err)
	require.NoError(t, svc.Close())

	settings := func(p *models.Project) (float64, int) {
		t.Helper()
		svc := NewService(p, ServiceOptions{})
		svc.Clock = func() time.Time { return now }
		defer svc.Close()
		_, err := svc.Sync(ctx, SyncOptions{Names: []string{"churn_risk_to_crm"}, DryRun: true})
		require.NoError(t, err)
		wh, done, err := svc.syncWarehouse(ctx) // as Sync opens it, for a sync only
		require.NoError(t, err)
		defer done()
		rows, err := wh.Query(ctx, "SELECT current_setting('memory_limit'), current_setting('threads')")
		require.NoError(t, err)
		defer rows.Close()
		require.True(t, rows.Next())
		var v, unit string
		var threads int
		require.NoError(t, rows.Scan(&v, &threads))
		var x float64
		_, err = fmt.Sscanf(v, "%g %s", &x, &unit)
		require.NoError(t, err, v)
		return x * map[string]float64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[unit], threads
	}
	limit, threads := settings(p)
	assert.InDelta(t, 32e6, limit, 2e6, "capped at %s", sync.MemoryLimit)
	assert.Equal(t, sync.Threads, threads)
	p.Warehouse.MemoryLimit, p.Warehouse.Threads = "1GB", 2
	limit, threads = settings(p)
	assert.InDelta(t, 1e9, limit, 50e6, "the project's own limit")
	assert.Equal(t, 2, threads, "the project's own threads")
}
