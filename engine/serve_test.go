package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/models"
)

// In `cohort serve` the API reads through the service, then the scheduler
// runs: the run uses the handle the service holds (one embedded DuckDB
// handle per process) and leaves it open for the next read.
func TestScheduledRunSharesTheServiceWarehouse(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	require.NoError(t, WriteDemoProject(dir, false))
	p, err := models.LoadAndValidate(dir)
	require.NoError(t, err)
	svc := NewService(p, ServiceOptions{})
	svc.Clock = func() time.Time { return now }
	defer svc.Close()
	_, err = svc.GenerateDemo(ctx, DemoOptions{Profiles: 100, Seed: 2, Now: now})
	require.NoError(t, err)
	require.NoError(t, svc.scheduledRun(ctx))
	held := svc.heldWarehouse()
	require.NotNil(t, held)
	vip, err := svc.Segment("vip")
	require.NoError(t, err)
	before, err := svc.Preview(ctx, vip, PreviewOptions{})
	require.NoError(t, err)
	require.NoError(t, svc.scheduledRun(ctx), "a second handle on the DuckDB file is not opened")
	require.Same(t, held, svc.heldWarehouse())
	after, err := svc.Preview(ctx, vip, PreviewOptions{})
	require.NoError(t, err, "the run did not close the service's handle")
	require.Equal(t, before.Count, after.Count)
}
