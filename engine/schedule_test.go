package engine

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/models"
)

// manualClock is the scheduler's clock, moved by the test.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *manualClock) After(time.Duration) <-chan time.Time { return make(chan time.Time) }

// The service's scheduler runs the warehouse build on cohort.yaml's
// schedule through the service, records it, follows it with the syncs
// that say after: run, and waits while another process holds the project.
func TestServiceSchedulesTheWarehouseRun(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 10, 0, 30, 0, time.UTC)
	hook := fake.New(t)
	t.Setenv("CRM_WEBHOOK_URL", hook.URL())
	t.Setenv("CRM_WEBHOOK_SECRET", fake.Secret)
	p := demoProject(t)
	gen := NewService(p, ServiceOptions{})
	_, err := gen.GenerateDemo(ctx, DemoOptions{Profiles: 100, Seed: 3, Now: t0})
	require.NoError(t, err)
	require.NoError(t, gen.Close())

	p.Schedule = models.Schedule{Cron: "0 * * * *"}
	var follow *models.Sync
	for _, sy := range p.Syncs {
		if sy.Name == "churn_risk_to_crm" {
			follow = sy
		}
	}
	follow.Schedule = models.Schedule{After: models.AfterRun}
	p.Syncs = []*models.Sync{follow}
	svc := NewService(p, ServiceOptions{})
	defer svc.Close()
	clock := &manualClock{now: t0}
	sched, err := svc.Scheduler(ctx, SchedulerOptions{Clock: clock, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.Len(t, sched.Jobs(), 2)
	runs := func() int {
		rs, err := svc.Runs(ctx, 10)
		require.NoError(t, err)
		return len(rs)
	}

	sched.Tick(ctx)
	require.Equal(t, 0, runs(), "the first slot is the next full hour")
	clock.set(t0.Add(time.Hour))
	sched.Tick(ctx)
	require.Equal(t, 1, runs())
	rs, err := svc.Runs(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "succeeded", rs[0].Status)
	members := len(hook.Members())
	require.Positive(t, members, "the sync after: run followed in the same pass")
	syncs := func() int {
		h, err := svc.SyncHistory(ctx, follow.Name, 10, 0)
		require.NoError(t, err)
		return len(h.Runs)
	}
	require.Equal(t, 1, syncs())

	// A `cohort run` from a terminal holds the project at 12:00.
	store, err := svc.store(ctx)
	require.NoError(t, err)
	lease, err := store.Acquire(ctx, LeaseKey(p.Name), "cohort run", 0)
	require.NoError(t, err)
	clock.set(t0.Add(2 * time.Hour))
	sched.Tick(ctx)
	require.Equal(t, 1, runs(), "no run while another process holds the project")
	require.NoError(t, lease.Release(ctx))
	sched.Tick(ctx)
	require.Equal(t, 2, runs(), "the waiting slot runs once the project is free")
	require.Equal(t, 2, syncs(), "and the sync follows it")
	sched.Tick(ctx)
	require.Equal(t, 2, runs())
	require.Equal(t, 2, syncs())
}
