// Package plan owns the shape of a run: the Step interface every part of the
// engine (identity, profiles, segments) produces, the names of staged and
// final output tables, and the context a step is compiled in.
package plan
