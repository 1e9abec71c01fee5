package identity

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// node is an identifier of a cluster being refined.
type node struct {
	key   int64
	typ   string
	value string
	rank  int
}

func (n node) String() string { return n.typ + ":" + n.value }

// less orders identifiers by priority, then type:value bytes.
func (n node) less(o node) bool {
	if n.rank != o.rank {
		return n.rank < o.rank
	}
	if n.typ != o.typ {
		return n.typ < o.typ
	}
	return n.value < o.value
}

// link joins two identifiers, hi being the stronger end.
type link struct{ hi, lo node }

func newLink(a, b node) link {
	if b.less(a) {
		a, b = b, a
	}
	return link{a, b}
}

// stronger orders links: both ends of higher priority first, then by the ends' values.
func (l link) stronger(o link) bool {
	if l.hi.rank != o.hi.rank {
		return l.hi.rank < o.hi.rank
	}
	if l.lo.rank != o.lo.rank {
		return l.lo.rank < o.lo.rank
	}
	if l.hi != o.hi {
		return l.hi.less(o.hi)
	}
	return l.lo.less(o.lo)
}

// cut is a link a limit kept out.
type cut struct {
	link   link
	detail string
}

// refineCluster rebuilds one cluster with a union-find that adds its links
// strongest first and skips a link whenever the union would hold more
// identifiers of a type than its limit. It returns each node's new cluster
// (the smallest key of its part) and the links it cut. The result depends
// only on the set of links, never on their order.
func refineCluster(links []link, limits map[string]int) (map[int64]int64, []cut) {
	sort.Slice(links, func(i, j int) bool { return links[i].stronger(links[j]) })
	uf := newUnionFind()
	counts := map[int32]map[string]int{}
	id := func(n node) int32 {
		i, fresh := uf.add(n.key)
		if fresh {
			counts[i] = map[string]int{n.typ: 1}
		}
		return uf.find(i)
	}
	var cuts []cut
	for _, l := range links {
		a, b := id(l.hi), id(l.lo)
		if a == b {
			continue
		}
		broken := ""
		for typ, lim := range limits {
			if n := counts[a][typ] + counts[b][typ]; n > lim {
				if broken == "" || typ < broken {
					broken = typ
				}
			}
		}
		if broken != "" {
			n := counts[a][broken] + counts[b][broken]
			cuts = append(cuts, cut{l, fmt.Sprintf("link %s — %s cut: the profile would hold %d %s (limit %d)", l.hi, l.lo, n, broken, limits[broken])})
			continue
		}
		root := uf.union(a, b)
		other := a
		if root == a {
			other = b
		}
		for typ, n := range counts[other] {
			counts[root][typ] += n
		}
		delete(counts, other)
	}
	// each part is named after its smallest key
	minKey := map[int32]int64{}
	for i, k := range uf.keys {
		r := uf.find(int32(i))
		if m, ok := minKey[r]; !ok || k < m {
			minKey[r] = k
		}
	}
	assign := make(map[int64]int64, len(uf.keys))
	for i, k := range uf.keys {
		assign[k] = minKey[uf.find(int32(i))]
	}
	return assign, cuts
}

// refine reads the links of the clusters over a limit, rebuilds them
// (refineCluster) and writes the new clusters to refined and the cut links
// to the staged cut links.
func (r *runner) refine(ctx context.Context, run *plan.Run) error {
	s := r.s
	c := s.c
	run.Say("%d clusters over a limit: refining", r.over)
	limits := limitsOf(c.Project)
	rows, err := run.WH.Query(ctx, s.violatorLinksSQL())
	if err != nil {
		return err
	}
	byComp := map[int64][]link{}
	for rows.Next() {
		var comp int64
		var a, b node
		if err := rows.Scan(&comp, &a.key, &a.typ, &a.value, &b.key, &b.typ, &b.value); err != nil {
			rows.Close()
			return err
		}
		a.rank, b.rank = rank(c.Project, a.typ), rank(c.Project, b.typ)
		byComp[comp] = append(byComp[comp], newLink(a, b))
	}
	if err := rows.Close(); err != nil {
		return err
	}
	comps := make([]int64, 0, len(byComp))
	for k := range byComp {
		comps = append(comps, k)
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i] < comps[j] })
	var keys, parts, from []int64 // each node, its part, the component it was cut from
	var cuts []cut
	for _, comp := range comps {
		a, cs := refineCluster(byComp[comp], limits)
		for k, v := range a {
			keys, parts, from = append(keys, k), append(parts, v), append(from, comp)
		}
		cuts = append(cuts, cs...)
	}
	if err := insert(ctx, run, s.w("refined"), []string{"key", "comp", "component"}, keys, parts, from); err != nil {
		return err
	}
	cols := make([][]string, 5)
	for _, ct := range cuts {
		for i, v := range []string{ct.link.hi.typ, ct.link.hi.value, ct.link.lo.typ, ct.link.lo.value, ct.detail} {
			cols[i] = append(cols[i], v)
		}
	}
	if err := insert(ctx, run, c.Staged(CutLinksTable), []string{"a_type", "a_value", "b_type", "b_value", "detail"}, cols[0], cols[1], cols[2], cols[3], cols[4]); err != nil {
		return err
	}
	r.details = append(r.details, fmt.Sprintf("limits: %s refined, %s cut", plan.Count(int64(len(comps)), "cluster"), plan.Count(int64(len(cuts)), "link")))
	return nil
}

// insert writes rows given column by column ([]int64 or []string, all of
// one length) in one statement: each column is one array parameter, unnested
// into rows. Rows of bound values cost 13-28 µs each to prepare: on the
// 1M-people demo the limits' 240K rows took 4.4 s that way.
func insert(ctx context.Context, run *plan.Run, table string, cols []string, columns ...any) error {
	d := run.Ctx.Dialect
	q := &plan.Builder{}
	var params []string
	var types []dialects.Type
	for _, col := range columns {
		typ := dialects.Text
		switch v := col.(type) {
		case []int64:
			if len(v) == 0 {
				return nil
			}
			typ = dialects.Integer
		case []string:
			if len(v) == 0 {
				return nil
			}
		default:
			return fmt.Errorf("identity: insert %T", col)
		}
		params = append(params, q.Arg(col))
		types = append(types, typ)
	}
	q.W("INSERT INTO ", table, " (", strings.Join(cols, ", "), ")\n", d.ArrayRows(params, types))
	return run.Exec(ctx, q.Statement(d))
}

// limitsOf maps each limited identifier type to its limit.
func limitsOf(p *models.Project) map[string]int {
	m := map[string]int{}
	for _, r := range p.Identity.Identifiers {
		if r.Limit > 0 {
			m[r.Type] = r.Limit
		}
	}
	return m
}
