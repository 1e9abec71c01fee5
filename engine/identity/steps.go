package identity

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"

	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// The tables identity resolution stages in the output schema.
const (
	GraphTable      = "identity_graph"
	LineageTable    = "identity_lineage"
	RejectionsTable = "identity_rejections"
	// CutLinksTable keeps each link a limit cut, both ends, for explain.
	CutLinksTable = "_identity_cut_links"
)

// Rule names written to identity_rejections.rule.
const (
	RuleExclude  = "exclude"
	RuleMaxLinks = "max_links"
	RuleLimit    = "limit"
)

// DefaultReshuffleRounds is how many contraction rounds run before the node
// keys are reshuffled, the guard against slow convergence on long chains.
const DefaultReshuffleRounds = 40

// Steps is the identity part of a run: one step that resolves every
// source's identifiers into profiles.
func Steps(c *plan.Context) ([]plan.Step, error) {
	var srcs []*models.Source
	for _, s := range c.Project.Sources {
		if len(s.Identifiers) > 0 {
			srcs = append(srcs, s)
		}
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("identity: no source has identifiers")
	}
	setup, scratch := dialects.ScratchSpace(c.Dialect, c.Schema)
	return []plan.Step{&Step{c: c, srcs: srcs, ReshuffleAfter: DefaultReshuffleRounds, scratch: scratch, setup: setup}}, nil
}

// Step resolves identities: normalize, apply rules, connected components in
// rounds, limits, stable profile ids, lineage. Its Run loops; its SQL shows
// every statement once.
type Step struct {
	c    *plan.Context
	srcs []*models.Source
	// scratch is where work tables live (ScratchSpace), setup prepares it
	scratch string
	setup   []string
	// ReshuffleAfter is the number of rounds after which remaining node keys
	// are rehashed with a new salt (and again every as many rounds).
	ReshuffleAfter int
	lastRounds     int
	lastPhases     []plan.PhaseTime
	// collisions makes the first n encodings report a key collision (tests).
	collisions int
}

func (s *Step) Name() string { return "identity" }

func (s *Step) Outputs() []string {
	return []string{GraphTable, LineageTable, RejectionsTable, CutLinksTable, LinksTable, ComponentsTable, StateTable, KeysTable, RootsTable, ProfilesTable}
}

// work table names of this run
func (s *Step) w(name string) string {
	return s.scratch + "." + s.c.Dialect.Quote("_work_id_"+name+"_"+s.c.RunID)
}

