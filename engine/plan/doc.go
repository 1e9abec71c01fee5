// Package plan owns the shape of a run: the Step interface every part of the
// engine (identity, profiles, segments) produces, the names of staged and
// final output tables, the context a step is compiled in, and the plan a
// step is made of: nodes (statements, branches, loops, retries, Go phases,
// publish choices) that one interpreter runs and one printer shows.
package plan
