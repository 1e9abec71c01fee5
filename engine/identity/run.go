package identity

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
)

// runner is what one execution of the step's plan keeps for its Go parts
// (the checks, the refinement of clusters over a limit) and its summary.
type runner struct {
	s        *Step
	marks    map[string]mark // the marks, once read
	fresh    int64           // the new rows an increment reads
	shuffles int             // reshuffles kept
	over     int64           // clusters over a limit
	details  []string        // the limits' line
}

// Run resolves identities into the staged tables: it executes Plan.
func (s *Step) Run(ctx context.Context, wh dialects.Warehouse, p plan.Progress) (plan.Stats, error) {
	if pin, ok := wh.(dialects.Pinner); ok { // the bulk settings are session settings on PostgreSQL
		pinned, release, err := pin.Pin(ctx)
		if err != nil {
			return plan.Stats{}, err
		}
		defer release()
		wh = pinned
	}
	d := s.c.Dialect
	_, reset := dialects.BulkSettings(d)
	defer func() {
		for _, st := range reset {
			_ = wh.Exec(context.WithoutCancel(ctx), st)
		}
	}()
	r := &runner{s: s}
	run, err := plan.Execute(ctx, wh, s.c, s.plan(r), p)
	defer s.dropWork(context.WithoutCancel(ctx), wh, run.Int("r"))
	s.lastRounds, s.lastPhases = run.Int("r"), run.Phases
	if err != nil {
		return plan.Stats{}, err
	}
	return r.summarize(ctx, wh, run)
}

// workTables are the scratch tables of the plan; the rounds' moves_1 ...
// come on top.
var workTables = []string{"marks", "salt", "nodes", "new_nodes", "known", "seen", "excluded", "edges", "new_edges", "hubs", "touched", "touched_links", "hub_links", "hubs_touched",
	"affected", "old", "links_a", "links_b", "roots", "roots_b", "roots_none", "violators", "over_keys", "refined", "anchors"}

// dropWork drops the scratch tables of a run that went rounds rounds.
func (s *Step) dropWork(ctx context.Context, wh dialects.Warehouse, rounds int) {
	for _, t := range workTables {
		_ = wh.Exec(ctx, s.c.Dialect.DropTable(s.w(t)))
	}
	for i := 1; i <= rounds; i++ {
		_ = wh.Exec(ctx, s.c.Dialect.DropTable(s.w("moves_"+strconv.Itoa(i))))
	}
}

// Plan is the step's plan: what Run executes and SQL prints.
func (s *Step) Plan() []plan.Node { return s.plan(&runner{s: s}) }

// plan is the step's plan, its Go parts working on r.
func (s *Step) plan(r *runner) []plan.Node {
	d := s.c.Dialect
	var nodes []plan.Node
	set, _ := dialects.BulkSettings(d)
	if len(set) > 0 {
		nodes = append(nodes, plan.Note{Text: "settings for large builds (put back at the end)"})
	}
	for _, st := range set {
		nodes = append(nodes, exec(st))
	}
	nodes = append(nodes, exec(d.CreateSchema(s.c.Schema)))
	for _, st := range s.setup {
		nodes = append(nodes, exec(st))
	}
	nodes = append(nodes, plan.Try{
		Doc: "extend the previous run: when its state (" + StateTable + ", " + LinksTable + ", " + ComponentsTable + ") is usable and\n" +
			"every source only gained rows from its watermark on, read the new rows alone and resolve again only the\n" +
			"previous profiles they touch",
		Body:      []plan.Node{plan.Phase{Name: "state", Body: s.incrementPlan(r)}},
		Otherwise: s.rebuildPlan(r),
	})
	nodes = append(nodes, plan.Phase{Name: "components", Body: s.componentsPlan(r)})
	if len(s.limitRules()) > 0 {
		nodes = append(nodes, plan.Phase{Name: "limits", Body: s.limitsPlan(r)},
			plan.If{Doc: "the run is incremental", Cond: plan.VarIs("incremental", "yes"), Then: []plan.Node{plan.Exec{Statement: s.keptCutLinksSQL()}}})
	} else {
		nodes = append(nodes, s.created(s.c.Staged(CutLinksTable), s.cutLinksCreateSQL())...)
	}
	hubs := len(s.hubRules()) > 0
	return append(nodes, plan.Phase{Name: "output", Body: []plan.Node{plan.If{
		Doc:  "the run is incremental: the profiles resolved again replace theirs, the others stay",
		Cond: plan.VarIs("incremental", "yes"),
		Then: s.outputNodes(hubs, true),
		Else: s.outputNodes(hubs, false),
	}}})
}

