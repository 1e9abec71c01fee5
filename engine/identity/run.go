package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
)

// runner is one execution of the step.
type runner struct {
	s     *Step
	wh    dialects.Warehouse
	d     dialects.Dialect
	p     plan.Progress
	work  []string // work tables to drop at the end
	stats plan.Stats

	phases []phaseTime
	Rounds int
}

type phaseTime struct {
	name string
	dur  time.Duration
}

func (r *runner) exec(ctx context.Context, st plan.Statement) error {
	start := time.Now()
	var cpu float64
	if r.s.trace != nil {
		cpu = cpuSeconds()
	}
	if err := r.wh.Exec(ctx, st.SQL, st.Args...); err != nil {
		return &dialects.StatementError{Def: st.Def, SQL: st.SQL, Err: err}
	}
	if r.s.trace != nil {
		r.s.trace(st.SQL, time.Since(start), cpuSeconds()-cpu)
	}
	return nil
}

// create runs a CREATE TABLE AS of a work table, remembers to drop it, and
// refreshes the planner's statistics where the warehouse needs it.
func (r *runner) create(ctx context.Context, table string, st plan.Statement) error {
	r.work = append(r.work, table)
	if err := r.exec(ctx, plan.Statement{SQL: r.d.DropTable(table)}); err != nil {
		return err
	}
	if err := r.exec(ctx, st); err != nil {
		return err
	}
	return r.analyze(ctx, table)
}

func (r *runner) analyze(ctx context.Context, table string) error {
	if a := dialects.Analyze(r.d, table); a != "" {
		return r.exec(ctx, plan.Statement{SQL: a})
	}
	return nil
}

func (r *runner) drop(ctx context.Context, table string) {
	_ = r.wh.Exec(ctx, r.d.DropTable(table))
}

func (r *runner) count(ctx context.Context, table string) (int64, error) {
	return plan.CountRows(ctx, r.wh, table)
}

func (r *runner) progress(format string, a ...any) {
	if r.p != nil {
		r.p(fmt.Sprintf(format, a...))
	}
}

// phase times f under a name for the Details lines.
func (r *runner) phase(name string, f func() error) error {
	start := time.Now()
	err := f()
	r.phases = append(r.phases, phaseTime{name, time.Since(start)})
	return err
}

// Run resolves identities into the staged tables.
func (s *Step) Run(ctx context.Context, wh dialects.Warehouse, p plan.Progress) (plan.Stats, error) {
	if pin, ok := wh.(dialects.Pinner); ok { // the bulk settings below are session settings on PostgreSQL
		pinned, release, err := pin.Pin(ctx)
		if err != nil {
			return plan.Stats{}, err
		}
		defer release()
		wh = pinned
	}
	r := &runner{s: s, wh: wh, d: s.c.Dialect, p: p, stats: plan.Stats{Rows: map[string]int64{}}}
	defer func() {
		cctx := context.WithoutCancel(ctx)
		for _, t := range r.work {
			r.drop(cctx, t)
		}
	}()
	set, reset := dialects.BulkSettings(r.d)
	for _, st := range set {
		if err := r.exec(ctx, plan.Statement{SQL: st}); err != nil {
			return r.stats, err
		}
	}
	defer func() {
		for _, st := range reset {
			_ = wh.Exec(context.WithoutCancel(ctx), st)
		}
	}()
	err := r.resolve(ctx)
	s.lastRounds, s.lastPhases = r.Rounds, r.phases
	if err != nil {
		return r.stats, err
	}
	return r.stats, nil
}

