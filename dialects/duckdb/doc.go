// Package duckdb is the embedded default warehouse: DuckDB in a file of the
// project folder, through github.com/duckdb/duckdb-go/v2. A file opened
// read-only keeps the prepared statements of its queries for reuse (see
// Warehouse.Query).
package duckdb
