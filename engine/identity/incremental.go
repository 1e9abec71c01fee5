package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// Tables a run keeps for the next one, in the output schema. They are staged
// and swapped in with the public tables, so a failed run leaves the previous
// state as it was.
const (
	// LinksTable holds every distinct link (junk hubs' included) as node
	// keys, when a max_links or limit rule needs them next run; else empty.
	LinksTable = "_identity_links"
	// ComponentsTable maps each profile to its connected component before
	// limits cut it, when a limit rule exists; else empty.
	ComponentsTable = "_identity_components"
	// KeysTable holds the key of every identifier the runs have read (those
	// of identity_graph, junk hubs and excluded ones), when every source has
	// a timestamp (else empty): an increment looks its new identifiers' keys
	// up in it instead of hashing the whole graph again.
	KeysTable = "_identity_keys"
	// RootsTable maps identifiers' keys to their clusters (an identifier
	// without a row is its own cluster), and ProfilesTable each cluster to
	// its profile, where keyed; else both are empty.
	RootsTable    = "_identity_roots"
	ProfilesTable = "_identity_profiles"
	// StateTable has one row per source: the newest timestamp read and how
	// many rows the source had, with the rules' fingerprint, the key salt
	// and the rows of identity_graph after the run.
	StateTable = "_identity_state"
)

// stateVersion changes whenever the way identities are resolved changes, so
// that the state of an older version is never extended.
const stateVersion = "5"

// fingerprint names everything that decides how rows become profiles: the
// identifier rules and their order, and each source's relation, timestamp
// and identifier columns. State written under another fingerprint is not
// extended: the run rebuilds.
func (s *Step) fingerprint() string {
	type rule struct {
		Type, Normalize, DefaultCountry string
		Exclude                         []string
		MaxLinks, Limit                 int
	}
	type source struct {
		Name, Table, SQL, Timestamp string
		Identifiers                 [][2]string
	}
	var v struct {
		Version string
		Rules   []rule
		Sources []source
		// a forget rebuilds: the forgotten leave every profile they were in
		Suppressed []string `json:",omitempty"`
	}
	v.Version, v.Suppressed = stateVersion, s.c.Suppressed
	for _, r := range s.c.Project.Identity.Identifiers {
		v.Rules = append(v.Rules, rule{r.Type, r.Normalize, r.DefaultCountry, r.Exclude, r.MaxLinks, r.Limit})
	}
	for _, src := range s.srcs {
		x := source{Name: src.Name, Table: src.Table, SQL: src.SQL, Timestamp: src.Timestamp}
		for _, id := range src.Identifiers {
			x.Identifiers = append(x.Identifiers, [2]string{id.Type, id.Column})
		}
		v.Sources = append(v.Sources, x)
	}
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// mark is what marks found of one source. Rows at exactly the previous
// watermark may still be arriving (a batch sharing one timestamp, a date
// column), so an increment reads the rows at or after it again — reading a
// row twice changes nothing — and checks the rows before it.
type mark struct {
	rows       int64 // rows now
	prevRows   int64 // rows the previous run read (-1: no previous state)
	before     int64 // rows now before the previous watermark (or without a timestamp)
	prevBefore int64 // the same when the previous run read them
	at         int64 // rows now at the previous watermark
	prevAt     int64 // the same when the previous run read them
}

// marksSQL: per source the newest timestamp, the rows, and how many rows are
// before it and at it (what the next run checks); with the previous state,
// also the previous watermark (since) and how many rows are before and at it
// now. All of them are counted in one pass over the timestamp column, the
// previous watermark and the newest timestamp read by scalar subqueries (the
// latter a look-up where the timestamp is indexed). A join of the state to
// every row kept PostgreSQL's scan serial (8.6 s against 1.2 s at 10M rows);
// the rows at the newest timestamp counted apart were a second scan there
// (its statistics of a source with one timestamp expect every row at it).
func (s *Step) marksSQL(prev bool) plan.Statement {
	d := s.c.Dialect
	ts, n := d.TypeName(dialects.Timestamp), d.TypeName(dialects.Integer)
	q := &plan.Builder{}
	q.W("-- marks: per source the newest timestamp and the rows before and at it; the next run reads only rows from that timestamp on\n")
	var parts []string
	for _, src := range s.srcs {
		t := "CAST(NULL AS " + ts + ")"
		if src.Timestamp != "" {
			t = "CAST(src." + d.Quote(src.Timestamp) + " AS " + ts + ")"
		}
		rel := plan.Relation(d, src)
		name := lit(src.Name)
		newest := "(SELECT max(" + t + ") FROM " + rel + " src)"
		sel := "SELECT " + name + " AS source, " + newest + " AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,\n"
		counts := "count(*) AS row_count, " + countIf("r.t = r.newest") + " AS at_watermark"
		cols := newest + " AS newest"
		state := " FROM " + s.c.Final(StateTable) + " p WHERE p.source = " + name
		if prev {
			// rows without a timestamp count as before it: an increment never reads them
			counts += ", count(*) - " + countIf("r.t >= r.since") + " AS before_since, " + countIf("r.t = r.since") + " AS at_since"
			cols += ", (SELECT max(p.watermark)" + state + ") AS since"
		}
		rows := "FROM (SELECT " + counts + "\n  FROM (SELECT " + t + " AS t, " + cols + " FROM " + rel + " src) r) r"
		if !prev {
			parts = append(parts, sel+"  CAST(NULL AS "+ts+") AS since, CAST(NULL AS "+n+") AS prev_rows, CAST(NULL AS "+n+") AS prev_before, CAST(NULL AS "+n+") AS prev_at,\n"+
				"  CAST(NULL AS "+n+") AS before_since, CAST(NULL AS "+n+") AS at_since\n"+rows)
			continue
		}
		parts = append(parts, sel+"  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since\n"+rows+
			"\nCROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at\n "+state+") p")
	}
	q.W(strings.Join(parts, "\nUNION ALL\n"))
	return q.Statement(d)
}

// countIf counts the rows where cond holds. A sum of CASE, not count(*)
// FILTER: DuckDB took twice the processor time with FILTER (40-55 ms
// against 21-25 ms for marks at 10M rows); PostgreSQL showed no difference
// within the noise.
func countIf(cond string) string {
	return "coalesce(sum(CASE WHEN " + cond + " THEN 1 ELSE 0 END), 0)"
}

// readMarks reads the marks table.
func (s *Step) readMarks(ctx context.Context, wh dialects.Warehouse) (map[string]mark, error) {
	rows, err := wh.Query(ctx, s.marksRead())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]mark{}
	for rows.Next() {
		var name string
		var k mark
		if err := rows.Scan(&name, &k.rows, &k.prevRows, &k.before, &k.prevBefore, &k.at, &k.prevAt); err != nil {
			return nil, err
		}
		m[name] = k
	}
	return m, rows.Err()
}

