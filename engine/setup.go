package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

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

// DemoTables lists the demo's tables the project's warehouse already holds:
// GenerateDemo would replace them.
func (s *Service) DemoTables(ctx context.Context) ([]string, error) {
	wh, err := s.openWarehouse(ctx, true)
	if err != nil {
		return nil, err
	}
	return demo.Existing(ctx, wh)
}

// DropDemo drops every demo table (after a failed GenerateDemo on a
// warehouse that held none of them).
func (s *Service) DropDemo(ctx context.Context) error {
	wh, err := s.openWarehouse(ctx, true)
	if err != nil {
		return err
	}
	return demo.Drop(ctx, wh)
}

// GenerateDemo (re)creates the demo's source tables (schema cohort_demo) and its
// truth (schema demo_truth) in the project's warehouse.
func (s *Service) GenerateDemo(ctx context.Context, o DemoOptions) (DemoSummary, error) {
	wh, err := s.openWarehouse(ctx, true)
	if err != nil {
		return DemoSummary{}, err
	}
	return demo.Generate(ctx, wh, o)
}

// BenchSegments times the profiles and segments steps and previews on the
// demo data already in the project's warehouse.
func (s *Service) BenchSegments(ctx context.Context, out io.Writer) (*segments.BenchReport, error) {
	wh, err := s.openWarehouse(ctx, true)
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

// CheckWarehouseChoice checks `cohort init --warehouse TYPE --dsn URL`:
// a registered type, with a dsn exactly when it needs one.
func CheckWarehouseChoice(typ, dsn string) error {
	drv, err := dialects.Lookup(typ)
	if err != nil {
		return fmt.Errorf("--warehouse: %w", err)
	}
	needs := slices.Contains(drv.Needs, "dsn")
	switch {
	case needs && dsn == "":
		return fmt.Errorf("--warehouse %s needs a --dsn", typ)
	case !needs && dsn != "":
		return fmt.Errorf("--dsn does not go with --warehouse %s (it is a file next to the project)", typ)
	}
	return nil
}

// UseWarehouse points a freshly written cohort.yaml at a warehouse of
// type typ (with its dsn) instead of the one it names; a warehouse of the
// written type leaves it as it is.
func UseWarehouse(dir, typ, dsn string) error {
	path := filepath.Join(dir, "cohort.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out []string
	replaced, inWarehouse := false, false
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		if indent == "" && trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			inWarehouse = strings.HasPrefix(trimmed, "warehouse:")
		}
		switch {
		case inWarehouse && strings.HasPrefix(trimmed, "type:"):
			if strings.TrimSpace(strings.SplitN(strings.TrimPrefix(trimmed, "type:"), "#", 2)[0]) == typ {
				return nil
			}
			out = append(out, indent+"type: "+typ)
			if dsn != "" {
				out = append(out, indent+"dsn: "+yamlQuote(dsn))
			}
			replaced = true
		case inWarehouse && strings.HasPrefix(trimmed, "path:"): // the written type's file
		default:
			out = append(out, line)
		}
	}
	if !replaced {
		return fmt.Errorf("%s: no warehouse type to replace", path)
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644)
}

// yamlQuote quotes a YAML scalar in double quotes.
func yamlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Thousands formats 1234567 as 1,234,567, as every report of the engine does.
func Thousands(n int64) string { return plan.Thousands(n) }

// ShowTime is how every command shows a time to people: in loc (the
// project's timezone), with the zone (plan.ShowTime).
func ShowTime(t time.Time, loc *time.Location) string { return plan.ShowTime(t, loc) }

// Count is n and its noun, in the singular for one: "1 row", "2 people".
func Count(n int64, noun string) string { return plan.Count(n, noun) }

// Noun is noun in the singular for one, in the plural otherwise.
func Noun(n int64, noun string) string { return plan.Noun(n, noun) }