func (r *runner) resolve(ctx context.Context) error {
	s := r.s
	if err := r.exec(ctx, plan.Statement{SQL: r.d.CreateSchema(s.c.Schema)}); err != nil {
		return err
	}
	for _, st := range s.setup {
		if err := r.exec(ctx, plan.Statement{SQL: st}); err != nil {
			return err
		}
	}
	var why, salt string
	if err := r.phase("state", func() (err error) { why, salt, err = r.incremental(ctx); return err }); err != nil {
		return err
	}
	inc := why == ""
	hubs := len(s.hubRules()) > 0
	if inc {
		if err := r.createOutput(ctx, s.c.Staged(LinksTable), s.linksSQL(true)); err != nil {
			return err
		}
	} else {
		r.stats.Details = append(r.stats.Details, "full rebuild: "+why)
		if !slices.Contains(r.work, s.w("marks")) { // an increment given up on has read them already
			if err := r.create(ctx, s.w("marks"), ctas(r.d, s.w("marks"), s.marksSQL(false))); err != nil {
				return err
			}
		}
		if err := r.phase("encode", func() (err error) { salt, err = r.encode(ctx); return err }); err != nil {
			return err
		}
		if err := r.phase("links", func() error { return r.links(ctx, salt, hubs) }); err != nil {
			return err
		}
	}
	if err := r.phase("components", func() error { return r.components(ctx) }); err != nil {
		return err
	}
	if len(s.limitRules()) > 0 {
		if err := r.phase("limits", func() error { return r.limits(ctx) }); err != nil {
			return err
		}
		if inc {
			if err := r.exec(ctx, s.keptCutLinksSQL()); err != nil {
				return err
			}
		}
	} else if err := r.createOutput(ctx, s.c.Staged(CutLinksTable), s.cutLinksCreateSQL()); err != nil {
		return err
	}
	if err := r.phase("output", func() error { return r.output(ctx, hubs, inc, salt) }); err != nil {
		return err
	}
	return r.summarize(ctx)
}

// encode builds the nodes, retrying with a salted hash when two identifiers
// share a key; it returns the salt that gave unique keys.
func (r *runner) encode(ctx context.Context) (string, error) {
	s := r.s
	for attempt := 0; attempt < 4; attempt++ {
		salt := ""
		if attempt > 0 {
			salt = strconv.Itoa(attempt)
		}
		r.progress("reading %d sources", len(s.srcs))
		if err := r.create(ctx, s.w("nodes"), ctas(r.d, s.w("nodes"), s.nodesSQL(salt))); err != nil {
			return "", err
		}
		var dup int64
		if err := plan.QueryRow(ctx, r.wh, "SELECT count(*) - count(DISTINCT key) FROM "+s.w("nodes"), nil, &dup); err != nil {
			return "", err
		}
		if attempt < s.collisions {
			dup = 1
		}
		if dup == 0 {
			return salt, r.exclude(ctx, s.w("nodes"))
		}
		r.progress("%d identifiers share a 64-bit key: encoding again with a salted hash", dup)
	}
	return "", errors.New("identity: identifiers keep sharing 64-bit keys after 3 salted retries")
}

// exclude moves the identifiers an exclude rule keeps out from nodes (or
// new_nodes) to the excluded table, once the collision check has seen them.
func (r *runner) exclude(ctx context.Context, nodes string) error {
	s := r.s
	if len(s.excludeRules()) == 0 {
		return nil
	}
	if err := r.create(ctx, s.w("excluded"), ctas(r.d, s.w("excluded"), s.excludedSQL(nodes))); err != nil {
		return err
	}
	return r.exec(ctx, s.dropExcludedSQL(nodes, false))
}

// excludeLinks takes the links to excluded identifiers out of edges (or
// new_edges).
func (r *runner) excludeLinks(ctx context.Context, edges string) error {
	if len(r.s.excludeRules()) == 0 {
		return nil
	}
	return r.exec(ctx, r.s.dropExcludedSQL(edges, true))
}

