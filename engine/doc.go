// Package engine is Cohort's one face (Service): it turns a project into a
// Plan of SQL steps for one dialect and runs it against a warehouse, staging
// every output table under a temporary name and publishing them at the end
// as the dialect allows, recording the run in the state store; it answers
// previews and lookups, and wires models to the registries of dialects and
// connectors. See docs/architecture.md for the package boundaries.
package engine
