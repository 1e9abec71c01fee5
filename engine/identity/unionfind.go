package identity

// unionFind is an in-memory disjoint-set over int64 keys, with union by size
// and path halving. Limits refinement uses it; the benchmark and the tests
// use it as the reference partition.
type unionFind struct {
	index  map[int64]int32
	keys   []int64
	parent []int32
	size   []int32
}

func newUnionFind() *unionFind { return &unionFind{index: map[int64]int32{}} }

// add returns the element of key, creating it when new.
func (u *unionFind) add(key int64) (int32, bool) {
	if i, ok := u.index[key]; ok {
		return i, false
	}
	i := int32(len(u.keys))
	u.index[key] = i
	u.keys = append(u.keys, key)
	u.parent = append(u.parent, i)
	u.size = append(u.size, 1)
	return i, true
}

func (u *unionFind) find(i int32) int32 {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

// union joins the sets of two roots and returns the new root.
func (u *unionFind) union(a, b int32) int32 {
	a, b = u.find(a), u.find(b)
	if a == b {
		return a
	}
	if u.size[a] < u.size[b] {
		a, b = b, a
	}
	u.parent[b] = a
	u.size[a] += u.size[b]
	return a
}

// StringUnionFind is the reference algorithm: union-find over interned strings.
type StringUnionFind struct {
	ids    map[string]int32
	Names  []string
	parent []int32
	size   []int32
}

// NewStringUnionFind makes an empty one sized for about n identifiers.
func NewStringUnionFind(n int) *StringUnionFind {
	return &StringUnionFind{ids: make(map[string]int32, n), Names: make([]string, 0, n), parent: make([]int32, 0, n), size: make([]int32, 0, n)}
}

// Add interns an identifier and returns its element.
func (u *StringUnionFind) Add(s string) int32 {
	if i, ok := u.ids[s]; ok {
		return i
	}
	i := int32(len(u.Names))
	u.ids[s] = i
	u.Names = append(u.Names, s)
	u.parent = append(u.parent, i)
	u.size = append(u.size, 1)
	return i
}

// Link joins two identifiers.
func (u *StringUnionFind) Link(a, b string) {
	x, y := u.Find(u.Add(a)), u.Find(u.Add(b))
	if x == y {
		return
	}
	if u.size[x] < u.size[y] {
		x, y = y, x
	}
	u.parent[y] = x
	u.size[x] += u.size[y]
}

// Find returns an element's root.
func (u *StringUnionFind) Find(i int32) int32 {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

// Lookup returns an identifier's element.
func (u *StringUnionFind) Lookup(s string) (int32, bool) {
	i, ok := u.ids[s]
	return i, ok
}