func (s *Step) marksRead() string {
	return "SELECT source, row_count, coalesce(prev_rows, -1), coalesce(before_since, -1), coalesce(prev_before, -1), coalesce(at_since, -1), coalesce(prev_at, -1) FROM " + s.w("marks")
}

// stateSQL is the state the next run starts from, with the rows of
// identity_graph after this run (identifiers), which the run reports: an
// increment counts them from the previous run's figure, the rows it
// replaces and the new ones, instead of reading the whole graph (0.8-0.9 s
// of processor time on PostgreSQL at 8M rows).
func (s *Step) stateSQL(inc bool) plan.Statement {
	c := s.c
	d := c.Dialect
	q := &plan.Builder{}
	t := d.TypeName("text")
	rows := "(SELECT count(*) FROM " + c.Staged(GraphTable) + ")"
	if inc {
		rows = "(SELECT max(identifiers) FROM " + c.Final(StateTable) + ") - (SELECT count(*) FROM " + s.w("old") + ") + (SELECT count(*) FROM " + c.Staged(graphNew) + ")"
	}
	q.W("-- ", StateTable, ": what this run read of each source, under which rules and key salt, and the identifiers of ", GraphTable, "\n")
	q.W(d.CreateTableAs(c.Staged(StateTable), "SELECT source, watermark, row_count, before_watermark, at_watermark, CAST("+q.Arg(s.fingerprint())+" AS "+t+") AS fingerprint, (SELECT salt FROM "+s.w("salt")+") AS salt,\n"+
		"  CAST("+rows+" AS "+d.TypeName(dialects.Integer)+") AS identifiers\nFROM "+s.w("marks"), false))
	return q.Statement(d)
}

// keepLinks tells whether the links are kept for the next run: max_links
// counts an identifier's distinct neighbours over every link, and limits
// refine a component from all its links. Without those rules a previous
// profile is simply connected, and the next run links its identifiers as a star.
func (s *Step) keepLinks() bool { return len(s.hubRules()) > 0 || len(s.limitRules()) > 0 }