func exec(sql string) plan.Node { return plan.Exec{Statement: plan.Statement{SQL: sql}} }

// saltValues are the key salts a rebuild tries in turn: unsalted, then
// salted after two identifiers shared a key.
var saltValues = []string{"", "1", "2", "3"}

// rebuildPlan reads every source row: marks (unless the abandoned increment
// read them), nodes with unique keys, links.
func (s *Step) rebuildPlan(r *runner) []plan.Node {
	d := s.c.Dialect
	nodes := []plan.Node{plan.If{
		Doc: "the increment did not read the marks already", Cond: func(context.Context, *plan.Run) (bool, error) { return r.marks == nil, nil },
		Then: s.created(s.w("marks"), ctas(d, s.w("marks"), s.marksSQL(false))),
	}}
	q := &plan.Builder{}
	q.W("-- the key salt of this attempt\n", d.CreateTableAs(s.w("salt"), "SELECT CAST("+q.Arg(plan.Var("salt"))+" AS "+d.TypeName(dialects.Text)+") AS salt", true))
	encode := s.created(s.w("salt"), q.Statement(d))
	st := ctas(d, s.w("nodes"), s.nodesSQL(false))
	st.Def = "sources " + s.sourceNames()
	encode = append(encode, s.created(s.w("nodes"), st)...)
	encode = append(encode, plan.Go{Doc: "abandon this attempt when two identifiers share a key", Reads: s.keysShared(), Run: r.checkKeys})
	encode = append(encode, s.keysSQL()...)
	encode = append(encode, s.exclude(s.w("nodes"))...)
	nodes = append(nodes, plan.Phase{Name: "encode", Body: []plan.Node{plan.Retry{
		Doc: "nodes with unique keys: when two identifiers share a key the hash is salted ('1' || type:value, then '2' ...)",
		Var: "salt", Values: saltValues, Body: encode,
	}}})
	return append(nodes, plan.Phase{Name: "links", Body: s.linksPlan(r)})
}

// linksPlan builds the deduplicated links and takes junk hubs out.
func (s *Step) linksPlan(r *runner) []plan.Node {
	d := s.c.Dialect
	edges := func(distinct bool) []plan.Node {
		return s.created(s.w("edges"), ctas(d, s.w("edges"), s.edgesSQL(false, distinct)))
	}
	hubs := len(s.hubRules()) > 0
	var nodes []plan.Node
	if !hubs && len(s.limitRules()) == 0 {
		nodes = []plan.Node{plan.If{
			Doc: "the sources' rows could hold more than twice as many pairs as there are identifiers (by marks and nodes);\n" +
				"otherwise the links keep their duplicates, which round 1's contraction removes (only round 1 reads them)",
			Cond: r.distinctLinks, Then: edges(true), Else: edges(false)}}
	} else {
		nodes = edges(true)
	}
	nodes = append(nodes, s.excludeLinks(s.w("edges"))...)
	nodes = append(nodes, s.hinted(s.c.Staged(LinksTable), s.linksSQL(false), linksShare, "a", "b")...) // before junk hubs leave
	if s.keepLinks() {
		nodes = append(nodes, s.stateIndexes(LinksTable, "a", "b")...)
	}
	if !hubs {
		return nodes
	}
	nodes = append(nodes, s.created(s.w("hubs"), ctas(d, s.w("hubs"), s.hubsSQL(s.w("edges"), s.w("nodes"))))...)
	for _, st := range s.dropHubsSQL() {
		nodes = append(nodes, plan.Exec{Statement: st})
	}
	return append(append(nodes, s.analyze(s.w("edges"))...), s.analyze(s.w("nodes"))...)
}

