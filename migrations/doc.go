// Package migrations holds the versioned SQL migrations of the state store,
// one folder per driver, embedded into the binary and applied with goose.
package migrations

import "embed"

// SQLite are the migrations of the default, file-based state store.
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Postgres are the migrations of a state store shared by several replicas.
//
//go:embed postgres/*.sql
var Postgres embed.FS