// incrementPlan extends the previous run with the sources' new rows when
// it can: it builds this run's nodes and edges (the identifiers of every
// profile the new rows touch, and their links) with the key salt of the
// previous run, and abandons (the run rebuilds) as soon as a check fails.
// New rows only ever merge profiles, so only the touched profiles (with
// limits: their whole components) are resolved again, and the result is
// the full rebuild's.
func (s *Step) incrementPlan(r *runner) []plan.Node {
	c := s.c
	d := c.Dialect
	nodes := []plan.Node{plan.Go{
		Doc: "abandon unless the previous run's state is usable: no --full-refresh, every source has a timestamp, the previous\n" +
			"tables exist and " + StateTable + " was written under the same rules and sources (one fingerprint, " + s.fingerprint() + ")",
		Reads: s.fingerprints(), Run: r.checkState,
	}}
	nodes = append(nodes, s.created(s.w("salt"), plan.Statement{SQL: "-- the key salt of the previous run\n" +
		d.CreateTableAs(s.w("salt"), "SELECT min(salt) AS salt FROM "+c.Final(StateTable), true)})...)
	nodes = append(nodes, s.created(s.w("marks"), ctas(d, s.w("marks"), s.marksSQL(true)))...)
	nodes = append(nodes, plan.Go{
		Doc: "abandon unless, per source, the rows before the previous watermark are as many as then and the rows at it\n" +
			"no fewer (a row deleted, back-dated or updated changes them)",
		Reads: s.marksRead(), Run: r.checkMarks,
	})
	st := ctas(d, s.w("new_nodes"), s.nodesSQL(true))
	st.Def = "sources " + s.sourceNames()
	nodes = append(nodes, s.created(s.w("new_nodes"), st)...)
	nodes = append(nodes, s.created(s.w("seen"), s.seenSQL())...)
	nodes = append(nodes, s.created(s.w("known"), s.knownSQL())...)
	nodes = append(nodes, plan.Go{Doc: "abandon when a new identifier shares a 64-bit key with another (the rebuild salts the hash)",
		Reads: s.clashesSQL(), Run: r.checkClashes})
	nodes = append(nodes, s.created(c.Staged(KeysTable), s.newKeysSQL())...)
	nodes = append(nodes, s.exclude(s.w("new_nodes"))...)
	nodes = append(nodes, s.created(s.w("new_edges"), ctas(d, s.w("new_edges"), s.edgesSQL(true, true)))...)
	nodes = append(nodes, s.excludeLinks(s.w("new_edges"))...)
	if len(s.hubRules()) > 0 {
		nodes = append(nodes, s.incrementHubs(r)...)
	}
	nodes = append(nodes, s.incrementNodes()...)
	nodes = append(nodes, s.created(c.Staged(LinksTable), s.linksSQL(true))...)
	return append(nodes, plan.Set{Var: "incremental", Value: "yes"})
}

func (s *Step) fingerprints() string {
	return "SELECT DISTINCT fingerprint FROM " + s.c.Final(StateTable)
}

// checkState abandons the increment unless the previous run's state is usable.
func (r *runner) checkState(ctx context.Context, run *plan.Run) error {
	s := r.s
	c := s.c
	if c.FullRefresh {
		return &plan.Abandoned{Why: "--full-refresh"}
	}
	for _, src := range s.srcs {
		if src.Timestamp == "" {
			return &plan.Abandoned{Why: "source " + src.Name + " has no timestamp to tell new rows by"}
		}
	}
	for _, t := range (&Step{}).Outputs() {
		ok, err := c.FinalExists(ctx, run.WH, t)
		if err != nil {
			return err
		}
		if !ok {
			return &plan.Abandoned{Why: "no previous run"}
		}
	}
	rows, err := run.WH.Query(ctx, s.fingerprints())
	if err != nil {
		return err
	}
	var prints []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return err
		}
		prints = append(prints, f)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(prints) != 1 || prints[0] != s.fingerprint() {
		return &plan.Abandoned{Why: "identity rules or sources, the people forgotten, or how this version of Cohort resolves identities changed since the previous run"}
	}
	return nil
}

// checkMarks abandons the increment when a source lost, changed or
// back-dated a row since the previous run.
func (r *runner) checkMarks(ctx context.Context, run *plan.Run) error {
	s := r.s
	marks, err := s.readMarks(ctx, run.WH)
	if err != nil {
		return err
	}
	r.marks = marks
	var fresh int64
	for _, src := range s.srcs {
		m := marks[src.Name]
		switch {
		case m.prevRows < 0:
			return &plan.Abandoned{Why: "source " + src.Name + " is new"}
		case m.before != m.prevBefore:
			return &plan.Abandoned{Why: fmt.Sprintf("source %s: rows before the previous run's newest timestamp were added, changed or deleted (%d then, %d now)",
				src.Name, m.prevBefore, m.before)}
		case m.at < m.prevAt:
			return &plan.Abandoned{Why: fmt.Sprintf("source %s: rows at the previous run's newest timestamp were deleted (%d then, %d now)", src.Name, m.prevAt, m.at)}
		}
		fresh += m.rows - m.prevRows
	}
	r.fresh = fresh
	run.Say("reading %s new rows", plan.Thousands(fresh))
	return nil
}

// checkClashes abandons the increment when a new identifier shares a key
// with another.
func (r *runner) checkClashes(ctx context.Context, run *plan.Run) error {
	return clashes(ctx, run, r.s.clashesSQL(), r.s.collisions)
}

// clashes abandons the increment when the query counts a clash (or a test
// says there is one).
func clashes(ctx context.Context, run *plan.Run, query string, forced int) error {
	var n int64
	if err := plan.QueryRow(ctx, run.WH, query, nil, &n); err != nil {
		return err
	}
	if n > 0 || forced > 0 {
		return &plan.Abandoned{Why: "a new identifier shares a 64-bit key with another"}
	}
	return nil
}

