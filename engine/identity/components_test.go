package identity

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/models"
)

// shape generates edges (pairs of node numbers; b < 0: a node without a link).
type shape func(r *rand.Rand) [][2]int

func chain(n int) shape {
	return func(r *rand.Rand) [][2]int {
		var e [][2]int
		for i := 0; i+1 < n; i++ {
			e = append(e, [2]int{i, i + 1})
		}
		return e
	}
}

func star(n int) shape {
	return func(r *rand.Rand) [][2]int {
		var e [][2]int
		for i := 1; i < n; i++ {
			e = append(e, [2]int{0, i})
		}
		return e
	}
}

func clique(n int) shape {
	return func(r *rand.Rand) [][2]int {
		var e [][2]int
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				e = append(e, [2]int{i, j})
			}
		}
		return e
	}
}

func smalls(comps int) shape {
	return func(r *rand.Rand) [][2]int {
		var e [][2]int
		for c := 0; c < comps; c++ {
			size := 1 + r.Intn(4)
			base := c * 5
			if size == 1 {
				e = append(e, [2]int{base, -1})
			}
			for i := 1; i < size; i++ {
				e = append(e, [2]int{base + r.Intn(i), base + i})
			}
		}
		return e
	}
}

func giant(nodes, edges int) shape {
	return func(r *rand.Rand) [][2]int {
		var e [][2]int
		for i := 0; i < edges; i++ {
			e = append(e, [2]int{r.Intn(nodes), r.Intn(nodes)})
		}
		return e
	}
}

// mixed puts several shapes side by side on disjoint node numbers.
func mixed(parts ...shape) shape {
	return func(r *rand.Rand) [][2]int {
		var all [][2]int
		off := 0
		for _, p := range parts {
			m := 0
			for _, e := range p(r) {
				b := e[1]
				if b >= 0 {
					b += off
					m = max(m, e[1])
				}
				all = append(all, [2]int{e[0] + off, b})
				m = max(m, e[0])
			}
			off += m + 1
		}
		return all
	}
}

// repeated gives every link of a shape twice, the second time reversed.
func repeated(p shape) shape {
	return func(r *rand.Rand) [][2]int {
		var e [][2]int
		for _, l := range p(r) {
			e = append(e, l)
			if l[1] >= 0 {
				e = append(e, [2]int{l[1], l[0]})
			}
		}
		return e
	}
}

func edgeProject() *models.Project {
	return &models.Project{Name: "graph", Sources: []*models.Source{{
		Name: "links", Table: "raw.links",
		Identifiers: []*models.SourceIdentifier{{Type: "id", Column: "a"}, {Type: "id", Column: "b"}},
	}}}
}

// TestPartitionMatchesUnionFind compares the SQL components with an
// in-memory union-find on graphs of every shape.
func TestPartitionMatchesUnionFind(t *testing.T) {
	cases := []struct {
		name  string
		shape shape
		tune  func(*Step)
	}{
		{"chain", chain(3000), nil},
		{"star", star(500), nil},
		{"clique", clique(40), nil},
		{"many small", smalls(800), nil},
		{"giant", giant(1500, 2500), nil},
		{"mixed", mixed(chain(700), star(200), clique(15), smalls(300), giant(600, 900)), nil},
		{"reshuffle guard", mixed(chain(1500), giant(300, 500)), func(s *Step) { s.ReshuffleAfter = 2 }},
		{"key collision fallback", mixed(chain(200), smalls(100)), func(s *Step) { s.collisions = 2 }},
		// at most two pairs per identifier: the links keep duplicates for round 1 to contract
		{"repeated links", repeated(mixed(chain(300), smalls(100), giant(200, 40))), nil},
	}
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := rand.New(rand.NewSource(int64(i + 1)))
				edges := tc.shape(r)
				// random names: the node numbers say nothing about key order
				perm := r.Perm(200000)
				name := func(n int) string { return fmt.Sprintf("n%d", perm[n]) }
				uf := NewStringUnionFind(0)
				var rows [][]any
				for _, e := range edges {
					if e[1] < 0 {
						uf.Add(name(e[0]))
						rows = append(rows, []any{name(e[0]), nil})
						continue
					}
					uf.Link(name(e[0]), name(e[1]))
					rows = append(rows, []any{name(e[0]), name(e[1])})
				}
				table(t, w.WH, "raw.links", []string{"a", "b"}, rows)
				stats := runIdentity(t, w.WH, edgeProject(), testNow, tc.tune)
				g := graphOf(t, w.WH)
				require.Len(t, g, len(uf.Names))
				// the same partition: one profile per union-find set and back
				byRoot := map[int32]string{}
				seen := map[string]int32{}
				for _, n := range uf.Names {
					i, _ := uf.Lookup(n)
					root := uf.Find(i)
					p, ok := g["id:"+n]
					require.True(t, ok, "%s missing", n)
					if q, ok := byRoot[root]; ok {
						require.Equal(t, q, p, "%s split from its component", n)
					} else {
						byRoot[root] = p
					}
					if r, ok := seen[p]; ok {
						require.Equal(t, r, root, "profile %s joins two components", p)
					}
					seen[p] = root
				}
				// the anchor of each profile is its smallest value
				for root, p := range byRoot {
					var members []string
					for _, n := range uf.Names {
						i, _ := uf.Lookup(n)
						if uf.Find(i) == root {
							members = append(members, n)
						}
					}
					sort.Strings(members)
					require.Equal(t, pid("id", members[0]), p)
				}
				t.Logf("%d edges, %d identifiers, %d profiles: %v", len(edges), len(uf.Names), len(byRoot), stats.Details)
			})
		}
	})
}