func (s *Step) header() string {
	var b strings.Builder
	b.WriteString("identity resolution\n")
	for _, r := range s.c.Project.Identity.Identifiers {
		var rules []string
		if r.Normalize != "" {
			rules = append(rules, "normalize "+r.Normalize)
		}
		if len(r.Exclude) > 0 {
			rules = append(rules, "exclude "+strings.Join(r.Exclude, " | "))
		}
		if r.MaxLinks > 0 {
			rules = append(rules, "max_links "+strconv.Itoa(r.MaxLinks))
		}
		if r.Limit > 0 {
			rules = append(rules, "limit "+strconv.Itoa(r.Limit))
		}
		fmt.Fprintf(&b, "  identifier %s (%s)%s\n", r.Type, r.Pos, prefixed(": ", strings.Join(rules, ", ")))
	}
	for _, src := range s.srcs {
		var cols []string
		for _, id := range src.Identifiers {
			cols = append(cols, id.Column+" as "+id.Type)
		}
		fmt.Fprintf(&b, "  source %s (%s): %s\n", src.Name, src.Pos, strings.Join(cols, ", "))
	}
	return b.String()
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// keyExpr is a node's key: a 64-bit hash of the run's key salt (the salt
// table: empty unless two identifiers shared a key), the type, ':' and the
// value, from SQL expressions of the type and the value. Every key, of a
// rebuild or of an increment, comes from here: an increment extends the
// previous keys (a change here bumps stateVersion).
//
// Unsalted, the parts are hashed together (Hash64: not concatenated first
// where the warehouse can). A salted key hashes their concatenation: DuckDB's
// hash of several values is the last one's hash XOR a constant of the
// others, so two values whose own hashes clash clashed again under every
// salt, and a rebuild that met such a pair could never finish.
func (s *Step) keyExpr(typ, value string) string {
	d := s.c.Dialect
	salt := "(SELECT salt FROM " + s.w("salt") + ")"
	return "CASE WHEN " + salt + " = '' THEN " + d.Hash64(salt, typ, "':'", value) +
		" ELSE " + d.Hash64(salt+" || "+typ+" || ':' || "+value) + " END"
}

// sourceRel reads one source (its new rows only when fresh): its timestamp
// and every identifier column normalized (v1, v2 ...) and keyed (k1 ...).
// only >= 0 reads one column
// without its key: nodes key each value once, after grouping. Exclude rules
// are not applied here but to the distinct identifiers (excludedSQL): an
// expression read twice is computed twice by DuckDB, so a pattern test per
// row made every row's normalization run once per pattern.
func (s *Step) sourceRel(src *models.Source, fresh bool, only int) string {
	d := s.c.Dialect
	var outer, inner []string
	if src.Timestamp != "" {
		inner = append(inner, "CAST(src."+d.Quote(src.Timestamp)+" AS "+d.TypeName("timestamp")+") AS seen_at")
	} else {
		inner = append(inner, "CAST(NULL AS "+d.TypeName("timestamp")+") AS seen_at")
	}
	outer = append(outer, "seen_at")
	for i, id := range src.Identifiers {
		if only >= 0 && i != only {
			continue
		}
		n := strconv.Itoa(i + 1)
		rule := s.c.Project.Identity.Rule(id.Type)
		inner = append(inner, NormalizeExpr(d, rule, "src."+d.Quote(id.Column))+" AS v"+n)
		outer = append(outer, "v"+n)
		if only < 0 {
			outer = append(outer, s.keyExpr(lit(id.Type), "v"+n)+" AS k"+n)
		}
	}
	from := SourceRows(s.c, src) + " src"
	if fresh {
		from += s.sinceFilter(src)
	}
	return "SELECT " + strings.Join(outer, ", ") + "\n  FROM (\n    SELECT " + strings.Join(inner, ",\n      ") +
		"\n    FROM " + from + "\n  ) normalized"
}

// inGraph is the condition under which identifier column i of a source
// is an identifier: not empty (excluded values leave later, by key).
func inGraph(i int) string { return "v" + strconv.Itoa(i+1) + " IS NOT NULL" }

// withSources starts a statement with one CTE per source, named after it.
func (s *Step) withSources(q *plan.Builder, fresh bool, only func(src *models.Source) bool) {
	var ctes []string
	for _, src := range s.srcs {
		if only != nil && !only(src) {
			continue
		}
		ctes = append(ctes, "-- source "+src.Name+" ("+src.Pos.String()+"): identifiers normalized, keyed by a 64-bit hash of type:value\n"+
			s.srcName(src)+" AS (\n  "+s.sourceRel(src, fresh, -1)+"\n)")
	}
	q.W("WITH ", strings.Join(ctes, ",\n"), "\n")
}

func (s *Step) srcName(src *models.Source) string { return s.c.Dialect.Quote("source_" + src.Name) }

// nodesSQL: one row per distinct identifier with when it was first and last
// seen. Each identifier column is read on its own (a source CTE used twice
// would be materialized). Occurrences are grouped per type by value alone and
// keyed after grouping: a narrow group key of one string, hashed 8M times
// instead of 20M, took 25-40% off this statement on the benchmark.
func (s *Step) nodesSQL(fresh bool) plan.Statement {
	q := &plan.Builder{}
	q.W("-- nodes: every distinct identifier that entered the graph, with the first and last time a source saw it\n")
	var types []string
	parts := map[string][]string{}
	for _, src := range s.srcs {
		for j, id := range src.Identifiers {
			n := strconv.Itoa(j + 1)
			if parts[id.Type] == nil {
				types = append(types, id.Type)
			}
			parts[id.Type] = append(parts[id.Type], fmt.Sprintf("    -- %s\n    SELECT v%s AS identifier_value, seen_at\n    FROM (%s) %s\n    WHERE %s",
				plan.CommentSafe(src.Name+"."+id.Column), n, s.sourceRel(src, fresh, j), d(s).Quote(src.Name), inGraph(j)))
		}
	}
	seen := "min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at"
	if !s.timed() {
		ts := d(s).TypeName("timestamp")
		seen = "CAST(NULL AS " + ts + ") AS first_seen_at, CAST(NULL AS " + ts + ") AS last_seen_at"
	}
	var byType []string
	for _, t := range types {
		byType = append(byType, "-- "+t+"\nSELECT "+s.keyExpr(lit(t), "identifier_value")+" AS key, "+lit(t)+" AS identifier_type, identifier_value, "+seen+
			"\nFROM (\n"+strings.Join(parts[t], "\n    UNION ALL\n")+"\n) occurrences\nGROUP BY identifier_value")
	}
	q.W(strings.Join(byType, "\nUNION ALL\n"))
	return q.Statement(s.c.Dialect)
}

func d(s *Step) dialects.Dialect { return s.c.Dialect }

// edgesSQL: every pair of identifiers found in one source row as (a < b),
// each once when distinct (else once per source row: round 1 contracts
// duplicates away, see rawLinks).
func (s *Step) edgesSQL(fresh, distinct bool) plan.Statement {
	q := &plan.Builder{}
	if distinct {
		q.W("-- links: every two identifiers of one source row, each link once with a < b\n")
	} else {
		q.W("-- links: every two identifiers of one source row with a < b, once per row (round 1 removes duplicates)\n")
	}
	linked := func(src *models.Source) bool { return len(src.Identifiers) > 1 }
	var parts []string
	for _, src := range s.srcs {
		if !linked(src) {
			continue
		}
		if len(src.Identifiers) == 2 {
			parts = append(parts, "  SELECT k1 AS a, k2 AS b FROM "+s.srcName(src)+" WHERE "+inGraph(0)+" AND "+inGraph(1))
			continue
		}
		var as, bs []string
		var pairs [][]string
		for a := range src.Identifiers {
			for b := a + 1; b < len(src.Identifiers); b++ {
				pa, pb := strconv.Itoa(a+1), strconv.Itoa(b+1)
				pairs = append(pairs, []string{pa, pb})
				as = append(as, "WHEN "+pa+" THEN CASE WHEN "+inGraph(a)+" THEN k"+pa+" END")
				bs = append(bs, "WHEN "+pb+" THEN CASE WHEN "+inGraph(b)+" THEN k"+pb+" END")
			}
		}
		parts = append(parts, fmt.Sprintf("  SELECT a, b FROM (\n    SELECT CASE pair.i %s END AS a, CASE pair.j %s END AS b\n"+
			"    FROM %s CROSS JOIN %s\n  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL",
			strings.Join(as, " "), strings.Join(bs, " "), s.srcName(src), dialects.Values(s.c.Dialect, pairs, "pair", []string{"i", "j"})))
	}
	if len(parts) == 0 {
		q.W("SELECT key AS a, key AS b FROM ", s.w("nodes"), " WHERE 1 = 0")
		return q.Statement(s.c.Dialect)
	}
	s.withSources(q, fresh, linked)
	q.W("SELECT ", map[bool]string{true: "DISTINCT ", false: ""}[distinct], "least(a, b) AS a, greatest(a, b) AS b\nFROM (\n", strings.Join(parts, "\n  UNION ALL\n"), "\n) pairs\nWHERE a <> b")
	return q.Statement(s.c.Dialect)
}

// rulesWith lists the identifier rules that have a property.
func (s *Step) rulesWith(has func(*models.IdentifierRule) bool) []*models.IdentifierRule {
	var r []*models.IdentifierRule
	for _, id := range s.c.Project.Identity.Identifiers {
		if has(id) {
			r = append(r, id)
		}
	}
	return r
}

// excludeRules are the identifier rules with exclude patterns.
func (s *Step) excludeRules() []*models.IdentifierRule {
	return s.rulesWith(func(r *models.IdentifierRule) bool { return len(r.Exclude) > 0 })
}

// excludedSQL: the identifiers of nodes that an exclude rule keeps out, with
// the first pattern they match. Tested once per distinct identifier, not per
// source row; they stay in nodes until the collision check has seen them.
func (s *Step) excludedSQL(nodes string) plan.Statement {
	d := s.c.Dialect
	q := &plan.Builder{}
	text := d.TypeName("text")
	var whens []string
	for _, r := range s.excludeRules() {
		for _, p := range r.Exclude {
			whens = append(whens, "WHEN identifier_type = "+lit(r.Type)+" AND "+d.RegexpMatches("identifier_value", "CAST("+q.Arg(p)+" AS "+text+")")+
				" THEN CAST("+q.Arg("matches "+p)+" AS "+text+")")
		}
	}
	q.W("-- excluded: identifiers an exclude rule keeps out of the graph, with the first pattern they match\n",
		"SELECT key, identifier_type, identifier_value, detail\nFROM (\n  SELECT key, identifier_type, identifier_value, CASE ",
		strings.Join(whens, "\n    "), " END AS detail\n  FROM ", nodes, "\n) tested\nWHERE detail IS NOT NULL")
	return q.Statement(d)
}

// dropExcludedSQL takes the excluded identifiers out of nodes, or their
// links out of edges.
func (s *Step) dropExcludedSQL(table string, links bool) plan.Statement {
	gone := "(SELECT key FROM " + s.w("excluded") + ")"
	if links {
		return plan.Statement{SQL: "-- links to an excluded identifier leave the graph\nDELETE FROM " + table + " WHERE a IN " + gone + " OR b IN " + gone}
	}
	return plan.Statement{SQL: "-- excluded identifiers leave the graph\nDELETE FROM " + table + " WHERE key IN " + gone}
}

// hubRules are the identifier rules with max_links.
func (s *Step) hubRules() []*models.IdentifierRule {
	return s.rulesWith(func(r *models.IdentifierRule) bool { return r.MaxLinks > 0 })
}

// limitRules are the identifier rules with a limit.
func (s *Step) limitRules() []*models.IdentifierRule {
	return s.rulesWith(func(r *models.IdentifierRule) bool { return r.Limit > 0 })
}

// hubsSQL finds junk hubs: identifiers linked to more distinct identifiers
// than their type's max_links, counted over links (distinct), among nodes.
func (s *Step) hubsSQL(links, nodes string) plan.Statement {
	d := s.c.Dialect
	q := &plan.Builder{}
	q.W("-- junk hubs: identifiers linked to more distinct identifiers than max_links allows\n")
	var conds, maxes []string
	for _, r := range s.hubRules() {
		conds = append(conds, "(n.identifier_type = "+lit(r.Type)+" AND l.links > "+strconv.Itoa(r.MaxLinks)+")")
		maxes = append(maxes, "WHEN "+lit(r.Type)+" THEN "+lit(strconv.Itoa(r.MaxLinks)))
	}
	text := d.TypeName("text")
	q.W("SELECT n.key, n.identifier_type, n.identifier_value,\n  'linked to ' || CAST(l.links AS ", text, ") || ' distinct identifiers (max_links ' || CASE n.identifier_type ",
		strings.Join(maxes, " "), " END || ')' AS detail\n",
		"FROM (SELECT key, count(*) AS links FROM (SELECT a AS key FROM ", links, " e UNION ALL SELECT b FROM ", links, " e) ends GROUP BY key) l\n",
		"JOIN ", nodes, " n ON n.key = l.key\nWHERE ", strings.Join(conds, "\n   OR "))
	return q.Statement(d)
}

func (s *Step) dropHubsSQL() []plan.Statement {
	hubs := "(SELECT key FROM " + s.w("hubs") + ")"
	return []plan.Statement{
		{SQL: "-- junk hubs leave the graph with their links\nDELETE FROM " + s.w("edges") + " WHERE a IN " + hubs + " OR b IN " + hubs},
		{SQL: "DELETE FROM " + s.w("nodes") + " WHERE key IN " + hubs},
	}
}

// roundChoiceSQL is the first half of a contraction round: each node of
// the links {in} chooses the smallest key among itself and its neighbours
// (moves).
func (s *Step) roundChoiceSQL(moves string) []plan.Node {
	return []plan.Node{exec("-- each node takes the smallest key among itself and its neighbours (links are a < b, so only b can move)\n" +
		s.c.Dialect.CreateTableAs(moves, "SELECT b AS node, min(a) AS parent FROM {in} GROUP BY b", true))}
}

// roundContractSQL contracts the links {in} to the choices (moves) into {out}.
func (s *Step) roundContractSQL(moves string) []plan.Node {
	return []plan.Node{exec("-- contract: each link now joins its ends' choices; links inside one cluster vanish, so finished clusters drop out\n" +
		s.c.Dialect.CreateTableAs("{out}", "SELECT DISTINCT least(pa, pb) AS a, greatest(pa, pb) AS b\nFROM (\n"+
			"  SELECT coalesce(ma.parent, e.a) AS pa, mb.parent AS pb\n  FROM {in} e\n"+
			"  LEFT JOIN "+moves+" ma ON ma.node = e.a\n  JOIN "+moves+" mb ON mb.node = e.b\n) contracted\nWHERE pa <> pb", true))}
}

// reshuffleSQL gives the remaining nodes of the links {in} new random keys
// (moves: a hash of the old key with the round's salt), the guard against
// long chains converging slowly.
func (s *Step) reshuffleSQL(moves string) []plan.Node {
	d := s.c.Dialect
	return []plan.Node{exec("-- the remaining nodes get new random keys: a hash of the old key salted with the round\n" +
		d.CreateTableAs(moves, "SELECT node, "+d.Hash64("CAST(node AS "+d.TypeName("text")+") || 'r{r}:'")+" AS parent\nFROM (SELECT a AS node FROM {in} "+dialects.Union(d)+" SELECT b FROM {in}) n", true))}
}

// reshuffledSQL writes the links {in} with their ends' new keys into {out}.
func (s *Step) reshuffledSQL(moves string) []plan.Node {
	return []plan.Node{exec(s.c.Dialect.CreateTableAs("{out}", "SELECT DISTINCT least(ra.parent, rb.parent) AS a, greatest(ra.parent, rb.parent) AS b\nFROM {in} e\n"+
		"JOIN "+moves+" ra ON ra.node = e.a\nJOIN "+moves+" rb ON rb.node = e.b", true))}
}

// shuffleClashes counts the remaining nodes a reshuffle gave a key another has.
func (s *Step) shuffleClashes(moves string) string {
	return "SELECT count(*) - count(DISTINCT parent) FROM " + moves
}

// rootsSQL builds the roots known after one more round's moved nodes,
// rounds taken last to first: a node's root is the root of the node it moved
// to, or that node itself when it never moved later. A node that moved in a
// later round already has its root. Each step is a CREATE TABLE AS of the
// previous roots plus the new ones (parallel where INSERT … SELECT is not).
func (s *Step) rootsSQL(moves, prev, target string) plan.Statement {
	return plan.Statement{SQL: s.c.Dialect.CreateTableAs(target, "SELECT node, root FROM "+prev+"\nUNION ALL\n"+
		"SELECT m.node, coalesce(f.root, m.parent)\nFROM "+moves+" m\n"+
		"LEFT JOIN "+prev+" f ON f.node = m.parent\nWHERE NOT EXISTS (SELECT 1 FROM "+prev+" g WHERE g.node = m.node)", true)}
}

// labeled is every identifier with its cluster (its root, or itself when it
// never moved), as a FROM item: the identifiers' strings are not copied into
// another table.
func (s *Step) labeled() string {
	return "(SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp\n" +
		"  FROM " + s.w("nodes") + " n LEFT JOIN " + s.w("roots") + " r ON r.node = n.key)"
}

// violatorsSQL lists the clusters holding more identifiers of a type than its limit.
func (s *Step) violatorsSQL() plan.Statement {
	var types, limits []string
	for _, r := range s.limitRules() {
		types = append(types, lit(r.Type))
		limits = append(limits, "WHEN "+lit(r.Type)+" THEN "+strconv.Itoa(r.Limit))
	}
	return plan.Statement{SQL: "-- clusters over a limit: only these are refined\n" + s.c.Dialect.CreateTableAs(s.w("violators"),
		"SELECT DISTINCT comp FROM (\n  SELECT comp FROM "+s.labeled()+" labeled\n  WHERE identifier_type IN ("+strings.Join(types, ", ")+")\n"+
			"  GROUP BY comp, identifier_type\n  HAVING count(*) > CASE identifier_type "+strings.Join(limits, " ")+" END\n) over_limit", true)}
}

func (s *Step) violatorLinksSQL() string {
	// the second side's columns are renamed: BigQuery refuses a result
	// with two columns of one name
	return "SELECT la.comp, la.key, la.identifier_type, la.identifier_value, lb.key AS b_key, lb.identifier_type AS b_type, lb.identifier_value AS b_value\n" +
		"FROM " + s.w("edges") + " e\nJOIN " + s.labeled() + " la ON la.key = e.a\nJOIN " + s.labeled() + " lb ON lb.key = e.b\n" +
		"WHERE la.comp IN (SELECT comp FROM " + s.w("violators") + ")"
}

func (s *Step) applyRefinedSQL() []plan.Statement {
	return []plan.Statement{
		{SQL: "-- the refined clusters replace the ones over a limit\nDELETE FROM " + s.w("roots") + " WHERE node IN (SELECT key FROM " + s.w("refined") + ")"},
		{SQL: "INSERT INTO " + s.w("roots") + " (node, root) SELECT key, comp FROM " + s.w("refined")},
	}
}

// anchorsSQL picks each cluster's anchor — highest-priority type, earliest
// seen, then type:value byte order — and derives the profile id from it.
// The parts of the anchor key that are the same for every identifier are
// left out (one type: no priority and no type; no source timestamp: no first
// seen): building a longer string per identifier only to compare equal
// prefixes took half of the statement's time on the benchmark.
func (s *Step) anchorsSQL() plan.Statement {
	d := s.c.Dialect
	types := s.identifierTypes()
	var parts, what []string // the key's parts, and what each is
	skip := 0                // the characters before the identifier
	if len(types) > 1 {
		var ranks []string
		for i, r := range s.c.Project.Identity.Identifiers {
			ranks = append(ranks, fmt.Sprintf("WHEN %s THEN '%03d'", lit(r.Type), i))
		}
		rankExpr := "'999'"
		if len(ranks) > 0 {
			rankExpr = "CASE identifier_type " + strings.Join(ranks, " ") + " ELSE '999' END"
		}
		parts, what, skip = append(parts, rankExpr), append(what, "priority (3 chars)"), skip+3
	}
	if s.timed() {
		text := d.TypeName("text")
		parts = append(parts, "coalesce(lpad(CAST(CAST(floor("+d.EpochSeconds("first_seen_at")+" * 1000) AS BIGINT) AS "+text+"), 17, '0'), '99999999999999999')")
		what, skip = append(what, "first seen in ms (17)"), skip+17
	}
	id, of := "min(anchor_key)", "it"
	if skip > 0 {
		id, of = "substr(min(anchor_key), "+strconv.Itoa(skip+1)+")", "what follows char "+strconv.Itoa(skip)
	}
	if len(types) == 1 {
		parts, what = append(parts, "identifier_value"), append(what, "value (one type)")
		id, of = lit(types[0]+":")+" || "+id, lit(types[0]+":")+" || "+of
	} else {
		parts, what = append(parts, "identifier_type || ':' || identifier_value"), append(what, "type:value")
	}
	key := d.TextOrder(strings.Join(parts, " || "))
	return plan.Statement{SQL: "-- anchors: per cluster the identifier of highest priority, earliest seen, then by type:value;\n" +
		"-- the anchor key is " + strings.Join(what, " || ") + ", so the id is md5 of " + of + "\n" +
		d.CreateTableAs(s.w("anchors"), "SELECT comp, 'p_' || substr("+d.MD5Hex(id)+", 1, 16) AS profile_id\n"+
			"FROM (SELECT comp, "+key+" AS anchor_key FROM "+s.labeled()+" labeled) keyed\nGROUP BY comp", true)}
}

// identifierTypes are the identifier types the sources read, each once.
func (s *Step) identifierTypes() []string {
	var types []string
	for _, src := range s.srcs {
		for _, id := range src.Identifiers {
			if !slices.Contains(types, id.Type) {
				types = append(types, id.Type)
			}
		}
	}
	return types
}

// timed tells whether a source has a timestamp: otherwise no identifier
// has a first or last seen time.
func (s *Step) timed() bool {
	for _, src := range s.srcs {
		if src.Timestamp != "" {
			return true
		}
	}
	return false
}

const graphCols = "profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at"

// graphSQL: identity_graph, one row per identifier with its profile.
func (s *Step) graphSQL() plan.Statement {
	return plan.Statement{SQL: "-- identity_graph: one row per identifier with its profile\n" +
		s.c.Dialect.CreateTableAs(s.c.Staged(GraphTable), s.newGraphRows(), false)}
}

func (s *Step) newGraphRows() string {
	return "SELECT a.profile_id, l.identifier_type, l.identifier_value, l.first_seen_at, l.last_seen_at\n" +
		"FROM " + s.labeled() + " l\nJOIN " + s.w("anchors") + " a ON a.comp = l.comp"
}

// The tables an incremental run stages beside the identity_graph view.
const (
	graphNew  = "_identity_graph_new"  // the rows of the profiles resolved again
	graphGone = "_identity_graph_gone" // the previous profiles they replace
	// the same for _identity_components
	componentsNew  = "_identity_components_new"
	componentsGone = "_identity_components_gone"
	// keyed: the clusters of the identifiers resolved again, and the
	// profiles resolved again (with their new clusters, and the previous
	// ones without)
	rootsNew    = "_identity_roots_new"
	profilesNew = "_identity_profiles_new"
)

// deltaTables are the tables an incremental run stages besides its outputs.
var deltaTables = []string{graphNew, graphGone, componentsNew, componentsGone, rootsNew, profilesNew}

// graphChangesSQL: an incremental run stages identity_graph as a view of
// the previous one without the profiles it resolved again, plus their new
// rows; graphApply makes the swap apply the same to the final table, so the
// millions of unchanged rows are neither copied nor rewritten.
func (s *Step) graphChangesSQL() []plan.Statement {
	c := s.c
	d := c.Dialect
	return []plan.Statement{
		{SQL: "-- identity_graph of an incremental run: the profiles resolved again\n" + d.CreateTableAs(c.Staged(graphNew), s.newGraphRows(), false)},
		{SQL: d.CreateTableAs(c.Staged(graphGone), "SELECT profile_id FROM "+s.w("affected"), false)},
		{SQL: "-- and every other profile as it was: a view, applied to the final table in the swap\n" +
			d.CreateView(c.Staged(GraphTable), "SELECT "+graphCols+" FROM "+c.Final(GraphTable)+" g\n"+
				"WHERE NOT EXISTS (SELECT 1 FROM "+c.Staged(graphGone)+" x WHERE x.profile_id = g.profile_id)\n"+
				"UNION ALL\nSELECT "+graphCols+" FROM "+c.Staged(graphNew))},
	}
}

// outputNodes build the public tables from the resolved clusters, and the
// state the next run starts from: run as printed.
func (s *Step) outputNodes(hubs, inc bool) []plan.Node {
	c := s.c
	nodes := s.created(s.w("anchors"), s.anchorsSQL())
	if inc {
		ch := s.graphChangesSQL() // the swap deletes by graphGone: its planner statistics too
		nodes = append(nodes, plan.Exec{Statement: ch[0]}, plan.Exec{Statement: ch[1]})
		nodes = append(append(nodes, s.analyze(c.Staged(graphGone))...), plan.Exec{Statement: ch[2]})
	} else {
		nodes = append(nodes, s.hinted(c.Staged(GraphTable), s.graphSQL(), profileShare, "profile_id")...)
	}
	nodes = append(nodes, s.graphPublish(inc))
	nodes = append(nodes, s.created(c.Staged(RejectionsTable), s.rejectionsSQL(hubs, inc))...)
	lineage := func(graph, lineage bool) []plan.Node {
		return s.created(c.Staged(LineageTable), s.lineageSQL(graph, lineage, inc))
	}
	if inc { // an increment extends a previous run: its tables exist
		nodes = append(nodes, lineage(true, true)...)
	} else {
		byLineage := func(graph bool) []plan.Node {
			return []plan.Node{plan.IfExists{Table: LineageTable, Then: lineage(graph, true), Else: lineage(graph, false)}}
		}
		nodes = append(nodes, plan.IfExists{Table: GraphTable, Then: byLineage(true), Else: byLineage(false)})
	}
	nodes = append(nodes, s.componentsSQL(inc)...)
	nodes = append(nodes, s.keyedStateSQL(inc)...)
	if inc { // the new keys and links staged with the increment are appended
		nodes = append(nodes, plan.Publish{Table: KeysTable, Cols: "key", Append: true}, plan.Publish{Table: LinksTable, Cols: "a, b", Append: true})
	}
	return append(nodes, s.created(c.Staged(StateTable), s.stateSQL(inc))...)
}

// created builds a table with st (a CREATE TABLE AS of it): any table of
// that name left by a failed run is dropped first, and the planner's
// statistics are refreshed after where the warehouse needs it.
func (s *Step) created(table string, st plan.Statement) []plan.Node { return s.hinted(table, st, 0) }

// graphPublish is how identity_graph is published: an increment's
// changes are applied to the final table, a rebuild's table replaces it.
func (s *Step) graphPublish(inc bool) plan.Publish {
	if inc {
		return plan.Publish{Table: GraphTable, Apply: s.graphApply()}
	}
	return plan.Publish{Table: GraphTable}
}

// graphApply brings the final identity_graph up to date in the swap.
func (s *Step) graphApply() []string {
	c := s.c
	return []string{
		"DELETE FROM " + c.Final(GraphTable) + " WHERE profile_id IN (SELECT profile_id FROM " + c.Staged(graphGone) + ")",
		"INSERT INTO " + c.Final(GraphTable) + " (" + graphCols + ") SELECT " + graphCols + " FROM " + c.Staged(graphNew),
		c.Dialect.DropTable(c.Staged(graphNew)),
		c.Dialect.DropTable(c.Staged(graphGone)),
	}
}

func (s *Step) cutLinksCreateSQL() plan.Statement {
	t := s.c.Dialect.TypeName("text")
	return plan.Statement{SQL: "-- links a limit cut (filled from the refinement)\n" + s.c.Dialect.CreateTableAs(s.c.Staged(CutLinksTable),
		"SELECT CAST(NULL AS "+t+") AS a_type, CAST(NULL AS "+t+") AS a_value, CAST(NULL AS "+t+") AS b_type, CAST(NULL AS "+t+") AS b_value, CAST(NULL AS "+t+") AS detail LIMIT 0", false)}
}

// rejectionsSQL: identity_rejections; an incremental run reads the new rows
// only, so it keeps the previous exclusions.
func (s *Step) rejectionsSQL(hubs, inc bool) plan.Statement {
	var parts []string
	if len(s.excludeRules()) > 0 {
		parts = append(parts, "  SELECT identifier_type, identifier_value, '"+RuleExclude+"' AS rule, detail FROM "+s.w("excluded"))
	}
	if hubs {
		parts = append(parts, "  SELECT identifier_type, identifier_value, '"+RuleMaxLinks+"' AS rule, detail FROM "+s.w("hubs"))
	}
	parts = append(parts, "  SELECT b_type AS identifier_type, b_value AS identifier_value, '"+RuleLimit+"' AS rule, detail FROM "+s.c.Staged(CutLinksTable))
	if inc {
		parts = append(parts, "  SELECT identifier_type, identifier_value, rule, detail FROM "+s.c.Final(RejectionsTable)+" WHERE rule = '"+RuleExclude+"'")
	}
	return plan.Statement{SQL: "-- identity_rejections: what each rule kept out of the graph\n" + s.c.Dialect.CreateTableAs(s.c.Staged(RejectionsTable),
		"SELECT DISTINCT identifier_type, identifier_value, rule, detail\nFROM (\n"+strings.Join(parts, "\n  UNION ALL\n")+"\n) rejected", false)}
}

// lineageSQL carries the previous lineage over (when there is one) and adds
// every previous profile id that no longer exists, merged into the new
// profile holding most of its identifiers. An incremental run compares only
// the profiles it resolved again: no other id can vanish.
func (s *Step) lineageSQL(prevGraph, prevLineage, inc bool) plan.Statement {
	d := s.c.Dialect
	t := d.TypeName("text")
	ts := d.TypeName("timestamp")
	q := &plan.Builder{}
	var parts []string
	if prevLineage {
		parts = append(parts, "SELECT profile_id, merged_profile_id, merged_at FROM "+s.c.Final(LineageTable))
	}
	if prevGraph {
		old, cur := s.c.Final(GraphTable), s.c.Staged(GraphTable)
		pairs := "  FROM " + old + " o\n  JOIN " + cur + " n ON n.identifier_type = o.identifier_type AND n.identifier_value = o.identifier_value\n" +
			"  WHERE o.profile_id IN (SELECT profile_id FROM " + old + " " + dialects.Except(d) + " SELECT profile_id FROM " + cur + ")\n"
		if inc {
			pairs = "  FROM " + s.w("old") + " o\n  JOIN " + s.labeled() + " l ON l.key = o.key\n  JOIN " + s.w("anchors") + " n ON n.comp = l.comp\n" +
				"  WHERE NOT EXISTS (SELECT 1 FROM " + s.w("anchors") + " x WHERE x.profile_id = o.profile_id)\n"
		}
		parts = append(parts, "SELECT profile_id, merged_profile_id, CAST("+q.Arg(plan.TimeArg(s.c.Now))+" AS "+ts+") AS merged_at\nFROM (\n"+
			"  SELECT n.profile_id, o.profile_id AS merged_profile_id,\n"+
			"    row_number() OVER (PARTITION BY o.profile_id ORDER BY count(*) DESC, "+d.TextOrder("n.profile_id")+") AS pick\n"+
			pairs+"  GROUP BY n.profile_id, o.profile_id\n) merged\nWHERE pick = 1")
	}
	if len(parts) == 0 {
		parts = append(parts, "SELECT CAST(NULL AS "+t+") AS profile_id, CAST(NULL AS "+t+") AS merged_profile_id, CAST(NULL AS "+ts+") AS merged_at LIMIT 0")
	}
	q.W("-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers\n")
	q.W(d.CreateTableAs(s.c.Staged(LineageTable), strings.Join(parts, "\nUNION ALL\n"), false))
	return q.Statement(d)
}

// SQL is the step's plan as compile prints it: what Run executes.
func (s *Step) SQL() string {
	return plan.Comment(s.header()) + plan.Print(s.Plan())
}

// ctas wraps a query statement into CREATE TABLE AS for a work table,
// keeping its leading comment lines on top.
func ctas(d interface {
	CreateTableAs(string, string, bool) string
}, table string, q plan.Statement) plan.Statement {
	comment, body := plan.SplitComment(q.SQL)
	return plan.Statement{SQL: comment + d.CreateTableAs(table, body, true), Args: q.Args}
}
