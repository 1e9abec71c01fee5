// Package sync sends a segment's changes to a destination: it computes in
// the warehouse what was added, changed and removed since the last
// acknowledged snapshot, streams only those rows out, delivers them in
// batches (by the connector's Spec: records, bytes, pacing, concurrency,
// retries with backoff, a circuit for a destination that keeps failing) and
// advances the snapshot for the rows the destination acknowledged.
//
// Retries, waits and rate limits live only here; connectors
// (engine/destinations/...) make one attempt per Write and say what
// happened.
package sync
