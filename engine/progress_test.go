package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/state"
)

// While a run goes, its record in the state store holds the steps done
// and the one under way, so another process (the API) can show progress;
// at the end the run's own steps replace them.
func TestRunRecordsItsProgress(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p := demoProject(t)
	svc := NewService(p, ServiceOptions{})
	svc.Clock = func() time.Time { return now }
	defer svc.Close()
	_, err := svc.GenerateDemo(ctx, DemoOptions{Profiles: 100, Seed: 2, Now: now})
	require.NoError(t, err)

	id := NewRunID()
	var seen [][]state.StepRecord
	var started []string
	_, err = svc.Run(ctx, RunOptions{ID: id, Progress: func(ev Event) {
		if ev.Message != "started" {
			return
		}
		rec, err := svc.RunRecord(ctx, id)
		require.NoError(t, err)
		require.Equal(t, state.Running, rec.Status)
		seen = append(seen, rec.Steps)
		started = append(started, ev.Step)
	}})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(seen), 3)
	for i, steps := range seen { // at the start of step i: the i before it, done
		require.Len(t, steps, i)
		for j, st := range steps {
			require.Equal(t, started[j], st.Name)
			require.False(t, st.Running)
		}
	}
	rec, err := svc.RunRecord(ctx, id)
	require.NoError(t, err)
	require.Equal(t, state.Succeeded, rec.Status)
	n := len(rec.Steps)
	require.Equal(t, []string{PublishStep, IndexStep}, []string{rec.Steps[n-2].Name, rec.Steps[n-1].Name}, "the run's own steps at the end")
	for _, st := range rec.Steps {
		require.False(t, st.Running)
	}
}