// incrementNodes build an increment's nodes and links: the previous
// profiles the new rows touch, their identifiers and links, with the new ones.
func (s *Step) incrementNodes() []plan.Node {
	var nodes []plan.Node
	for _, t := range []struct {
		table string
		st    plan.Statement
	}{{"affected", s.affectedSQL()}, {"old", s.oldNodesSQL()}, {"nodes", s.mergedNodesSQL()}, {"edges", s.affectedEdgesSQL()}} {
		nodes = append(nodes, s.created(s.w(t.table), t.st)...)
		if t.table == "old" && s.keyed() {
			q := s.keyClashesSQL()
			nodes = append(nodes, plan.Go{Doc: "abandon when a new identifier has the key of another one of identity_graph", Reads: q,
				Run: func(ctx context.Context, run *plan.Run) error { return clashes(ctx, run, q, 0) }})
		}
	}
	return nodes
}

// keyed tells whether RootsTable and ProfilesTable are kept, so that an
// increment finds the profiles of its new identifiers by key, joining
// integers, instead of by value in identity_graph: where state tables are
// not indexed (DuckDB: a scan of the graph's 8M strings, 0.8 s of
// processor time under load, against 0.2 s). Where they are
// (IndexedRename, PostgreSQL), the graph's index on the value finds them.
func (s *Step) keyed() bool {
	return s.extendable() && !s.c.Dialect.Capabilities().IndexedRename
}

// knownSQL: the new rows' identifiers that identity_graph holds, with
// their profiles: keyed, the profiles of their clusters; else a join on
// the identifier (a look-up where the graph is indexed).
func (s *Step) knownSQL() plan.Statement {
	c := s.c
	q := "SELECT n.key, g.profile_id FROM " + s.w("new_nodes") + " n\nJOIN " + c.Final(GraphTable) +
		" g ON g.identifier_value = n.identifier_value AND g.identifier_type = n.identifier_type"
	if s.keyed() {
		q = "SELECT n.key, p.profile_id FROM " + s.w("seen") + " n\nJOIN " + c.Final(ProfilesTable) + " p ON p.comp = n.comp"
	}
	return plan.Statement{SQL: "-- known: the new rows' identifiers already in a profile\n" + c.Dialect.CreateTableAs(s.w("known"), q, true)}
}

// seenSQL: the new rows' keys that an earlier run read (its identifier, or
// another one sharing the key), looked up by key in KeysTable; keyed, with
// the new identifier and the key's cluster (RootsTable's, else the key).
func (s *Step) seenSQL() plan.Statement {
	c := s.c
	q := "SELECT n.key FROM " + s.w("new_nodes") + " n JOIN " + c.Final(KeysTable) + " k ON k.key = n.key"
	if s.keyed() {
		q = "SELECT n.key, n.identifier_type, n.identifier_value, coalesce(r.root, n.key) AS comp\nFROM " + s.w("new_nodes") + " n\nJOIN " +
			c.Final(KeysTable) + " k ON k.key = n.key\nLEFT JOIN " + c.Final(RootsTable) + " r ON r.node = n.key"
	}
	return plan.Statement{SQL: "-- seen: the new rows' keys the previous runs read\n" + c.Dialect.CreateTableAs(s.w("seen"), q, true)}
}

// keyClashesSQL counts, keyed, the new identifiers whose key is one of
// identity_graph's identifiers but not theirs: known by key, their
// clusters' profiles resolved again (old) hold no identifier of that key
// and value.
func (s *Step) keyClashesSQL() string {
	return "SELECT count(*) FROM " + s.w("seen") + " n WHERE n.key IN (SELECT key FROM " + s.w("known") + ") AND NOT EXISTS (SELECT 1 FROM " + s.w("old") + " o\n" +
		"  WHERE o.key = n.key AND o.identifier_type = n.identifier_type AND o.identifier_value = n.identifier_value)"
}

// clashesSQL counts the new identifiers whose key another identifier has:
// two new ones, or a key seen before although its identifier is neither in
// identity_graph nor a junk hub nor excluded (the identifiers whose keys
// KeysTable holds). Keyed, a key of the graph is known whatever its
// identifier: keyClashesSQL checks those once old is read.
func (s *Step) clashesSQL() string {
	c := s.c
	return "SELECT (SELECT count(*) - count(DISTINCT key) FROM " + s.w("new_nodes") + ") + (\n" +
		"  SELECT count(*) FROM " + s.w("new_nodes") + " n\n" +
		"  WHERE n.key IN (SELECT key FROM " + s.w("seen") + ") AND n.key NOT IN (SELECT key FROM " + s.w("known") + ")\n" +
		"    AND NOT EXISTS (SELECT 1 FROM " + c.Final(RejectionsTable) + " r WHERE r.rule IN ('" + RuleExclude + "', '" + RuleMaxLinks + "')\n" +
		"      AND r.identifier_type = n.identifier_type AND r.identifier_value = n.identifier_value))"
}

