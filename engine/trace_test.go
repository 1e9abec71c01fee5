package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// COHORT_TRACE sees the statements of every step of a run, not only
// identity's, and prints the slow ones.
func TestTraceSeesEveryStep(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p := demoProject(t)
	step := ""
	traced := map[string]int{}
	var printed strings.Builder
	print := Trace{Mode: "1", Out: &printed}
	svc := NewService(p, ServiceOptions{Trace: Trace{Hook: func(sql string, d time.Duration, cpu float64) {
		traced[step]++
		print.Report(sql, time.Hour, cpu) // as if slow
	}}})
	svc.Clock = func() time.Time { return now }
	defer svc.Close()
	_, err := svc.GenerateDemo(ctx, DemoOptions{Profiles: 100, Seed: 2, Now: now})
	require.NoError(t, err)

	var steps []string
	_, err = svc.Run(ctx, RunOptions{Progress: func(ev Event) {
		if ev.Message == "started" && ev.Step != PublishStep && ev.Step != IndexStep {
			step = ev.Step
			steps = append(steps, step)
		}
	}})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(steps), 3)
	for _, s := range steps {
		require.Positive(t, traced[s], "statements of step %s traced", s)
	}
	require.Contains(t, printed.String(), "CREATE TABLE")
}
