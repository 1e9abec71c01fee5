// Package destinations is the contract between the sync engine and the
// connectors that deliver audiences to marketing tools: what a connector
// declares once (its Spec: config fields, limits, region, modes, match keys
// and fields), what it is handed (a Batch of Records, each an add, update or
// removal of one person) and what it answers (a per-record Result). It also
// holds what every connector shares: the registry, config and mapping
// validation, value coercion, identifier normalization and hashing, and the
// classification of HTTP answers into retry or rejection.
//
// Connectors live in sub-packages (engine/destinations/<vendor>), each with
// spec.go, destination.go (mapping), client.go and a fake/ test server, and
// register themselves in init(). A connector never retries, waits or batches
// on its own: the sync engine (engine/sync) does that, driven by the Spec.
package destinations
