//go:build incrharness

package identity

// A harness for the increment's statements on a kept 10M state, not a test:
//
//	INCR_DB=/tmp/x.duckdb go test -tags incrharness -run TestIncrHarness -v -timeout 60m ./engine/identity/
//
// The first call builds the state (the benchmark's graph with --rules, its
// full run published, identity_graph indexed, 10,000 links appended); each
// call then runs the increment INCR_N times without publishing it and prints
// every statement's wall and processor time.

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	_ "github.com/cohort-cdp/cohort/dialects/duckdb"
	"github.com/cohort-cdp/cohort/engine/plan"
)

func harnessContext(d dialects.Dialect, edges, inc int, full bool) *plan.Context {
	return benchContext(d, defaultBenchSchema, BenchOptions{Edges: edges, Increment: inc, Rules: true}, true, full)
}

func TestIncrHarness(t *testing.T) {
	path := os.Getenv("INCR_DB")
	if path == "" {
		t.Skip("set INCR_DB")
	}
	const edges, inc = 10_000_000, 10_000
	ctx := context.Background()
	_, statErr := os.Stat(path)
	wh, err := dialects.Open(ctx, "duckdb", dialects.Config{Path: path})
	require.NoError(t, err)
	defer wh.Close()
	d := wh.Dialect()
	if statErr != nil {
		build(t, wh, edges, inc)
	}
	n, _ := strconv.Atoi(os.Getenv("INCR_N"))
	if n == 0 {
		n = 3
	}
	type stat struct {
		wall, cpu []float64
	}
	stats := map[string]*stat{}
	var order []string
	for i := 0; i < n; i++ {
		c := harnessContext(d, edges, inc, false)
		steps, err := Steps(c)
		require.NoError(t, err)
		s := steps[0].(*Step)
		s.trace = func(sql string, dur time.Duration, cpu float64) {
			_, body := splitComment(sql)
			key := strings.TrimSpace(body)
			key, _, _ = strings.Cut(key, "\n")
			key = strings.ReplaceAll(key, c.RunID, "")
			key = key[:min(len(key), 110)]
			st := stats[key]
			if st == nil {
				st = &stat{}
				stats[key] = st
				order = append(order, key)
			}
			st.wall = append(st.wall, dur.Seconds())
			st.cpu = append(st.cpu, cpu)
		}
		cpu0, start := cpuSeconds(), time.Now()
		res, err := s.Run(ctx, wh, func(string) {})
		require.NoError(t, err)
		wall, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
		fmt.Printf("run %d: %.3f s (cpu %.3f s)  %s\n", i+1, wall, cpu, strings.Join(res.Details, " | "))
		_ = wh.Exec(ctx, dialects.DropView(c.Staged(GraphTable)))
		for _, tb := range append(s.Outputs(), deltaTables...) {
			require.NoError(t, wh.Exec(ctx, d.DropTable(c.Staged(tb))))
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return sum(stats[order[i]].cpu) > sum(stats[order[j]].cpu) })
	for _, k := range order {
		st := stats[k]
		if sum(st.cpu)/float64(n) < 0.005 && sum(st.wall)/float64(n) < 0.005 {
			continue
		}
		fmt.Printf("cpu %s | wall %s  %s\n", list(st.cpu), list(st.wall), k)
	}
}

func sum(x []float64) float64 {
	t := 0.0
	for _, v := range x {
		t += v
	}
	return t
}

func list(x []float64) string {
	var s []string
	for _, v := range x {
		s = append(s, fmt.Sprintf("%.3f", v))
	}
	return strings.Join(s, " ")
}

