// Package engine turns a project into a Plan of SQL steps for one dialect and
// runs it against a warehouse: staging every output table under a temporary
// name and swapping them in at the end, recording the run in the state store.
package engine
