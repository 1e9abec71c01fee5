package engine

import (
	"context"
	"io"
	"os"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/demo"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/segments"
)

// DemoOptions shape the generated demo data.
type DemoOptions = demo.Options

// DemoSummary is what the demo generator wrote.
type DemoSummary = demo.Summary

// WriteDemoProject writes the demo project's YAML files into dir; without
// overwrite it refuses a folder that holds any of them.
func WriteDemoProject(dir string, overwrite bool) error {
	return demo.WriteProject(dir, demo.ProjectOptions{Overwrite: overwrite})
}

// GenerateDemo (re)creates the demo's source tables (schema raw) and its
// truth (schema demo_truth) in the project's warehouse.
func (s *Service) GenerateDemo(ctx context.Context, o DemoOptions) (DemoSummary, error) {
	wh, err := s.warehouse(ctx)
	if err != nil {
		return DemoSummary{}, err
	}
	return demo.Generate(ctx, wh, o)
}

// BenchSegments times the profiles and segments steps and previews on the
// demo data already in the project's warehouse.
func (s *Service) BenchSegments(ctx context.Context, out io.Writer) (*segments.BenchReport, error) {
	wh, err := s.warehouse(ctx)
	if err != nil {
		return nil, err
	}
	return BenchSegments(ctx, wh, s.Project, s.now(), out)
}

// IdentityBenchOptions shape `cohort bench identity`.
type IdentityBenchOptions = identity.BenchOptions

// IdentityBenchReport is what the identity benchmark measured.
type IdentityBenchReport = identity.BenchReport

// BenchIdentity generates a graph in a fresh warehouse of type typ (a
// temporary DuckDB file, or the database at dsn), resolves it, and checks
// it against an in-memory union-find.
func BenchIdentity(ctx context.Context, typ, dsn string, o IdentityBenchOptions, out io.Writer) (*IdentityBenchReport, error) {
	dir, err := os.MkdirTemp("", "cohort-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	wh, err := dialects.Open(ctx, typ, dialects.Config{Dir: dir, Path: "bench.duckdb", DSN: dsn, MemoryLimit: o.MemoryLimit, Threads: o.Threads})
	if err != nil {
		return nil, err
	}
	defer wh.Close()
	return identity.Bench(ctx, wh, o, out)
}

// Thousands formats 1234567 as 1,234,567, as every report of the engine does.
func Thousands(n int64) string { return plan.Thousands(n) }