// build makes the state: the benchmark's graph, its full run published,
// identity_graph indexed as a run's index step does, the increment appended.
func build(t *testing.T, wh dialects.Warehouse, edges, inc int) {
	ctx := context.Background()
	d := wh.Dialect()
	for _, s := range append(dialects.Resources(d, "", 0), d.CreateSchema("cohort_bench")) {
		require.NoError(t, wh.Exec(ctx, s))
	}
	tbl := d.Quote("cohort_bench", "edges")
	gen := "SELECT a, b, CAST('2026-01-01 00:00:00' AS " + d.TypeName(dialects.Timestamp) + ") AS ts FROM (" + generateSQL(d, edges, 1) + ") g"
	require.NoError(t, wh.Exec(ctx, d.CreateTableAs(tbl, gen, false)))
	c := harnessContext(d, edges, inc, true)
	steps, err := Steps(c)
	require.NoError(t, err)
	steps[0].(*Step).trace = trace(os.Stdout, "1", 100*time.Millisecond)
	stats, err := steps[0].Run(ctx, wh, func(msg string) { fmt.Println(msg) })
	require.NoError(t, err)
	require.NoError(t, dialects.Publish(ctx, wh, c.Replacements((&Step{}).Outputs(), stats.Publish)))
	for _, col := range []string{"identifier_value", "profile_id"} {
		if st := dialects.IndexOn(d, c.Schema, GraphTable, col); st != "" {
			require.NoError(t, wh.Exec(ctx, st))
		}
	}
	require.NoError(t, wh.Exec(ctx, "INSERT INTO "+tbl+" (a, b, ts)\n"+incrementSQL(d, edges, inc)))
	require.NoError(t, wh.Exec(ctx, "CHECKPOINT"))
}

// TestIncrSQL runs the whole increment without dropping its work tables,
// then times each statement of the file INCR_SQL (separated by lines of
// ";;"; {w:name} is a work table, {f:name} a final one) INCR_N times.
func TestIncrSQL(t *testing.T) {
	path, file := os.Getenv("INCR_DB"), os.Getenv("INCR_SQL")
	if path == "" || file == "" {
		t.Skip("set INCR_DB and INCR_SQL")
	}
	const edges, inc = 10_000_000, 10_000
	ctx := context.Background()
	wh, err := dialects.Open(ctx, "duckdb", dialects.Config{Path: path})
	require.NoError(t, err)
	defer wh.Close()
	d := wh.Dialect()
	c := harnessContext(d, edges, inc, false)
	steps, err := Steps(c)
	require.NoError(t, err)
	s := steps[0].(*Step)
	r := &runner{s: s}
	_, err = plan.Execute(ctx, wh, c, s.plan(r), func(string) {})
	require.NoError(t, err)
	defer func() {
		_ = wh.Exec(ctx, dialects.DropView(c.Staged(GraphTable)))
		for _, tb := range append(s.Outputs(), deltaTables...) {
			_ = wh.Exec(ctx, d.DropTable(c.Staged(tb)))
		}
	}()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	n, _ := strconv.Atoi(os.Getenv("INCR_N"))
	if n == 0 {
		n = 3
	}
	for _, q := range strings.Split(string(b), "\n;;\n") {
		q = strings.TrimSpace(q)
		if q == "" {
			continue
		}
		for {
			i := strings.Index(q, "{")
			if i < 0 {
				break
			}
			j := strings.Index(q[i:], "}")
			kind, name, _ := strings.Cut(q[i+1:i+j], ":")
			rep := s.w(name)
			if kind == "f" {
				rep = c.Final(name)
			}
			q = q[:i] + rep + q[i+j+1:]
		}
		var walls, cpus []float64
		for k := 0; k < n; k++ {
			cpu0, start := cpuSeconds(), time.Now()
			if strings.HasPrefix(q, "EXPLAIN") || strings.HasPrefix(q, "SELECT") {
				out := lines(t, wh, q)
				if k == n-1 {
					fmt.Println(strings.Join(out, "\n"))
				}
			} else {
				require.NoError(t, wh.Exec(ctx, q), q)
			}
			walls, cpus = append(walls, time.Since(start).Seconds()), append(cpus, cpuSeconds()-cpu0)
		}
		first, _, _ := strings.Cut(q, "\n")
		fmt.Printf("cpu %s | wall %s  %s\n", list(cpus), list(walls), first[:min(len(first), 120)])
	}
}
