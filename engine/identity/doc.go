// Package identity owns identity resolution: normalizing identifiers, the
// rules that keep identifiers and links out of the graph, connected components
// computed in set-based SQL rounds, stable profile ids, lineage, explain, and
// the benchmark against an in-memory union-find.
package identity