// exclude moves the identifiers an exclude rule keeps out from nodes (or
// new_nodes) to the excluded table, once the key check has seen them.
func (s *Step) exclude(nodes string) []plan.Node {
	if len(s.excludeRules()) == 0 {
		return nil
	}
	return append(s.created(s.w("excluded"), ctas(s.c.Dialect, s.w("excluded"), s.excludedSQL(nodes))), plan.Exec{Statement: s.dropExcludedSQL(nodes, false)})
}

// excludeLinks takes the links to excluded identifiers out of edges (or
// new_edges).
func (s *Step) excludeLinks(edges string) []plan.Node {
	if len(s.excludeRules()) == 0 {
		return nil
	}
	return []plan.Node{plan.Exec{Statement: s.dropExcludedSQL(edges, true)}}
}

// Shares of distinct values the planner is told where its sample misleads
// it (dialects.DistinctHinter): a profile holds a handful of identifiers
// (12.6 on the 10M benchmark graph, 4.3 on the demo), and an identifier
// is an end of a few links (1.8 on the benchmark graph). A sample of a
// graph with one giant cluster and stars saw a tenth of them; an increment
// then scanned identity_graph and the links instead of looking the
// affected profiles and their identifiers' links up.
const (
	profileShare = 0.1
	linksShare   = 0.5
)

// hinted builds a table as created does, telling the planner the share of
// distinct values of some of its columns before their statistics are read.
// Without columns it is created.
func (s *Step) hinted(table string, st plan.Statement, share float64, cols ...string) []plan.Node {
	nodes := []plan.Node{exec(s.c.Dialect.DropTable(table)), plan.Exec{Statement: st}}
	for _, col := range cols {
		if h := dialects.DistinctShare(s.c.Dialect, table, col, share); h != "" {
			nodes = append(nodes, exec(h))
		}
	}
	return append(nodes, s.analyze(table)...)
}

// analyze refreshes a table's planner statistics where the warehouse needs it.
func (s *Step) analyze(table string) []plan.Node {
	if a := dialects.Analyze(s.c.Dialect, table); a != "" {
		return []plan.Node{exec(a)}
	}
	return nil
}

func (s *Step) sourceNames() string {
	var names []string
	for _, src := range s.srcs {
		names = append(names, src.Name)
	}
	return strings.Join(names, ", ")
}

func (s *Step) keysShared() string {
	return "SELECT count(*) - count(DISTINCT key) FROM " + s.w("nodes")
}

// checkKeys abandons the attempt when two identifiers share a key.
func (r *runner) checkKeys(ctx context.Context, run *plan.Run) error {
	var dup int64
	if err := plan.QueryRow(ctx, run.WH, r.s.keysShared(), nil, &dup); err != nil {
		return err
	}
	if slices.Index(saltValues, run.Var("salt")) < r.s.collisions {
		dup = 1
	}
	if dup == 0 {
		return nil
	}
	run.Say("%d identifiers share a 64-bit key: encoding again with a salted hash", dup)
	return &plan.Abandoned{Why: fmt.Sprintf("%d identifiers share a 64-bit key", dup)}
}

// distinctLinks tells whether the links keep their DISTINCT: only round 1
// reads them (no max_links or limit rule), and round 1's contraction removes
// duplicates anyway. Deduplicating first pays off only when sources repeat
// pairs a lot (an event table carrying the same cookie and user on every
// row), so links stay distinct when the sources' rows could hold more than
// twice as many pairs as there are identifiers.
func (r *runner) distinctLinks(ctx context.Context, run *plan.Run) (bool, error) {
	s := r.s
	nodes, err := plan.CountRows(ctx, run.WH, s.w("nodes"))
	if err != nil {
		return false, err
	}
	if r.marks == nil {
		if r.marks, err = s.readMarks(ctx, run.WH); err != nil {
			return false, err
		}
	}
	var pairs int64
	for _, src := range s.srcs {
		n := int64(len(src.Identifiers))
		pairs += r.marks[src.Name].rows * n * (n - 1) / 2
	}
	return pairs > 2*nodes, nil
}

