// Package customerio delivers audiences to Customer.io (Journeys) through
// the Track API: people identified with their attributes in v2 batches,
// kept in a manual segment with the v1 segment calls, and deleted for
// erasure.
package customerio
