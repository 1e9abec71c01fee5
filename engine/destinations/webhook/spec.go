package webhook

import (
	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Spec is the webhook connector's declaration.
var Spec = destinations.Spec{
	Type:  "webhook",
	Title: "Webhook",
	Description: "POSTs JSON batches of add, update and remove events to your own URL, signed with HMAC-SHA256 " +
		"(X-Cohort-Signature) and carrying an Idempotency-Key; also carries alerts.",
	Config: []destinations.ConfigField{
		{Name: "url", Type: destinations.ConfigString, Required: true, Description: "the http(s) URL batches are POSTed to"},
		{Name: "secret", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "the shared secret the X-Cohort-Signature header is computed with (from ${ENV})"},
		{Name: "headers", Type: destinations.ConfigMap, Description: "extra headers sent with every request, e.g. {X-Team: growth}"},
		{Name: "internal", Type: destinations.ConfigBool, Default: false,
			Description: "the receiver is the company's own system: a sync to it needs no consent purpose"},
	},
	// Where the receiver keeps the data is not known: a webhook counts as
	// outside the EU/EEA unless the destination says `region: eu` (or an
	// EEA country code).
	Region:    "unknown",
	Modes:     []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	CanDelete: true,
	CanErase:  true,
	Match: []destinations.Field{
		{Name: "email", Type: destinations.String}, {Name: "phone", Type: destinations.String},
		{Name: "external_id", Type: destinations.String}, {Name: "profile_id", Type: destinations.String},
	},
	Custom: &destinations.Custom{Description: "any field name; values are sent as the trait holds them"},
	Limits: destinations.Limits{BatchRecords: 500, BatchBytes: 1 << 20, Concurrency: 4},
}

func init() { destinations.Register(Spec, open) }
