//go:build incrharness

package identity

// A harness for the increment's statements on a kept 10M state, not a test:
//
//	INCR_DB=/tmp/x.duckdb go test -tags incrharness -run TestIncrHarness -v -timeout 60m ./engine/identity/
//	INCR_DSN=postgres://… INCR_SCHEMA=name go test -tags incrharness …
//
// The first call builds the state (the benchmark's graph with --rules, its
// full run published, identity_graph indexed, 10,000 links appended); each
// call then runs the increment INCR_N times without publishing it and prints
// every statement's wall and processor time. On PostgreSQL the state is the
// schema INCR_SCHEMA (built when it has no edges table; drop it afterwards),
// and the processor time is the server's: every postgres process's, read
// from /proc (other sessions' work on the same server counts too).

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
	_ "github.com/cohort-cdp/cohort/dialects/postgres"
	"github.com/cohort-cdp/cohort/engine/plan"
)

func harnessContext(d dialects.Dialect, edges, inc int, full bool) *plan.Context {
	return benchContext(d, harnessSchema(), BenchOptions{Edges: edges, Increment: inc, Rules: true}, true, full)
}

func harnessSchema() string {
	if s := os.Getenv("INCR_SCHEMA"); s != "" {
		return s
	}
	return defaultBenchSchema
}

// openHarness opens the kept state: INCR_DB (DuckDB) or INCR_DSN
// (PostgreSQL); fresh tells whether it still has to be built.
func openHarness(t *testing.T) (wh dialects.Warehouse, fresh bool, cpu func() float64) {
	ctx := context.Background()
	if dsn := os.Getenv("INCR_DSN"); dsn != "" {
		wh, err := dialects.Open(ctx, "postgres", dialects.Config{DSN: dsn})
		require.NoError(t, err)
		var n int64
		require.NoError(t, plan.QueryRow(ctx, wh, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'edges'", []any{harnessSchema()}, &n))
		return wh, n == 0, serverCPU
	}
	path := os.Getenv("INCR_DB")
	if path == "" {
		t.Skip("set INCR_DB or INCR_DSN")
	}
	_, statErr := os.Stat(path)
	wh, err := dialects.Open(ctx, "duckdb", dialects.Config{Path: path})
	require.NoError(t, err)
	return wh, statErr != nil, plan.CPUSeconds
}

// serverCPU is the processor time of every postgres process so far: the
// living ones' own, and the postmaster's children that ended (parallel
// workers, closed connections).
func serverCPU() float64 {
	ents, _ := os.ReadDir("/proc")
	ticks := 0.0
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil || !strings.Contains(string(b), "(postgres)") {
			continue
		}
		f := strings.Fields(string(b)[strings.LastIndex(string(b), ")")+2:])
		for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
			if i >= 13 && !isPostmaster(f) {
				continue
			}
			v, _ := strconv.ParseFloat(f[i], 64)
			ticks += v
		}
	}
	return ticks / 100
}

// isPostmaster: a postgres process whose parent is not postgres.
func isPostmaster(f []string) bool {
	b, err := os.ReadFile("/proc/" + f[1] + "/stat")
	return err != nil || !strings.Contains(string(b), "(postgres)")
}

func TestIncrHarness(t *testing.T) {
	const edges, inc = 10_000_000, 10_000
	ctx := context.Background()
	wh, fresh, cpuSeconds := openHarness(t)
	defer wh.Close()
	d := wh.Dialect()
	if fresh {
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
		last := cpuSeconds()
		s.c.Trace.Hook = func(sql string, dur time.Duration, cpu float64) {
			// the processor time since the previous statement: the server's
			// (the Go checks' reads between two statements count with the next)
			now := cpuSeconds()
			cpu, last = now-last, now
			_, body := plan.SplitComment(sql)
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
	schema := harnessSchema()
	for _, s := range append(dialects.Resources(d, "", 0), d.CreateSchema(schema)) {
		require.NoError(t, wh.Exec(ctx, s))
	}
	tbl := d.Quote(schema, "edges")
	gen := "SELECT a, b, CAST('2026-01-01 00:00:00' AS " + d.TypeName(dialects.Timestamp) + ") AS ts FROM (" + generateSQL(d, edges, 1) + ") g"
	require.NoError(t, wh.Exec(ctx, d.CreateTableAs(tbl, gen, false)))
	if !d.Capabilities().MinMaxPruning { // as the benchmark does
		if st := dialects.IndexOn(d, schema, "edges", "ts"); st != "" {
			require.NoError(t, wh.Exec(ctx, st))
		}
	}
	if a := dialects.Analyze(d, tbl); a != "" {
		require.NoError(t, wh.Exec(ctx, a))
	}
	c := harnessContext(d, edges, inc, true)
	steps, err := Steps(c)
	require.NoError(t, err)
	c.Trace = plan.Trace{Mode: "1", Out: os.Stdout}
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
	// no ANALYZE: the benchmark's increment meets the source's statistics of the full run
}

// TestIncrSQL runs the whole increment without dropping its work tables,
// then times each statement of the file INCR_SQL (separated by lines of
// ";;"; {w:name} is a work table, {f:name} a final one, {s:name} a staged
// one) INCR_N times. Every statement commits: an EXPLAIN ANALYZE of a
// DELETE changed the kept PostgreSQL state although a BEGIN preceded it and
// a ROLLBACK followed (time changes of the final tables with psql instead).
func TestIncrSQL(t *testing.T) {
	file := os.Getenv("INCR_SQL")
	if file == "" {
		t.Skip("set INCR_SQL")
	}
	const edges, inc = 10_000_000, 10_000
	ctx := context.Background()
	wh, fresh, cpuSeconds := openHarness(t)
	defer wh.Close()
	if fresh {
		t.Skip("no kept state: run TestIncrHarness first")
	}
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
			switch kind {
			case "f":
				rep = c.Final(name)
			case "s":
				rep = c.Staged(name)
			}
			q = q[:i] + rep + q[i+j+1:]
		}
		var walls, cpus []float64
		for k := 0; k < n; k++ {
			cpu0, start := cpuSeconds(), time.Now()
			if strings.HasPrefix(q, "EXPLAIN") || strings.HasPrefix(q, "SELECT") {
				out := dialecttest.Lines(t, wh, q)
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
