// Package dialecttest gives tests a fresh warehouse of every dialect (an
// in-memory DuckDB, a new PostgreSQL database on 127.0.0.1:5432 dropped at the
// end) and holds the conformance suite every dialect passes.
package dialecttest
