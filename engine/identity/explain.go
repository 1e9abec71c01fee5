package identity

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// explainRowLimit caps the source rows Explain reads for the two profiles.
const explainRowLimit = 200000

// Explanation says why two identifiers are, or are not, one profile.
type Explanation struct {
	A           Ident  `json:"a"`
	B           Ident  `json:"b"`
	ProfileA    string `json:"profile_a,omitempty"`
	ProfileB    string `json:"profile_b,omitempty"`
	SameProfile bool   `json:"same_profile"`
	// Path is the chain of links from A to B; when they are apart, the
	// chain the rules broke, with the blocked hops marked.
	Path []Hop `json:"path"`
	// Reasons say why they are apart (rules and the rejection details).
	Reasons []string `json:"reasons,omitempty"`
}

// Hop is one link: two identifiers in one source row.
type Hop struct {
	From    Ident  `json:"from"`
	To      Ident  `json:"to"`
	Source  string `json:"source"`
	Row     string `json:"row"`               // the row's primary key, or its identifier columns
	Blocked string `json:"blocked,omitempty"` // the rule that kept this link out

	// what Row was written from, to write it again masked (Redact)
	keyed bool   // cells is the primary key alone
	cells []cell // column and value, in the source's order
}

// cell is one column of a source row, with its value and, for an
// identifier column, the identifier's type (the value is normalized).
type cell struct{ column, value, typ string }

// rowText names a source row by its primary key, or else by its identifier
// columns.
func rowText(keyed bool, cells []cell) string {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = c.column + "=" + c.value
	}
	if keyed {
		return strings.Join(parts, ", ")
	}
	return "row with " + strings.Join(parts, ", ")
}

// Redact masks, in place, what p says is personal data, with models.Mask:
// the identifiers of personal types in the path, the reasons and the
// blocked links, and the values of personal columns naming a source row.
// A and B stay readable, in the rows too: whoever asked typed them.
func (e *Explanation) Redact(p models.Personal) {
	hide := func(id Ident) Ident {
		if p.Identifiers[id.Type] && id != e.A && id != e.B {
			id.Value = models.Mask(id.Value)
		}
		return id
	}
	type pair struct{ old, new string } // the reasons quote identifiers as TYPE:VALUE
	var quoted []pair
	for i, h := range e.Path {
		for _, id := range []Ident{h.From, h.To} {
			if m := hide(id); m != id {
				quoted = append(quoted, pair{id.String(), m.String()})
			}
		}
		e.Path[i].From, e.Path[i].To = hide(h.From), hide(h.To)
		if len(h.cells) > 0 {
			cells := make([]cell, len(h.cells)) // a copy: the hops of one row share theirs
			for j, c := range h.cells {
				asked := c.typ != "" && (Ident{c.typ, c.value} == e.A || Ident{c.typ, c.value} == e.B)
				if p.Column(h.Source, c.column) && !asked {
					c.value = models.Mask(c.value)
				}
				cells[j] = c
			}
			e.Path[i].Row = rowText(h.keyed, cells)
		}
	}
	// the longest first, so that no identifier is replaced inside a longer one
	sort.SliceStable(quoted, func(i, j int) bool { return len(quoted[i].old) > len(quoted[j].old) })
	args := make([]string, 0, 2*len(quoted))
	for _, q := range quoted {
		args = append(args, q.old, q.new)
	}
	r := strings.NewReplacer(args...)
	for i, reason := range e.Reasons {
		e.Reasons[i] = r.Replace(reason)
	}
	for i, h := range e.Path {
		e.Path[i].Blocked = r.Replace(h.Blocked)
	}
}