// componentsPlan runs contraction rounds until no link is left, then
// resolves every node's root from the rounds' choices, last round first.
func (s *Step) componentsPlan(r *runner) []plan.Node {
	d := s.c.Dialect
	every := s.ReshuffleAfter
	if every <= 0 {
		every = DefaultReshuffleRounds
	}
	moves := s.w("moves_{r}")
	shuffle := append(s.reshuffleSQL(moves), s.analyze(moves)...)
	shuffle = append(shuffle, exec(d.DropTable("{out}")))
	shuffle = append(shuffle, s.reshuffledSQL(moves)...)
	shuffle = append(shuffle, s.analyze("{out}")...)
	shuffle = append(shuffle, plan.If{
		Doc: "two remaining nodes got the same new key (" + s.shuffleClashes(moves) + " is not 0):\n" +
			"the round is undone (no moves, its links carried over as they were) and the next one is a normal round",
		Cond: func(ctx context.Context, run *plan.Run) (bool, error) {
			var dup int64
			if err := plan.QueryRow(ctx, run.WH, run.Expand(s.shuffleClashes(moves)), nil, &dup); err != nil {
				return false, err
			}
			if dup == 0 {
				r.shuffles++
			}
			return dup != 0, nil
		},
		Then: []plan.Node{
			exec(d.DropTable("{out}")), exec(d.CreateTableAs("{out}", "SELECT a, b FROM {in}", true)),
			exec(d.DropTable(moves)), exec(d.CreateTableAs(moves, "SELECT a AS node, b AS parent FROM {in} WHERE 1 = 0", true)),
		},
	})
	round := append(s.roundChoiceSQL(moves), s.analyze(moves)...)
	round = append(round, exec(d.DropTable("{out}")))
	round = append(round, s.roundContractSQL(moves)...)
	round = append(round, s.analyze("{out}")...)
	nodes := []plan.Node{plan.Loop{
		Doc: "connected components: in round {r} every node takes the smallest key among itself and its neighbours (its\n" +
			"choice kept in moves_{r}), and the links are contracted to those choices; until no link is left",
		Var: "r", First: s.w("edges"), Pair: [2]string{s.w("links_a"), s.w("links_b")}, Max: 10000,
		Progress: "round {r}: {rows} left", Rows: "link",
		Body: []plan.Node{plan.If{
			Doc:  "{r} is a multiple of " + strconv.Itoa(every) + ": the remaining keys are reshuffled instead (the guard against slow convergence on long chains)",
			Cond: func(_ context.Context, run *plan.Run) (bool, error) { return run.Int("r")%every == 0, nil },
			Then: shuffle, Else: round,
		}},
	}}
	empty := func(t string) []plan.Node {
		return s.created(t, plan.Statement{SQL: d.CreateTableAs(t, "SELECT a AS node, b AS root FROM "+s.w("edges")+" WHERE 1 = 0", true)})
	}
	nodes = append(nodes, empty(s.w("roots"))...)
	nodes = append(nodes, empty(s.w("roots_none"))...)
	roots := []plan.Node{exec(d.DropTable("{out}")), plan.Exec{Statement: s.rootsSQL(s.w("moves_{i}"), "{in}", "{out}")}}
	roots = append(roots, s.analyze("{out}")...)
	roots = append(roots, exec(d.DropTable(s.w("moves_{i}"))), exec(d.DropTable("{in}")))
	nodes = append(nodes, plan.Loop{
		Doc: "roots: from the last round's moves to the first, each round adds its moved nodes to the roots known so far\n" +
			"(with no round, roots stays empty: no node moved)",
		Var: "i", Down: "r", First: s.w("roots_none"), Pair: [2]string{s.w("roots"), s.w("roots_b")}, Body: roots,
	})
	if len(s.limitRules()) == 0 {
		nodes = append(nodes, exec("-- only limits read the links again: free the memory for the output\n"+d.DropTable(s.w("edges"))))
	}
	return nodes
}

