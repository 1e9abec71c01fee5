package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// BenchOptions shape `cohort bench identity`.
type BenchOptions struct {
	Edges       int    // links in the generated graph (default 1,000,000)
	Seed        int64  // varies the random part of the graph
	MemoryLimit string // embedded warehouse's memory cap, e.g. "2GB"; beyond it work spills to disk
	Threads     int    // embedded warehouse's threads; 0: all cores
	Check       bool   // compare the partition with an in-memory union-find (and time it)
	// Increment, when above 0, appends that many links after the first run
	// (half joining two small components, half adding a new identifier) and
	// resolves them with an incremental run, checked the same way.
	Increment int
	// Timestamped gives the generated source a timestamp column (always
	// so with Increment), as a source read incrementally has: nodes then
	// carry first and last seen times.
	Timestamped bool
	// Rules adds a max_links and a limit rule set above anything the graph
	// reaches: the partition stays union-find's, but the runs keep and read
	// the state those rules need (_identity_links, _identity_components).
	Rules bool
	// Schema holds the generated table and the run's output (default
	// cohort_bench): two benchmarks sharing a PostgreSQL database need two.
	Schema string
	// Trace is COHORT_BENCH_TRACE: "" off, "sql" whole statements, else
	// the first line of each slow statement.
	Trace string
}

// BenchIncrement is what the incremental run measured.
type BenchIncrement struct {
	Links   int64    `json:"links"`
	Seconds float64  `json:"seconds"` // the run, without the swap
	CPU     float64  `json:"cpu_seconds"`
	Swap    float64  `json:"swap_seconds"` // the swap: identity_graph's changes applied in place
	Details []string `json:"details"`      // the step's lines: how many profiles it resolved again
	Correct bool     `json:"correct"`
}

// BenchPhase is the time one phase took.
type BenchPhase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// BenchReport is what the benchmark measured.
type BenchReport struct {
	Warehouse   string       `json:"warehouse"`
	Edges       int64        `json:"edges"`
	Identifiers int64        `json:"identifiers"`
	Profiles    int64        `json:"profiles"`
	Rounds      int          `json:"rounds"`
	Generate    float64      `json:"generate_seconds"` // building the input table, not part of resolution
	Resolve     float64      `json:"resolve_seconds"`  // strings in, identity_graph out
	Phases      []BenchPhase `json:"phases"`
	// CPU is the processor time this process spent resolving (user + system,
	// all threads): for an embedded warehouse a figure that other load on the
	// machine does not inflate.
	CPU float64 `json:"cpu_seconds"`
	// PeakRSS is this process's peak resident memory during resolution
	// (the embedded warehouse lives in it); WarehouseMemory the most the
	// warehouse itself reported holding (0 when it does not report it).
	PeakRSS         int64           `json:"peak_rss_bytes"`
	WarehouseMemory int64           `json:"warehouse_memory_bytes"`
	Checked         bool            `json:"checked"`
	UnionFind       float64         `json:"union_find_seconds"` // interning strings + union-find, in memory
	UnionFindCPU    float64         `json:"union_find_cpu_seconds"`
	UnionFindRuns   []float64       `json:"union_find_runs_seconds"` // both runs; UnionFind is the faster
	Ratio           float64         `json:"ratio_to_union_find"`
	Correct         bool            `json:"correct"`
	Increment       *BenchIncrement `json:"increment,omitempty"`
}

const defaultBenchSchema = "cohort_bench"

