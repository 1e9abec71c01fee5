package engine

import (
	"context"
	"os"
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
// reports each step's seconds per run: an incremental run must never be
// slower than a rebuild. COHORT_BENCH_PROFILES sets the demo's size
// (default 5000):
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
			for _, mode := range []string{"incremental", "rebuild"} {
				b.Run(mode, func(b *testing.B) {
					secs := map[string]float64{}
					for b.Loop() {
						res, err := Run(ctx, p, w.WH, store, DefaultParts, Options{Now: now, FullRefresh: mode == "rebuild"})
						if err != nil {
							b.Fatal(err)
						}
						for _, st := range res.Steps {
							secs[st.Name] += st.Seconds
						}
					}
					for name, s := range secs {
						b.ReportMetric(s/float64(b.N), name+"-s/run")
					}
				})
			}
		})
	}
}
