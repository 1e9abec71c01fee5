// Package postgres writes a segment into a table of a PostgreSQL database
// the company's own applications read: an upsert on the match key for
// people who enter or change, a delete for people who leave or are erased.
// It creates the table, and any column a sync's mapping adds, when missing.
// It speaks to the server with pgx directly (never through dialects: a
// destination is not a warehouse).
package postgres
