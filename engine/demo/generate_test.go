package demo

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// anchor is the fixed "now" of the tests.
var anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestSmoke(t *testing.T) {
	w := dialecttest.Open(t, "duckdb")
	s, err := Generate(context.Background(), w.WH, Options{Profiles: 1000, Seed: 1, Now: anchor})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range s.Tables {
		t.Logf("%-28s %8d", tr.Table, tr.Rows)
	}
	t.Log(s.Elapsed)
}

// TestGenerate1M measures a million profiles in DuckDB; set COHORT_BENCH=1.
func TestGenerate1M(t *testing.T) {
	if os.Getenv("COHORT_BENCH") != "1" {
		t.Skip("set COHORT_BENCH=1 to generate 1,000,000 profiles")
	}
	w := dialecttest.Open(t, "duckdb")
	s, err := Generate(context.Background(), w.WH, Options{Profiles: 1_000_000, Seed: 1, Now: anchor})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range s.Tables {
		t.Logf("%-28s %10d", tr.Table, tr.Rows)
	}
	t.Logf("1,000,000 profiles: %d raw rows, %d event rows (web, app, orders) in %.1fs", s.RawRows(), s.Events(), s.Elapsed.Seconds())
}
