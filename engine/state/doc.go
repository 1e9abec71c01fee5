// Package state owns the state store: Cohort's own metadata (run history now;
// saved segments, sync runs, tokens and the audit log later), in a SQLite file
// by default or in PostgreSQL, migrated with the embedded goose migrations.
package state