// links builds the deduplicated links and takes junk hubs out.
func (r *runner) links(ctx context.Context, salt string, hubs bool) error {
	s := r.s
	raw := false
	if !hubs && len(s.limitRules()) == 0 {
		var err error
		if raw, err = r.rawLinks(ctx); err != nil {
			return err
		}
	}
	if err := r.create(ctx, s.w("edges"), ctas(r.d, s.w("edges"), s.edgesSQL(salt, !raw))); err != nil {
		return err
	}
	if err := r.excludeLinks(ctx, s.w("edges")); err != nil {
		return err
	}
	if err := r.createOutput(ctx, s.c.Staged(LinksTable), s.linksSQL(false)); err != nil { // before junk hubs leave
		return err
	}
	if !hubs {
		return nil
	}
	if err := r.create(ctx, s.w("hubs"), ctas(r.d, s.w("hubs"), s.hubsSQL(s.w("edges"), s.w("nodes")))); err != nil {
		return err
	}
	for _, st := range s.dropHubsSQL() {
		if err := r.exec(ctx, st); err != nil {
			return err
		}
	}
	if err := r.analyze(ctx, s.w("edges")); err != nil {
		return err
	}
	return r.analyze(ctx, s.w("nodes"))
}

// rawLinks tells whether the links may skip their DISTINCT: only round 1
// reads them (no max_links or limit rule), and round 1's contraction removes
// duplicates anyway. Deduplicating first pays off only when sources repeat
// pairs a lot (an event table carrying the same cookie and user on every
// row), so links stay distinct when the sources' rows could hold more than
// twice as many pairs as there are identifiers.
func (r *runner) rawLinks(ctx context.Context) (bool, error) {
	s := r.s
	nodes, err := r.count(ctx, s.w("nodes"))
	if err != nil {
		return false, err
	}
	marks, err := r.readMarks(ctx)
	if err != nil {
		return false, err
	}
	var pairs int64
	for _, src := range s.srcs {
		n := int64(len(src.Identifiers))
		pairs += marks[src.Name].rows * n * (n - 1) / 2
	}
	return pairs <= 2*nodes, nil
}

// components runs contraction rounds until no link is left, then resolves
// every node's root from the rounds' choices, last round first.
func (r *runner) components(ctx context.Context) error {
	s := r.s
	in := s.w("edges")
	left, err := r.count(ctx, in)
	if err != nil {
		return err
	}
	every := s.ReshuffleAfter
	if every <= 0 {
		every = DefaultReshuffleRounds
	}
	shuffles := 0
	var moves []string // each round's choices
	for round := 1; left > 0; round++ {
		if round > 10000 {
			return errors.New("identity: connected components did not converge in 10000 rounds")
		}
		out := s.w("links" + strconv.Itoa(round))
		var sts []plan.Statement
		tmp := s.w("choice" + strconv.Itoa(round))
		shuffle := round%every == 0
		if shuffle {
			tmp = s.w("shuffle" + strconv.Itoa(round))
			sts = s.reshuffleSQL(in, tmp, out, "r"+strconv.Itoa(round)+":")
		} else {
			sts = s.roundSQL(in, tmp, out)
		}
		r.work = append(r.work, tmp, out)
		for i, st := range sts {
			if err := r.exec(ctx, st); err != nil {
				return err
			}
			if err := r.analyze(ctx, []string{tmp, out}[i]); err != nil {
				return err
			}
		}
		if shuffle {
			var dup int64
			if err := plan.QueryRow(ctx, r.wh, "SELECT count(*) - count(DISTINCT parent) FROM "+tmp, nil, &dup); err != nil {
				return err
			}
			if dup != 0 { // two remaining nodes got the same new key: drop this round, the next is a normal one
				r.drop(ctx, out)
				r.drop(ctx, tmp)
				continue
			}
			shuffles++
		}
		moves = append(moves, tmp)
		if in != s.w("edges") {
			r.drop(ctx, in)
		}
		in = out
		if left, err = r.count(ctx, in); err != nil {
			return err
		}
		r.Rounds = round
		r.progress("round %d: %s links left", round, plan.Thousands(left))
	}
	if in != s.w("edges") {
		r.drop(ctx, in)
	}
	roots := s.w("roots")
	if len(moves) == 0 {
		if err := r.create(ctx, roots, plan.Statement{SQL: r.d.CreateTableAs(roots, "SELECT a AS node, b AS root FROM "+s.w("edges")+" WHERE 1 = 0", true)}); err != nil {
			return err
		}
	}
	prev := ""
	for i := len(moves) - 1; i >= 0; i-- {
		target := roots
		if i > 0 {
			target = s.w("roots" + strconv.Itoa(i+1))
		}
		if err := r.create(ctx, target, s.rootsSQL(moves[i], prev, target)); err != nil {
			return err
		}
		r.drop(ctx, moves[i])
		if prev != "" {
			r.drop(ctx, prev)
		}
		prev = target
	}
	if len(s.limitRules()) == 0 {
		r.drop(ctx, s.w("edges")) // only limits read the links again: free the memory for the output
	}
	r.stats.Details = append(r.stats.Details, fmt.Sprintf("components: %d rounds (%d reshuffles)", r.Rounds, shuffles))
	return nil
}