// limitsPlan refines the clusters that hold more identifiers of a type
// than its limit, writes the new clusters back and records the cut links.
func (s *Step) limitsPlan(r *runner) []plan.Node {
	c := s.c
	d := c.Dialect
	refined := s.w("refined")
	nodes := s.created(s.w("violators"), s.violatorsSQL())
	nodes = append(nodes, s.created(c.Staged(CutLinksTable), s.cutLinksCreateSQL())...)
	nodes = append(nodes, s.created(refined, plan.Statement{SQL: d.CreateTableAs(refined, "SELECT node AS key, root AS comp, root AS component FROM "+s.w("roots")+" WHERE 1 = 0", true)})...)
	refine := []plan.Node{plan.If{Doc: "the run is incremental (edges holds a star for each previous component, not its links)", Cond: plan.VarIs("incremental", "yes"),
		Then: s.violatorEdgesSQL()}}
	refine = append(refine, plan.Go{
		Doc: "the links of those clusters are rebuilt adding the strongest links first and skipping any link that would\n" +
			"break a limit; the new clusters are inserted into refined, the cut links into " + CutLinksTable + "\n" +
			"(each column one array parameter, unnested into rows)",
		Reads: s.violatorLinksSQL(), Run: r.refine,
	})
	refine = append(refine, s.analyze(refined)...)
	for _, st := range s.applyRefinedSQL() {
		refine = append(refine, plan.Exec{Statement: st})
	}
	refine = append(refine, s.analyze(s.w("roots"))...)
	return append(nodes, plan.If{
		Doc: "a cluster is over a limit (violators has rows)",
		Cond: func(ctx context.Context, run *plan.Run) (bool, error) {
			n, err := plan.CountRows(ctx, run.WH, s.w("violators"))
			r.over = n
			return n > 0, err
		},
		Then: refine,
	})
}

// summarize reports what the run did: its rows, how it ran (incremental or
// why it rebuilt), its rounds, the rules' rejections and the phases' time.
func (r *runner) summarize(ctx context.Context, wh dialects.Warehouse, run *plan.Run) (plan.Stats, error) {
	c := r.s.c
	stats := plan.Stats{Rows: map[string]int64{}, Publish: run.Published}
	inc := run.Var("incremental") == "yes"
	if inc {
		touched, err := plan.CountRows(ctx, wh, r.s.w("affected"))
		if err != nil {
			return stats, err
		}
		stats.Details = append(stats.Details, fmt.Sprintf("incremental: %s, %s resolved again",
			plan.Count(r.fresh, "new row"), plan.Count(touched, "previous profile")))
	} else {
		stats.Details = append(stats.Details, "full rebuild: "+run.Why)
	}
	stats.Details = append(stats.Details, fmt.Sprintf("components: %s (%s)", plan.Count(int64(run.Int("r")), "round"), plan.Count(int64(r.shuffles), "reshuffle")))
	stats.Details = append(stats.Details, r.details...)
	for _, t := range []string{GraphTable, LineageTable, RejectionsTable} {
		q := "SELECT count(*) FROM " + c.Staged(t)
		if t == GraphTable { // counted with the state (an increment's staged view would read the whole graph)
			q = "SELECT coalesce(max(identifiers), 0) FROM " + c.Staged(StateTable)
		}
		var n int64
		if err := plan.QueryRow(ctx, wh, q, nil, &n); err != nil {
			return stats, err
		}
		stats.Rows[t] = n
	}
	if !inc { // a rebuild's profiles are its anchors; an increment's would need the whole graph read
		profiles, err := plan.CountRows(ctx, wh, r.s.w("anchors"))
		if err != nil {
			return stats, err
		}
		stats.Rows["profiles"] = profiles
	}
	rows, err := wh.Query(ctx, "SELECT rule, count(*) FROM "+c.Staged(RejectionsTable)+" GROUP BY rule ORDER BY rule")
	if err != nil {
		return stats, err
	}
	defer rows.Close()
	line := "rejections:"
	for rows.Next() {
		var rule string
		var n int64
		if err := rows.Scan(&rule, &n); err != nil {
			return stats, err
		}
		line += fmt.Sprintf(" %s %d", rule, n)
	}
	if err := rows.Err(); err != nil {
		return stats, err
	}
	if line == "rejections:" {
		line += " none"
	}
	stats.Details = append(stats.Details, line)
	ph := "seconds:"
	for _, p := range run.Phases {
		ph += fmt.Sprintf(" %s %.2f", p.Name, p.Dur.Seconds())
	}
	stats.Details = append(stats.Details, ph)
	return stats, nil
}