func (e *Explanation) String() string {
	var b strings.Builder
	switch {
	case e.A == e.B:
		fmt.Fprintf(&b, "both are %s, the same identifier (%s): name two different identifiers to see what joins them\n", e.A, orNone(e.ProfileA))
	case e.SameProfile:
		fmt.Fprintf(&b, "%s and %s are one profile (%s), joined by %s:\n", e.A, e.B, e.ProfileA, plan.Count(int64(len(e.Path)), "link"))
	default:
		fmt.Fprintf(&b, "%s (%s) and %s (%s) are apart.\n", e.A, orNone(e.ProfileA), e.B, orNone(e.ProfileB))
		for _, r := range e.Reasons {
			fmt.Fprintf(&b, "  %s\n", r)
		}
		if len(e.Path) > 0 {
			b.WriteString("The chain of links that would join them:\n")
		}
	}
	for _, h := range e.Path {
		fmt.Fprintf(&b, "  %s — %s   (%s, %s)", h.From, h.To, h.Source, h.Row)
		if h.Blocked != "" {
			fmt.Fprintf(&b, "   BLOCKED: %s", h.Blocked)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func orNone(p string) string {
	if p == "" {
		return "in no profile"
	}
	return "profile " + p
}

// Explain finds the chain of source rows that joins two identifiers, or
// what kept them apart. It reads the rows of the sources that hold an
// identifier of either profile (or either identifier) and, when limits cut
// them from one component, of the component's other profiles.
func Explain(ctx context.Context, wh dialects.Warehouse, c *plan.Context, a, b Ident) (*Explanation, error) {
	if err := c.RequireFinal(ctx, wh, GraphTable); err != nil {
		return nil, err
	}
	var err error
	for _, id := range []*Ident{&a, &b} {
		if id.Value, err = normalize(ctx, wh, c, id.Type, id.Value); err != nil {
			return nil, err
		}
	}
	e := &Explanation{A: a, B: b, Path: []Hop{}}
	if e.ProfileA, err = profileOf(ctx, wh, c, a); err != nil {
		return nil, err
	}
	if a == b { // written twice, or two spellings of one (normalized above): nothing joins it to itself
		e.ProfileB, e.SameProfile = e.ProfileA, e.ProfileA != ""
		return e, nil
	}
	if e.ProfileB, err = profileOf(ctx, wh, c, b); err != nil {
		return nil, err
	}
	e.SameProfile = e.ProfileA != "" && e.ProfileA == e.ProfileB

	// the local graph: rows touching either profile or either identifier,
	// and, when limits cut them apart, the other profiles cut from the same
	// component (the broken chain may run through them)
	profiles := []string{e.ProfileA, e.ProfileB}
	if !e.SameProfile && e.ProfileA != "" && e.ProfileB != "" {
		peers, err := componentPeers(ctx, wh, c, e.ProfileA, e.ProfileB)
		if err != nil {
			return nil, err
		}
		profiles = append(profiles, peers...)
	}
	g := &localGraph{adj: map[Ident][]Hop{}}
	for _, src := range c.Project.Sources {
		if len(src.Identifiers) < 2 {
			continue
		}
		if err := g.load(ctx, wh, c, src, profiles, []Ident{a, b}); err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
	}
	// what blocks identifiers and links
	members, err := membersOf(ctx, wh, c, profiles)
	if err != nil {
		return nil, err
	}
	blockedID := map[Ident]string{}
	for id := range g.adj {
		if id == a || id == b || !members[id] {
			rule, detail, err := rejection(ctx, wh, c, id)
			if err != nil {
				return nil, err
			}
			if rule != "" {
				blockedID[id] = rule + ": " + id.String() + " " + detail
			}
		}
	}
	cuts, err := cutLinks(ctx, wh, c)
	if err != nil {
		return nil, err
	}
	blockOf := func(h Hop) string {
		if r, ok := blockedID[h.From]; ok {
			return r
		}
		if r, ok := blockedID[h.To]; ok {
			return r
		}
		if d, ok := cuts[[2]Ident{h.From, h.To}]; ok {
			return "limit: " + d
		}
		if d, ok := cuts[[2]Ident{h.To, h.From}]; ok {
			return "limit: " + d
		}
		return ""
	}
	if path := g.path(a, b, func(h Hop) bool { return blockOf(h) == "" }); path != nil && e.SameProfile {
		e.Path = path
		return e, nil
	}
	for _, id := range []Ident{a, b} {
		if r, ok := blockedID[id]; ok {
			e.Reasons = append(e.Reasons, "rejected by "+r)
		}
	}
	if path := g.path(a, b, func(Hop) bool { return true }); path != nil {
		for i := range path {
			path[i].Blocked = blockOf(path[i])
			if path[i].Blocked != "" {
				e.Reasons = append(e.Reasons, path[i].Blocked)
			}
		}
		e.Path = path
	}
	if len(e.Reasons) == 0 {
		e.Reasons = append(e.Reasons, "no source row links them, directly or through the identifiers of their profiles")
	}
	e.Reasons = dedupe(e.Reasons)
	return e, nil
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// localGraph is the links among the identifiers of a few source rows.
type localGraph struct {
	adj map[Ident][]Hop
}

// explainPeerLimit caps the other profiles of a component Explain reads.
const explainPeerLimit = 50

// componentPeers lists the other profiles of the component two profiles
// were cut from by limits (none when they are of different components, or
// the run kept no components).
func componentPeers(ctx context.Context, wh dialects.Warehouse, c *plan.Context, pa, pb string) ([]string, error) {
	if ok, err := c.FinalExists(ctx, wh, ComponentsTable); err != nil || !ok {
		return nil, err
	}
	comps := c.Final(ComponentsTable)
	q := dialects.Bind(wh.Dialect(), "SELECT profile_id FROM "+comps+" WHERE component = (SELECT component FROM "+comps+" WHERE profile_id = ?)\n"+
		"  AND component = (SELECT component FROM "+comps+" WHERE profile_id = ?) AND profile_id NOT IN (?, ?)\nORDER BY profile_id LIMIT "+fmt.Sprint(explainPeerLimit))
	rows, err := wh.Query(ctx, q, pa, pb, pa, pb)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var peers []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		peers = append(peers, p)
	}
	return peers, rows.Err()
}

// inList binds profile ids as an IN list.
func inList(q *plan.Builder, profiles []string) string {
	vs := make([]any, len(profiles))
	for i, p := range profiles {
		vs[i] = p
	}
	return q.List(vs...)
}

// membersOf is the set of identifiers of some profiles.
func membersOf(ctx context.Context, wh dialects.Warehouse, c *plan.Context, profiles []string) (map[Ident]bool, error) {
	q := &plan.Builder{}
	q.W("SELECT identifier_type, identifier_value FROM ", c.Final(GraphTable), " WHERE profile_id IN ", inList(q, profiles))
	st := q.Statement(wh.Dialect())
	rows, err := wh.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[Ident]bool{}
	for rows.Next() {
		var id Ident
		if err := rows.Scan(&id.Type, &id.Value); err != nil {
			return nil, err
		}
		m[id] = true
	}
	return m, rows.Err()
}

// load reads a source's rows that hold an identifier of the given profiles
// or one of the given identifiers, and adds their links.
func (g *localGraph) load(ctx context.Context, wh dialects.Warehouse, c *plan.Context, src *models.Source, profiles []string, ids []Ident) error {
	d := wh.Dialect()
	q := &plan.Builder{}
	text := d.TypeName(dialects.Text)
	var cols, conds []string
	key := "CAST(NULL AS " + text + ")"
	if src.PrimaryKey != "" {
		key = "CAST(src." + d.Quote(src.PrimaryKey) + " AS " + text + ")"
	}
	cols = append(cols, key)
	for _, id := range src.Identifiers {
		norm := NormalizeExpr(d, c.Project.Identity.Rule(id.Type), "src."+d.Quote(id.Column))
		cols = append(cols, norm)
		conds = append(conds, norm+" IN (SELECT identifier_value FROM "+c.Final(GraphTable)+" WHERE identifier_type = "+lit(id.Type)+
			" AND profile_id IN "+inList(q, profiles)+")")
		for _, x := range ids {
			if x.Type == id.Type {
				conds = append(conds, norm+" = "+q.Arg(x.Value))
			}
		}
	}
	q.W("SELECT ", strings.Join(cols, ", "), " FROM ", plan.Relation(d, src), " src\nWHERE ", strings.Join(conds, "\n   OR "),
		fmt.Sprintf("\nLIMIT %d", explainRowLimit))
	st := q.Statement(d)
	rows, err := wh.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]*string, len(cols))
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		for i := range vals {
			vals[i] = nil
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		var cells []cell
		keyed := vals[0] != nil
		if keyed {
			cells = []cell{{column: src.PrimaryKey, value: *vals[0]}}
		} else {
			for i, id := range src.Identifiers {
				if vals[i+1] != nil {
					cells = append(cells, cell{id.Column, *vals[i+1], id.Type})
				}
			}
		}
		row := rowText(keyed, cells)
		for i := range src.Identifiers {
			for j := i + 1; j < len(src.Identifiers); j++ {
				if vals[i+1] == nil || vals[j+1] == nil {
					continue
				}
				x, y := Ident{src.Identifiers[i].Type, *vals[i+1]}, Ident{src.Identifiers[j].Type, *vals[j+1]}
				if x == y {
					continue
				}
				g.adj[x] = append(g.adj[x], Hop{From: x, To: y, Source: src.Name, Row: row, keyed: keyed, cells: cells})
				g.adj[y] = append(g.adj[y], Hop{From: y, To: x, Source: src.Name, Row: row, keyed: keyed, cells: cells})
			}
		}
	}
	return rows.Err()
}

// path is a shortest chain of usable hops from a to b (breadth first,
// neighbours in a fixed order), or nil.
func (g *localGraph) path(a, b Ident, usable func(Hop) bool) []Hop {
	for _, hops := range g.adj {
		sort.Slice(hops, func(i, j int) bool {
			if hops[i].To != hops[j].To {
				return hops[i].To.String() < hops[j].To.String()
			}
			if hops[i].Source != hops[j].Source {
				return hops[i].Source < hops[j].Source
			}
			return hops[i].Row < hops[j].Row
		})
	}
	prev := map[Ident]Hop{}
	seen := map[Ident]bool{a: true}
	queue := []Ident{a}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == b {
			var path []Hop
			for n != a {
				h := prev[n]
				path = append([]Hop{h}, path...)
				n = h.From
			}
			return path
		}
		for _, h := range g.adj[n] {
			if !seen[h.To] && usable(h) {
				seen[h.To] = true
				prev[h.To] = h
				queue = append(queue, h.To)
			}
		}
	}
	return nil
}

// cutLinks reads the links limits cut, keyed by both ends.
func cutLinks(ctx context.Context, wh dialects.Warehouse, c *plan.Context) (map[[2]Ident]string, error) {
	out := map[[2]Ident]string{}
	ok, err := c.FinalExists(ctx, wh, CutLinksTable)
	if err != nil || !ok {
		return out, err
	}
	rows, err := wh.Query(ctx, "SELECT a_type, a_value, b_type, b_value, detail FROM "+c.Final(CutLinksTable))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var x, y Ident
		var detail string
		if err := rows.Scan(&x.Type, &x.Value, &y.Type, &y.Value, &detail); err != nil {
			return nil, err
		}
		out[[2]Ident{x, y}] = detail
	}
	return out, errors.Join(rows.Err())
}
