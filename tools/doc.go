// Package tools is a module of its own for the warehouse emulators the
// Snowflake and BigQuery tests run against, so that their dependencies
// (DuckDB, ZetaSQL/googlesqlite, chi ...) stay out of the cohort module.
//
//	make test-snowflake   builds bin/snowflake-emulator (see snowflake-emulator/)
//	make test-bigquery    builds bin/bigquery-emulator (github.com/goccy/bigquery-emulator)
package tools