// keysSQL: the keys the next run looks its new identifiers up in (empty
// when a source has no timestamp: no run extends this one), every
// identifier's before exclusions and junk hubs leave nodes.
func (s *Step) keysSQL() []plan.Node {
	c := s.c
	q := "SELECT key FROM " + s.w("nodes")
	if !s.extendable() {
		q += " WHERE 1 = 0"
	}
	nodes := s.created(c.Staged(KeysTable), plan.Statement{SQL: "-- " + KeysTable + ": every identifier's key, for the next run's key check\n" +
		c.Dialect.CreateTableAs(c.Staged(KeysTable), q, false)})
	return append(nodes, s.stateIndexes(KeysTable, "key")...)
}

// keyedStateSQL writes RootsTable and ProfilesTable where keyed (else
// empty): a rebuild copies its roots and anchors; an increment stages the
// clusters of the identifiers it resolved again and the profiles it
// resolved again, applied to the final tables in the swap (their previous
// rows deleted, the new ones inserted).
func (s *Step) keyedStateSQL(inc bool) []plan.Node {
	c := s.c
	d := c.Dialect
	rootsHead := "-- " + RootsTable + ": each identifier's cluster (none: its own key), for the next run\n"
	head := "-- " + ProfilesTable + ": each cluster's profile, for the next run\n"
	roots, profiles := "SELECT node, root FROM "+s.w("roots"), "SELECT comp, profile_id FROM "+s.w("anchors")
	if !s.keyed() || !inc {
		if !s.keyed() {
			roots, profiles = roots+" WHERE 1 = 0", profiles+" WHERE 1 = 0"
		}
		nodes := s.created(c.Staged(RootsTable), plan.Statement{SQL: rootsHead + d.CreateTableAs(c.Staged(RootsTable), roots, false)})
		return append(nodes, s.created(c.Staged(ProfilesTable), plan.Statement{SQL: head + d.CreateTableAs(c.Staged(ProfilesTable), profiles, false)})...)
	}
	nodes := s.created(c.Staged(rootsNew), plan.Statement{SQL: rootsHead + "-- (the identifiers resolved again; the others stay)\n" +
		d.CreateTableAs(c.Staged(rootsNew), "SELECT key AS node, comp AS root FROM "+s.labeled()+" l", false)})
	nodes = append(nodes, s.created(c.Staged(profilesNew), plan.Statement{SQL: head + "-- (the profiles resolved again with their clusters, the previous ones without; the others stay)\n" +
		d.CreateTableAs(c.Staged(profilesNew), profiles+"\nUNION ALL\nSELECT CAST(NULL AS "+d.TypeName(dialects.Integer)+"), profile_id FROM "+s.w("affected"), false)})...)
	return append(nodes,
		s.replaceRows(RootsTable, "node", rootsNew, rootsNew, "node, root", ""),
		s.replaceRows(ProfilesTable, "profile_id", profilesNew, profilesNew, "comp, profile_id", " WHERE comp IS NOT NULL"))
}

// replaceRows brings a state table up to date in the swap: its rows whose
// key is among the staged table gone's are deleted, the staged table news's
// rows (filtered by where) inserted, and both dropped.
func (s *Step) replaceRows(table, key, gone, news, cols, where string) plan.Publish {
	c := s.c
	apply := []string{
		"DELETE FROM " + c.Final(table) + " WHERE " + key + " IN (SELECT " + key + " FROM " + c.Staged(gone) + ")",
		"INSERT INTO " + c.Final(table) + " (" + cols + ") SELECT " + cols + " FROM " + c.Staged(news) + where,
		c.Dialect.DropTable(c.Staged(news)),
	}
	if gone != news {
		apply = append(apply, c.Dialect.DropTable(c.Staged(gone)))
	}
	return plan.Publish{Table: table, Apply: apply}
}

// newKeysSQL: an increment's keys to append to KeysTable, once the clash
// check passed: those of its new identifiers (excluded and junk hubs too).
func (s *Step) newKeysSQL() plan.Statement {
	c := s.c
	return plan.Statement{SQL: "-- " + KeysTable + ": the new identifiers' keys, appended in the swap\n" + c.Dialect.CreateTableAs(c.Staged(KeysTable),
		"SELECT key FROM "+s.w("new_nodes")+" n WHERE NOT EXISTS (SELECT 1 FROM "+s.w("seen")+" x WHERE x.key = n.key)", false)}
}

// extendable tells whether a later run can extend this one: every source
// has a timestamp. Only then the state an increment needs is kept.
func (s *Step) extendable() bool {
	for _, src := range s.srcs {
		if src.Timestamp == "" {
			return false
		}
	}
	return true
}

