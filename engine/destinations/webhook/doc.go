// Package webhook is the generic destination: it POSTs each batch of
// changes as signed JSON to a URL the company runs, and carries alerts.
//
// Wire format (the README's "Syncs" section is the reference for users):
//
//	POST <url>
//	Content-Type: application/json
//	Idempotency-Key: <32 hex digits, the same when the same records are sent again>
//	X-Cohort-Timestamp: <unix seconds>
//	X-Cohort-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
//	{"sync": "...", "mode": "upsert", "batch": "<idempotency key>",
//	 "events": [{"id": "<change id>", "type": "add"|"update"|"remove"|"erase",
//	             "profile_id": "...", "key": {...}, "fields": {...}, "ref": "..."}]}
//
// A 2xx answer takes the batch; its body may list per-event outcomes,
// {"results": [{"id": "...", "status": "rejected"|"retry"|"accepted", "reason": "...", "ref": "..."}]},
// and events it does not list are accepted. Other answers are classified by
// destinations.Do (429/5xx retried, 413 halves the batch, other 4xx stop the
// run).
package webhook