// output builds the public tables: the plan of outputNodes, as compile prints it.
func (r *runner) output(ctx context.Context, hubs, inc bool, salt string) error {
	r.work = append(r.work, r.s.w("anchors"))
	return r.run(ctx, r.s.outputNodes(hubs, inc, salt))
}

// run executes plan nodes, each statement timed for the trace.
func (r *runner) run(ctx context.Context, nodes []plan.Node) error {
	var wh dialects.Warehouse = r.wh
	if r.s.trace != nil {
		wh = traced{r.wh, r.s.trace}
	}
	return plan.Execute(ctx, wh, r.s.c, nodes, r.p)
}

// traced is a warehouse that tells trace how long each statement took.
type traced struct {
	dialects.Warehouse
	trace func(sql string, d time.Duration, cpu float64)
}

func (t traced) Exec(ctx context.Context, query string, args ...any) error {
	start, cpu := time.Now(), cpuSeconds()
	err := t.Warehouse.Exec(ctx, query, args...)
	t.trace(query, time.Since(start), cpuSeconds()-cpu)
	return err
}

// createOutput builds a staged table (dropped by the executor on failure).
func (r *runner) createOutput(ctx context.Context, table string, st plan.Statement) error {
	if err := r.exec(ctx, plan.Statement{SQL: r.d.DropTable(table)}); err != nil {
		return err
	}
	if err := r.exec(ctx, st); err != nil {
		return err
	}
	return r.analyze(ctx, table)
}

func (r *runner) summarize(ctx context.Context) error {
	c := r.s.c
	for _, t := range []string{GraphTable, LineageTable, RejectionsTable} {
		n, err := r.count(ctx, c.Staged(t))
		if err != nil {
			return err
		}
		r.stats.Rows[t] = n
	}
	if _, inc := c.InPlace[GraphTable]; !inc { // a rebuild's profiles are its anchors; an increment's would need the whole graph read
		profiles, err := r.count(ctx, r.s.w("anchors"))
		if err != nil {
			return err
		}
		r.stats.Rows["profiles"] = profiles
	}
	rows, err := r.wh.Query(ctx, "SELECT rule, count(*) FROM "+c.Staged(RejectionsTable)+" GROUP BY rule ORDER BY rule")
	if err != nil {
		return err
	}
	defer rows.Close()
	line := "rejections:"
	for rows.Next() {
		var rule string
		var n int64
		if err := rows.Scan(&rule, &n); err != nil {
			return err
		}
		line += fmt.Sprintf(" %s %d", rule, n)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if line == "rejections:" {
		line += " none"
	}
	r.stats.Details = append(r.stats.Details, line)
	ph := "seconds:"
	for _, p := range r.phases {
		ph += fmt.Sprintf(" %s %.2f", p.name, p.dur.Seconds())
	}
	r.stats.Details = append(r.stats.Details, ph)
	return nil
}