// Bench generates a graph inside the warehouse, resolves it through the
// same step as a run, and (with Check) compares it with a union-find.
func Bench(ctx context.Context, wh dialects.Warehouse, o BenchOptions, out io.Writer) (*BenchReport, error) {
	if o.Edges <= 0 {
		o.Edges = 1_000_000
	}
	if out == nil {
		out = io.Discard
	}
	benchSchema := o.Schema
	if benchSchema == "" {
		benchSchema = defaultBenchSchema
	}
	d := wh.Dialect()
	rep := &BenchReport{Warehouse: d.Name()}
	for _, s := range dialects.Resources(d, o.MemoryLimit, o.Threads) {
		if err := wh.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", s, err)
		}
	}
	if err := wh.Exec(ctx, d.CreateSchema(benchSchema)); err != nil {
		return nil, err
	}
	edges := d.Quote(benchSchema, "edges")
	defer wh.Exec(context.WithoutCancel(ctx), d.DropTable(edges))

	fmt.Fprintf(out, "generating %d links in %s ...\n", o.Edges, d.Name())
	start := time.Now()
	if err := wh.Exec(ctx, d.DropTable(edges)); err != nil {
		return nil, err
	}
	gen := generateSQL(d, o.Edges, o.Seed)
	timed := o.Timestamped || o.Increment > 0 // an increment's rows are the newer ones
	if timed {
		gen = "SELECT a, b, CAST('2026-01-01 00:00:00' AS " + d.TypeName(dialects.Timestamp) + ") AS ts FROM (" + gen + ") g"
	}
	if err := wh.Exec(ctx, d.CreateTableAs(edges, gen, false)); err != nil {
		return nil, fmt.Errorf("bench: generate: %w", err)
	}
	if timed && !d.Capabilities().MinMaxPruning {
		// as a data engineer indexes a source read incrementally where a scan
		// cannot skip the older rows (docs/project-format.md, "sources")
		if st := dialects.IndexOn(d, benchSchema, "edges", "ts"); st != "" {
			if err := wh.Exec(ctx, st); err != nil {
				return nil, fmt.Errorf("bench: index: %w", err)
			}
		}
	}
	if a := dialects.Analyze(d, edges); a != "" {
		if err := wh.Exec(ctx, a); err != nil {
			return nil, err
		}
	}
	rep.Generate = time.Since(start).Seconds()
	rep.Edges = int64(o.Edges)
	fmt.Fprintf(out, "generated in %.1f s\n", rep.Generate)

	c := benchContext(d, benchSchema, o, timed, true)
	steps, err := Steps(c)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, t := range steps[0].Outputs() {
			_ = wh.Exec(context.WithoutCancel(ctx), d.DropTable(c.Staged(t)))
			_ = wh.Exec(context.WithoutCancel(ctx), d.DropTable(c.Final(t)))
		}
	}()

	// memory: reset this process's peak, and sample what the warehouse reports
	runtime.GC()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if q := dialects.MemoryUsage(d); q != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				var m int64
				if plan.QueryRow(ctx, wh, q, nil, &m) == nil && m > rep.WarehouseMemory {
					rep.WarehouseMemory = m
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	}
	cpu0 := plan.CPUSeconds()
	start = time.Now()
	step := steps[0].(*Step)
	c.Trace = benchTrace(out, o.Trace)
	stats, err := step.Run(ctx, wh, func(msg string) { fmt.Fprintf(out, "  %6.1fs  %s\n", time.Since(start).Seconds(), msg) })
	rep.Resolve = time.Since(start).Seconds()
	rep.CPU = plan.CPUSeconds() - cpu0
	close(stop)
	wg.Wait()
	rep.PeakRSS = plan.PeakRSS("self")
	if err != nil {
		return nil, err
	}
	rep.Identifiers = stats.Rows[GraphTable]
	rep.Profiles = stats.Rows["profiles"]
	rep.Rounds = step.lastRounds
	for _, ph := range step.lastPhases {
		rep.Phases = append(rep.Phases, BenchPhase{ph.Name, ph.Dur.Seconds()})
	}
	if o.Check {
		if err := benchCheck(ctx, wh, c, edges, rep, out); err != nil {
			return rep, err
		}
	}
	rep.print(out)
	if o.Increment > 0 {
		if rep.Increment, err = benchIncrement(ctx, wh, c, stats.Publish, o, edges, out); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// benchIncrement swaps the first run's tables in, appends the increment's
// links and resolves them with an incremental run.
func benchIncrement(ctx context.Context, wh dialects.Warehouse, c *plan.Context, pubs []plan.Publish, o BenchOptions, edges string, out io.Writer) (*BenchIncrement, error) {
	d := c.Dialect
	if err := dialects.Publish(ctx, wh, c.Replacements((&Step{}).Outputs(), pubs)); err != nil {
		return nil, err
	}
	// a run's index step indexes identity_graph for look-ups once it is
	// published (engine's lookupIndexes): the increment meets those indexes
	start := time.Now()
	for _, col := range []string{"identifier_value", "profile_id"} {
		if st := dialects.IndexOn(d, c.Schema, GraphTable, col); st != "" {
			if err := wh.Exec(ctx, st); err != nil {
				return nil, fmt.Errorf("bench: index: %w", err)
			}
		}
	}
	fmt.Fprintf(out, "indexed identity_graph as a run's index step does: %.1f s\n", time.Since(start).Seconds())
	if err := wh.Exec(ctx, "INSERT INTO "+edges+" (a, b, ts)\n"+incrementSQL(d, o.Edges, o.Increment)); err != nil {
		return nil, fmt.Errorf("bench: increment: %w", err)
	}
	next := *c
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	next.RunID, next.FullRefresh = hex.EncodeToString(b), false
	steps, err := Steps(&next)
	if err != nil {
		return nil, err
	}
	defer func() { // what is left when the run or its check fails
		_ = wh.Exec(context.WithoutCancel(ctx), dialects.DropView(next.Staged(GraphTable)))
		for _, t := range append(steps[0].Outputs(), deltaTables...) {
			_ = wh.Exec(context.WithoutCancel(ctx), d.DropTable(next.Staged(t)))
		}
	}()
	next.Trace = benchTrace(out, o.Trace)
	fmt.Fprintf(out, "\nappended %s links; incremental run ...\n", plan.Thousands(int64(o.Increment)))
	cpu0 := plan.CPUSeconds()
	start = time.Now()
	stats, err := steps[0].Run(ctx, wh, func(msg string) { fmt.Fprintf(out, "  %6.1fs  %s\n", time.Since(start).Seconds(), msg) })
	if err != nil {
		return nil, err
	}
	inc := &BenchIncrement{Links: int64(o.Increment), Seconds: time.Since(start).Seconds(), CPU: plan.CPUSeconds() - cpu0, Details: stats.Details}
	fmt.Fprintf(out, "incremental run: %.2f s (cpu %.2f s)\n  %s\n", inc.Seconds, inc.CPU, strings.Join(stats.Details, "\n  "))
	if o.Check {
		rep := &BenchReport{Edges: int64(o.Edges + o.Increment)}
		err := benchCheck(ctx, wh, &next, edges, rep, out)
		inc.Correct = rep.Correct
		if err != nil {
			return inc, err
		}
		fmt.Fprintf(out, "  partition         identical to union-find\n")
	}
	start = time.Now()
	if err := dialects.Publish(ctx, wh, next.Replacements(steps[0].Outputs(), stats.Publish)); err != nil {
		return inc, err
	}
	inc.Swap = time.Since(start).Seconds()
	fmt.Fprintf(out, "  swap              %.2f s (identity_graph's changes applied in place)\n", inc.Swap)
	return inc, nil
}

// benchTrace is the benchmark's trace (BenchOptions.Trace); it also says
// when a statement raised the process's peak resident memory.
func benchTrace(out io.Writer, mode string) plan.Trace {
	t := plan.Trace{Mode: mode, Out: out}
	if mode == "" {
		return t
	}
	var peak int64
	return plan.Trace{Hook: func(sql string, d time.Duration, cpu float64) {
		t.Report(sql, d, cpu)
		if p := plan.PeakRSS("self"); p > peak+32<<20 {
			peak = p
			fmt.Fprintf(out, "           peak memory now %s\n", mib(p))
		}
	}}
}

// incrementSQL: m new links, newer than the generated ones. Each starts at an
// identifier of the 4-cycles part and goes to another one there (two
// profiles merge) or, every other link, to a new identifier.
func incrementSQL(d dialects.Dialect, n, m int) string {
	s1, s2 := int64(float64(n)*0.30), int64(float64(n)*0.55)
	o2 := (s1/(benchChain-1) + 1) * benchChain // first node of the cycles
	text := d.TypeName(dialects.Text)
	return fmt.Sprintf(`SELECT 'user' || CAST(%[1]d + (i * 7919) %% %[2]d AS %[3]s) || '@mail.test',
  CASE WHEN i %% 2 = 0 THEN 'user' || CAST(%[1]d + (i * 104729 + 13) %% %[2]d AS %[3]s) ELSE 'new' || CAST(i AS %[3]s) END || '@mail.test',
  CAST('2026-01-02 00:00:00' AS %[4]s)
FROM (SELECT CAST(g.i AS BIGINT) AS i FROM generate_series(1, %[5]d) AS g(i)) series`, o2, s2-s1, text, d.TypeName(dialects.Timestamp), m)
}

// benchChain is the length of the generated graph's chains.
const benchChain = 20000

// generateSQL builds N links over about 0.8·N identifiers: 30% long chains
// (20,000 identifiers each), 25% small components (cycles of 4), 10% stars
// (1,000 leaves), 10% cliques of 10, 25% one random giant component.
func generateSQL(d dialects.Dialect, n int, seed int64) string {
	f := func(x float64) int64 { return int64(float64(n) * x) }
	s1, s2, s3, s4 := f(0.30), f(0.55), f(0.65), f(0.75)
	const chainLen, starLeaves = benchChain, 1000
	div := func(x string, y int64) string {
		return fmt.Sprintf("CAST(((%s) - (%s) %% %d) / %d AS BIGINT)", x, x, y, y)
	}
	// node number offsets of each part
	o2 := (s1/(chainLen-1) + 1) * chainLen
	o3 := o2 + (s2 - s1) + 4
	o4 := o3 + ((s3-s2)/starLeaves+1)*(starLeaves+1)
	o5 := o4 + ((s4-s3)/90+1)*10
	g := max(f(0.139), 2)
	if seed < 0 {
		seed = -seed
	}
	seed %= 1_000_000_007
	j := func(from int64) string { return fmt.Sprintf("(i - %d)", from) }
	a := fmt.Sprintf(`CASE
      WHEN i < %[1]d THEN %[6]s * %[7]d + i %% %[8]d
      WHEN i < %[2]d THEN %[9]d + %[10]s * 4 + %[11]s %% 4
      WHEN i < %[3]d THEN %[12]d + %[13]s * %[14]d
      WHEN i < %[4]d THEN %[15]d + %[16]s * 10 + %[17]s
      ELSE %[18]d + (i * 2654435761 + %[19]d) %% %[20]d END`,
		s1, s2, s3, s4, 0,
		div("i", chainLen-1), chainLen, chainLen-1,
		o2, div(j(s1), 4), j(s1),
		o3, div(j(s2), starLeaves), starLeaves+1,
		o4, div(j(s3), 90), div(j(s3)+" % 90", 9),
		o5, seed, g)
	b := fmt.Sprintf(`CASE
      WHEN i < %[1]d THEN %[6]s * %[7]d + i %% %[8]d + 1
      WHEN i < %[2]d THEN %[9]d + %[10]s * 4 + (%[11]s + 1) %% 4
      WHEN i < %[3]d THEN %[12]d + %[13]s * %[14]d + 1 + %[15]s %% %[16]d
      WHEN i < %[4]d THEN %[17]d + %[18]s * 10 + (%[19]s %% 9 + 1 + %[20]s) %% 10
      ELSE %[21]d + ((i * i) %% 1000000007 * 40503 + %[22]d) %% %[23]d END`,
		s1, s2, s3, s4, 0,
		div("i", chainLen-1), chainLen, chainLen-1,
		o2, div(j(s1), 4), j(s1),
		o3, div(j(s2), starLeaves), starLeaves+1, j(s2), starLeaves,
		o4, div(j(s3), 90), j(s3), div(j(s3)+" % 90", 9),
		o5, (seed*7919)%1_000_003, g)
	text := d.TypeName(dialects.Text)
	return fmt.Sprintf(`SELECT 'user' || CAST(a AS %[1]s) || '@mail.test' AS a, 'user' || CAST(b AS %[1]s) || '@mail.test' AS b
FROM (
  SELECT
    %[2]s AS a,
    %[3]s AS b
  FROM (SELECT CAST(g.i AS BIGINT) AS i FROM generate_series(0, %[4]d) AS g(i)) series
) nodes`, text, a, b, n-1)
}

// benchContext is the benchmark's project in a run's context: one
// identifier type read from the two columns of schema.edges, its timestamp
// ts when timed, and with o.Rules a max_links and a limit above anything the
// graph reaches.
func benchContext(d dialects.Dialect, schema string, o BenchOptions, timed, full bool) *plan.Context {
	p := &models.Project{Name: "bench",
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{{Type: "user"}}},
		Sources: []*models.Source{{Name: "bench_edges", Table: schema + ".edges",
			Identifiers: []*models.SourceIdentifier{{Type: "user", Column: "a"}, {Type: "user", Column: "b"}}}},
	}
	if timed {
		p.Sources[0].Timestamp = "ts"
	}
	if o.Rules { // no identifier has more neighbours, no component more identifiers, than twice the links
		high := 2*(o.Edges+o.Increment) + 1
		p.Identity.Identifiers[0].MaxLinks, p.Identity.Identifiers[0].Limit = high, high
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &plan.Context{Project: p, Dialect: d, Schema: schema, Now: time.Now(), Loc: time.Local, RunID: hex.EncodeToString(b), FullRefresh: full, Building: map[string]bool{}}
}

// benchCheck reads the links, times an in-memory union-find over them
// (string interning included) and compares its partition with identity_graph.
func benchCheck(ctx context.Context, wh dialects.Warehouse, c *plan.Context, edges string, rep *BenchReport, out io.Writer) error {
	fmt.Fprintf(out, "checking against an in-memory union-find ...\n")
	rows, err := wh.Query(ctx, "SELECT a, b FROM "+edges)
	if err != nil {
		return err
	}
	pairs := make([]string, 0, 2*rep.Edges)
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			rows.Close()
			return err
		}
		pairs = append(pairs, a, b)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	// The union-find runs twice and counts its faster run. Its first run's
	// time depended on the state of this process's heap, not on the
	// algorithm: 3.3 s or 4.5-5.2 s from one run of the bench to the next
	// on one machine, and whether a collection of the garbage reading the
	// rows left fell inside it (so each run starts after one).
	var uf *StringUnionFind
	for run := range 2 {
		uf = nil
		runtime.GC()
		start, cpu0 := time.Now(), plan.CPUSeconds()
		uf = NewStringUnionFind(int(rep.Edges))
		for i := 0; i < len(pairs); i += 2 {
			uf.Link(pairs[i], pairs[i+1])
		}
		t, cpu := time.Since(start).Seconds(), plan.CPUSeconds()-cpu0
		rep.UnionFindRuns = append(rep.UnionFindRuns, t)
		if run == 0 || t < rep.UnionFind {
			rep.UnionFind, rep.UnionFindCPU = t, cpu
		}
	}
	rep.Ratio = rep.Resolve / rep.UnionFind
	rep.Checked = true
	pairs = nil

	rows, err = wh.Query(ctx, "SELECT identifier_value, profile_id FROM "+c.Staged(GraphTable))
	if err != nil {
		return err
	}
	byRoot := make(map[int32]string)
	seen := make(map[string]int32)
	n := 0
	bad := ""
	for rows.Next() {
		var v, p string
		if err := rows.Scan(&v, &p); err != nil {
			rows.Close()
			return err
		}
		n++
		i, ok := uf.Lookup(v)
		if !ok {
			bad = "identifier " + v + " is not in the links"
			break
		}
		root := uf.Find(i)
		if q, ok := byRoot[root]; ok && q != p {
			bad = "component of " + v + " split over " + q + " and " + p
			break
		}
		byRoot[root] = p
		if r, ok := seen[p]; ok && r != root {
			bad = "profile " + p + " joins two components"
			break
		}
		seen[p] = root
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if bad == "" && n != len(uf.Names) {
		bad = fmt.Sprintf("identity_graph has %d identifiers, the links %d", n, len(uf.Names))
	}
	if bad == "" && rep.Profiles > 0 && rep.Profiles != int64(len(seen)) { // a rebuild reports its profiles
		bad = fmt.Sprintf("the run counted %d profiles, identity_graph holds %d", rep.Profiles, len(seen))
	}
	rep.Correct = bad == ""
	if bad != "" {
		return fmt.Errorf("bench: the partition differs from union-find: %s", bad)
	}
	return nil
}

func (r *BenchReport) print(out io.Writer) {
	fmt.Fprintf(out, "\nidentity resolution on %s: %s links, %s identifiers, %s profiles\n",
		r.Warehouse, plan.Thousands(r.Edges), plan.Thousands(r.Identifiers), plan.Thousands(r.Profiles))
	fmt.Fprintf(out, "  rounds            %d\n", r.Rounds)
	for _, p := range r.Phases {
		fmt.Fprintf(out, "  %-17s %.2f s\n", p.Name, p.Seconds)
	}
	fmt.Fprintf(out, "  total             %.2f s (strings in, identity_graph out)\n", r.Resolve)
	fmt.Fprintf(out, "  cpu time          %.2f s in this process (%d cores)\n", r.CPU, runtime.NumCPU())
	fmt.Fprintf(out, "  peak memory       %s (this process)", mib(r.PeakRSS))
	if r.WarehouseMemory > 0 {
		fmt.Fprintf(out, ", warehouse reported %s at most", mib(r.WarehouseMemory))
	}
	fmt.Fprintln(out)
	if r.Checked {
		fmt.Fprintf(out, "  union-find        %.2f s, cpu %.2f s (in memory, string interning included; the faster of %s)\n", r.UnionFind, r.UnionFindCPU, seconds(r.UnionFindRuns))
		fmt.Fprintf(out, "  ratio             %.2fx union-find\n", r.Ratio)
		fmt.Fprintf(out, "  partition         %s\n", map[bool]string{true: "identical to union-find", false: "DIFFERS from union-find"}[r.Correct])
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// seconds lists durations as "3.30 and 4.52 s".
func seconds(t []float64) string {
	s := make([]string, len(t))
	for i, v := range t {
		s[i] = fmt.Sprintf("%.2f", v)
	}
	return strings.Join(s, " and ") + " s"
}
