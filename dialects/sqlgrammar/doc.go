// Package sqlgrammar checks generated SQL against the real grammars of
// Snowflake and BigQuery (GoogleSQL), from github.com/bytebase/parser.
// Tests only: the parsers are large, and the cohort binary must not carry
// them (TestNotInBinary checks it).
package sqlgrammar
