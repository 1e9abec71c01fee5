// Package duckdb is the embedded default warehouse: DuckDB in a file of the
// project folder, through github.com/duckdb/duckdb-go/v2.
package duckdb
