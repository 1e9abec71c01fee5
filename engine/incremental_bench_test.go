package engine

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/demo"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// BenchmarkIncrementalVsRebuild runs the demo project again on unchanged
// sources, incrementally and with --full-refresh, on every dialect, and
// reports each step's median seconds per mode (incremental-profiles-s,
// rebuild-profiles-s, ...): an incremental run must never be slower than a
// rebuild. Each iteration runs both modes, in turns first, so that other
// work on the machine weighs on both alike. COHORT_BENCH_PROFILES sets the
// demo's size (default 5000):
//
//	go test ./engine -run '^$' -bench IncrementalVsRebuild -benchtime 3x
func BenchmarkIncrementalVsRebuild(b *testing.B) {
	n := 5000
	if v := os.Getenv("COHORT_BENCH_PROFILES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	dir := b.TempDir()
	if err := demo.WriteProject(dir, demo.ProjectOptions{}); err != nil {
		b.Fatal(err)
	}
	p, err := models.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, typ := range dialecttest.Types {
		b.Run(typ, func(b *testing.B) {
			ctx := context.Background()
			w := dialecttest.Open(b, typ)
			if _, err := demo.Generate(ctx, w.WH, demo.Options{Profiles: n, Seed: 1, Now: now}); err != nil {
				b.Fatal(err)
			}
			store, err := state.Open(ctx, b.TempDir(), "state.db")
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			if _, err := Run(ctx, p, w.WH, store, DefaultParts, Options{Now: now}); err != nil {
				b.Fatal(err)
			}
			secs := map[string][]float64{} // "mode-step" → seconds of each run
			run := func(mode string) {
				res, err := Run(ctx, p, w.WH, store, DefaultParts, Options{Now: now, FullRefresh: mode == "rebuild"})
				if err != nil {
					b.Fatal(err)
				}
				total := 0.0
				for _, st := range res.Steps {
					secs[mode+"-"+st.Name] = append(secs[mode+"-"+st.Name], st.Seconds)
					total += st.Seconds
				}
				secs[mode+"-run"] = append(secs[mode+"-run"], total)
			}
			i := 0
			for b.Loop() {
				modes := []string{"incremental", "rebuild"}
				if i%2 == 1 {
					slices.Reverse(modes)
				}
				for _, m := range modes {
					run(m)
				}
				i++
			}
			for name, s := range secs {
				b.ReportMetric(median(s), name+"-s")
			}
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