// stateIndexes index a staged state table's look-up columns, where the
// warehouse keeps an index through the rename that publishes the table: an
// increment then finds the few rows it needs instead of scanning them all.
// Each index carries the table's other look-up columns, and the table's
// pages are marked visible (dialects.CoveringIndexer), so a look-up reads
// the index alone: on PostgreSQL the kept links of the benchmark
// increment's 19,980 touched identifiers took 0.61-0.80 s instead of
// 0.94-1.17 s (kept 10M state). Elsewhere an increment joins them by hash,
// building on its few new rows.
func (s *Step) stateIndexes(table string, cols ...string) []plan.Node {
	c := s.c
	d := c.Dialect
	if !d.Capabilities().IndexedRename || !s.extendable() {
		return nil
	}
	var nodes []plan.Node
	for _, col := range cols {
		var others []string
		for _, o := range cols {
			if o != col {
				others = append(others, o)
			}
		}
		if st := dialects.IndexCovering(d, c.Schema, c.StagedName(table), col, others...); st != "" {
			nodes = append(nodes, exec(st))
		}
	}
	if st := dialects.MarkVisible(d, c.Staged(table)); st != "" {
		nodes = append(nodes, exec(st))
	}
	return nodes
}

// incrementHubs finds the junk hubs after the new links: the previous ones
// (an identifier's distinct neighbours only grow) and any identifier a new
// link touches that now has more than max_links. A new hub takes links out
// of previous profiles, which the rebuild handles: the increment is
// abandoned then. Junk hubs leave the new nodes; their links stay in the
// kept links.
func (s *Step) incrementHubs(r *runner) []plan.Node {
	c := s.c
	d := c.Dialect
	union := "\n" + dialects.Union(d) + "\n"
	touched := s.w("touched")
	// the kept links of the touched identifiers, joined once per end (an OR of the two ends would scan every link);
	// kept apart, they also tell which new links are kept already (linksSQL)
	kept := "SELECT p.a, p.b FROM " + c.Final(LinksTable) + " p JOIN " + touched + " t ON t.key = p.a" +
		"\nUNION ALL\nSELECT p.a, p.b FROM " + c.Final(LinksTable) + " p JOIN " + touched + " t ON t.key = p.b"
	links := "SELECT a, b FROM " + s.w("touched_links") + union + "SELECT a, b FROM " + s.w("new_edges")
	nodes := "(SELECT key, identifier_type, identifier_value FROM " + s.w("new_nodes") + " WHERE key IN (SELECT key FROM " + touched + "))"
	fresh := "SELECT count(*) FROM " + s.w("hubs_touched") + " h WHERE NOT EXISTS (SELECT 1 FROM " + c.Final(RejectionsTable) +
		" p WHERE p.rule = '" + RuleMaxLinks + "' AND p.identifier_type = h.identifier_type AND p.identifier_value = h.identifier_value)"
	hubs := "SELECT key, identifier_type, identifier_value, detail FROM " + s.w("hubs_touched") + "\nUNION ALL\n" +
		"SELECT " + s.keyExpr("identifier_type", "identifier_value") + ", identifier_type, identifier_value, detail FROM " + c.Final(RejectionsTable) + " p\n" +
		"WHERE rule = '" + RuleMaxLinks + "' AND NOT EXISTS (SELECT 1 FROM " + s.w("hubs_touched") + " h WHERE h.identifier_type = p.identifier_type AND h.identifier_value = p.identifier_value)"
	out := s.created(touched, plan.Statement{SQL: "-- the identifiers a new link touches\n" +
		d.CreateTableAs(touched, "SELECT a AS key FROM "+s.w("new_edges")+union+"SELECT b FROM "+s.w("new_edges"), true)})
	out = append(out, s.created(s.w("touched_links"), plan.Statement{SQL: "-- their kept links\n" + d.CreateTableAs(s.w("touched_links"), kept, true)})...)
	out = append(out, s.created(s.w("hub_links"), plan.Statement{SQL: "-- their links, kept and new, each once\n" + d.CreateTableAs(s.w("hub_links"), links, true)})...)
	out = append(out, s.created(s.w("hubs_touched"), ctas(d, s.w("hubs_touched"), s.hubsSQL(s.w("hub_links"), nodes)))...)
	out = append(out, plan.Go{Doc: "abandon when an identifier a new link touches became a junk hub (it takes links out of previous profiles)", Reads: fresh,
		Run: func(ctx context.Context, run *plan.Run) error {
			var n int64
			if err := plan.QueryRow(ctx, run.WH, fresh, nil, &n); err != nil {
				return err
			}
			if n > 0 {
				return &plan.Abandoned{Why: fmt.Sprintf("%s became junk hubs (max_links)", plan.Count(n, "identifier"))}
			}
			return nil
		}})
	out = append(out, s.created(s.w("hubs"), plan.Statement{SQL: "-- junk hubs: the previous ones, with the neighbours counted again where new links touch them\n" + d.CreateTableAs(s.w("hubs"), hubs, true)})...)
	return append(out, exec("DELETE FROM "+s.w("new_nodes")+" WHERE key IN (SELECT key FROM "+s.w("hubs")+")"))
}

