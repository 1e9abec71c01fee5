// Package bigquery is the BigQuery warehouse, through
// cloud.google.com/go/bigquery's client (BigQuery has no database/sql
// driver of its own): statements are query jobs with named parameters
// (@p1, @p2 ...), run in the project's location (EU unless set), each
// capped at maximum_bytes_billed and labelled for cost tracing; the job ids
// of a run are kept in its history. A schema is a BigQuery dataset.
package bigquery
