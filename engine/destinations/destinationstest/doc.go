// Package destinationstest is the conformance suite every connector runs
// against its vendor fake: a full sync, incremental changes, mirror
// removals, per-record rejections recorded with the vendor's message, rate
// limits honoured, retries after 429 and 5xx without duplicates, and an
// erasure request. It drives the connector through the sync engine's
// delivery (engine/sync.Deliver) with in-memory records, so what passes here
// is what `cohort sync` does, and it runs in milliseconds: the delivery's
// clock is a sync.ManualClock, so backoff and pacing take no real time.
//
// A connector's test is one call (see engine/destinations/webhook):
//
//	destinationstest.Run(t, destinationstest.Case{
//		Type:     "klaviyo",
//		Config:   map[string]any{"api_key": "pk_test", "list_id": "L1"},
//		Endpoint: "base_url", // the config key the fake's URL goes into
//		NewFake:  func(t *testing.T) destinationstest.Fake { return fake.New(t) },
//		Match:    map[string]string{"email": "email"},
//		Fields:   map[string]string{"first_name": "first_name", "ltv": "ltv"},
//	})
//
// Scenarios that the Spec rules out are skipped: mirror removals need mode
// mirror and CanDelete, erasure needs CanErase (and then the destination must
// implement destinations.Eraser). Batches are capped at 10 records so that
// several go out; the Spec's byte limit and pace apply as declared.
package destinationstest