// affectedSQL: the previous profiles holding an identifier of the new rows;
// with limits, every profile of their components (a cut link may now be
// needed elsewhere), with its component.
func (s *Step) affectedSQL() plan.Statement {
	c := s.c
	touched := "SELECT DISTINCT profile_id FROM " + s.w("known")
	if len(s.limitRules()) > 0 {
		comps := c.Final(ComponentsTable)
		touched = "SELECT DISTINCT profile_id, component FROM " + comps + " WHERE component IN (\n  SELECT c.component FROM " + comps + " c\n  WHERE c.profile_id IN (" + touched + "))"
	}
	return plan.Statement{SQL: "-- affected: the previous profiles the new rows touch, resolved again\n" + c.Dialect.CreateTableAs(s.w("affected"), touched, true)}
}

// oldNodesSQL: the identifiers of the affected profiles, keyed.
func (s *Step) oldNodesSQL() plan.Statement {
	return plan.Statement{SQL: s.c.Dialect.CreateTableAs(s.w("old"), "SELECT "+s.keyExpr("identifier_type", "identifier_value")+
		" AS key, identifier_type, identifier_value, first_seen_at, last_seen_at, profile_id\nFROM "+s.c.Final(GraphTable)+
		"\nWHERE profile_id IN (SELECT profile_id FROM "+s.w("affected")+")", true)}
}

// mergedNodesSQL: the nodes of this run, the affected identifiers and the new ones.
func (s *Step) mergedNodesSQL() plan.Statement {
	return plan.Statement{SQL: "-- nodes: the affected profiles' identifiers with the new rows' ones, first and last seen merged\n" +
		s.c.Dialect.CreateTableAs(s.w("nodes"), "SELECT key, identifier_type, identifier_value, min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at\nFROM (\n"+
			"  SELECT key, identifier_type, identifier_value, first_seen_at, last_seen_at FROM "+s.w("old")+"\n  UNION ALL\n"+
			"  SELECT key, identifier_type, identifier_value, first_seen_at, last_seen_at FROM "+s.w("new_nodes")+"\n) n\nGROUP BY key, identifier_type, identifier_value", true)}
}

// affectedEdgesSQL: the links of this run. A previous profile is connected,
// and with limits so is a previous component (the links limits cut are
// inside it), so its identifiers are linked as a star around its smallest
// key: the clusters are the rebuild's. Only a cluster over a limit needs
// its real links, which limits read then (violatorEdgesSQL). The new links
// join them, junk hubs' left out.
func (s *Step) affectedEdgesSQL() plan.Statement {
	c := s.c
	star, from := "profile_id", s.w("old")
	if len(s.limitRules()) > 0 {
		star, from = "component", from+" o JOIN "+s.w("affected")+" f ON f.profile_id = o.profile_id"
	}
	prev := "SELECT least(key, hub) AS a, greatest(key, hub) AS b FROM (SELECT key, min(key) OVER (PARTITION BY " + star + ") AS hub FROM " + from + ") o WHERE key <> hub"
	return plan.Statement{SQL: "-- links: the affected profiles' (a star each, with limits a star each previous component) and the new rows'\n" +
		c.Dialect.CreateTableAs(s.w("edges"), prev+"\n"+dialects.Union(c.Dialect)+"\n"+s.freshEdges(), true)}
}

// freshEdges: the new links, junk hubs' left out.
func (s *Step) freshEdges() string {
	fresh := "SELECT a, b FROM " + s.w("new_edges")
	if len(s.hubRules()) > 0 {
		hubs := "(SELECT key FROM " + s.w("hubs") + ")"
		fresh += " WHERE a NOT IN " + hubs + " AND b NOT IN " + hubs
	}
	return fresh
}

// violatorEdgesSQL: on an increment, the real links of the clusters over a
// limit replace the stars edges linked their previous components with: the
// kept links between their previous identifiers (joined on one end, a
// look-up per identifier where the links are indexed, the other end
// filtered) and the new links.
func (s *Step) violatorEdgesSQL() []plan.Node {
	c := s.c
	d := c.Dialect
	over := s.w("over_keys")
	nodes := s.created(over, plan.Statement{SQL: "-- the previous identifiers of the clusters over a limit\n" + d.CreateTableAs(over,
		"SELECT o.key FROM "+s.w("old")+" o LEFT JOIN "+s.w("roots")+" r ON r.node = o.key\nWHERE coalesce(r.root, o.key) IN (SELECT comp FROM "+s.w("violators")+")", true)})
	return append(nodes, s.created(s.w("edges"), plan.Statement{SQL: "-- links of the clusters over a limit: their previous identifiers' kept links, and the new ones\n" +
		d.CreateTableAs(s.w("edges"), "SELECT p.a, p.b FROM "+c.Final(LinksTable)+" p JOIN "+over+" o ON o.key = p.a WHERE p.b IN (SELECT key FROM "+over+")"+
			"\n"+dialects.Union(d)+"\n"+s.freshEdges(), true)})...)
}

