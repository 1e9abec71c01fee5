package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// In `cohort serve` the API reads through the service and the scheduler
// runs through it too. On the embedded DuckDB file a read opens it
// read-only; a run swaps that for a read-write handle and lets go of the
// file at its end, and the next read opens it read-only again and sees the
// run's tables.
func TestScheduledRunSharesTheServiceWarehouse(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p := demoProject(t)
	gen := NewService(p, ServiceOptions{})
	_, err := gen.GenerateDemo(ctx, DemoOptions{Profiles: 100, Seed: 2, Now: now})
	require.NoError(t, err)
	require.NoError(t, gen.Close())

	svc := NewService(p, ServiceOptions{})
	svc.Clock = func() time.Time { return now }
	defer svc.Close()
	state := func() (open, rw bool) {
		svc.own.mu.Lock()
		defer svc.own.mu.Unlock()
		return svc.own.cur != nil, svc.own.rw
	}
	require.NoError(t, svc.scheduledRun(ctx))
	open, _ := state()
	require.False(t, open, "the run let go of the file")
	vip, err := svc.Segment("vip")
	require.NoError(t, err)
	before, err := svc.Preview(ctx, vip, PreviewOptions{})
	require.NoError(t, err)
	open, rw := state()
	require.True(t, open)
	require.False(t, rw, "a read opens the file read-only")
	require.Error(t, svc.own.cur.Exec(ctx, "CREATE TABLE cohort.nope (a INTEGER)"), "the read handle cannot write")

	// a read in flight during the switch: its rows stay readable, the run
	// waits for them to be closed
	wh, err := svc.warehouse(ctx)
	require.NoError(t, err)
	rows, err := wh.Query(ctx, "SELECT profile_id FROM cohort.profiles")
	require.NoError(t, err)
	ran := make(chan error, 1)
	go func() { ran <- svc.scheduledRun(ctx) }()
	var n int
	for rows.Next() {
		n++
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Positive(t, n)
	require.NoError(t, <-ran)
	open, _ = state()
	require.False(t, open)
	after, err := svc.Preview(ctx, vip, PreviewOptions{})
	require.NoError(t, err)
	require.Equal(t, before.Count, after.Count)
}
