// Package state owns the state store: Cohort's own metadata, in a SQLite file
// by default or in PostgreSQL, migrated with the embedded goose migrations.
// One file per aggregate (runs.go, syncruns.go, lease.go, schedule.go; later
// tokens, audit): each writes its queries with ? placeholders, which bind
// rewrites for the driver (sqlx.Rebind), and reads rows with sqlx where
// they map onto a struct.
package state