// linksSQL: the links kept for the next run (empty without max_links and
// limit rules): this run's distinct links before junk hubs left; on an
// incremental run the previous ones plus the new.
func (s *Step) linksSQL(inc bool) plan.Statement {
	c := s.c
	q := "SELECT a, b FROM " + s.w("edges")
	switch {
	case !s.keepLinks():
		q = "SELECT a, b FROM " + s.w("edges") + " WHERE 1 = 0"
	case inc && len(s.hubRules()) > 0: // the junk hubs read the kept links of every new link's ends
		q = "SELECT a, b FROM " + s.w("new_edges") + "\n" + dialects.Except(c.Dialect) + "\nSELECT a, b FROM " + s.w("touched_links")
	case inc: // the new links the previous ones lack, appended in the swap; the join builds on the few new links
		q = "SELECT a, b FROM " + s.w("new_edges") + "\n" + dialects.Except(c.Dialect) + "\nSELECT p.a, p.b FROM " + c.Final(LinksTable) +
			" p JOIN " + s.w("new_edges") + " n ON n.a = p.a AND n.b = p.b"
	}
	return plan.Statement{SQL: "-- " + LinksTable + ": the links the next run needs for max_links and limits\n" + c.Dialect.CreateTableAs(c.Staged(LinksTable), q, false)}
}

// componentsSQL: each new profile's component before limits (empty without
// limit rules): a refined part's is the component it was cut from. An
// increment stages the rows of the profiles it resolved again and the
// previous profiles they replace, applied to the final table in the swap.
func (s *Step) componentsSQL(inc bool) []plan.Node {
	c := s.c
	d := c.Dialect
	q := "SELECT a.profile_id, coalesce(f.component, a.comp) AS component\nFROM " + s.w("anchors") + " a\n" +
		"LEFT JOIN (SELECT DISTINCT comp, component FROM " + s.w("refined") + ") f ON f.comp = a.comp"
	gone := "SELECT profile_id FROM " + s.w("affected")
	if len(s.limitRules()) == 0 {
		q = "SELECT profile_id, comp AS component FROM " + s.w("anchors") + " WHERE 1 = 0"
		gone += " WHERE 1 = 0"
	}
	head := "-- " + ComponentsTable + ": each profile's component before limits cut it, for the next run\n"
	if !inc {
		return append(s.created(c.Staged(ComponentsTable), plan.Statement{SQL: head + d.CreateTableAs(c.Staged(ComponentsTable), q, false)}),
			s.stateIndexes(ComponentsTable, "profile_id", "component")...)
	}
	nodes := s.created(c.Staged(componentsNew), plan.Statement{SQL: head + "-- (the profiles resolved again; the others stay)\n" + d.CreateTableAs(c.Staged(componentsNew), q, false)})
	nodes = append(nodes, s.created(c.Staged(componentsGone), plan.Statement{SQL: d.CreateTableAs(c.Staged(componentsGone), gone, false)})...)
	return append(nodes, s.replaceRows(ComponentsTable, "profile_id", componentsGone, componentsNew, "profile_id, component", ""))
}

// keptCutLinksSQL copies the previous cut links of the profiles not resolved again.
func (s *Step) keptCutLinksSQL() plan.Statement {
	c := s.c
	return plan.Statement{SQL: "-- the cut links of profiles not resolved again stay\nINSERT INTO " + c.Staged(CutLinksTable) + " (a_type, a_value, b_type, b_value, detail)\n" +
		"SELECT a_type, a_value, b_type, b_value, detail FROM " + c.Final(CutLinksTable) + " k\n" +
		"WHERE NOT EXISTS (SELECT 1 FROM " + s.w("old") + " o WHERE o.identifier_type = k.a_type AND o.identifier_value = k.a_value)"}
}

// sinceFilter restricts a source to the rows after the previous run's
// watermark, or at or after it when rows arrived with that very timestamp
// (those read before are read again, which changes nothing): marks say
// which. Two plain comparisons joined by AND, each a bound the warehouse
// filters the scan with (DuckDB skips the blocks whose newest timestamp is
// below it): the second is the watermark itself, or a timestamp before any
// when rows arrived at the watermark. An OR of the two cases made DuckDB
// test every row (6 times the processor time of the scan), and so did an
// IS DISTINCT FROM.
func (s *Step) sinceFilter(src *models.Source) string {
	d := s.c.Dialect
	mark := func(col string) string {
		return "(SELECT " + col + " FROM " + s.w("marks") + " WHERE source = " + lit(src.Name) + ")"
	}
	tt := d.TypeName("timestamp")
	ts := "CAST(src." + d.Quote(src.Timestamp) + " AS " + tt + ")"
	return "\n    WHERE " + ts + " >= " + mark("since") +
		"\n      AND " + ts + " > " + mark("CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS "+tt+") ELSE since END")
}
