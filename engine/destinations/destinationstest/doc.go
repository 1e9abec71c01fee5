// Package destinationstest is the conformance suite every connector runs
// against its vendor fake: a full sync, incremental changes, mirror
// removals, per-record rejections recorded with the vendor's message, rate
// limits honoured, retries after 429 and 5xx without duplicates, and an
// erasure request. It drives the connector through the sync engine's
// delivery, so what passes here is what `cohort sync` does.
package destinationstest
