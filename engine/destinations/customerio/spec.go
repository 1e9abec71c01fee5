package customerio

import (
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// hosts are the Track API's regional hosts. EU traffic sent to the US host
// is redirected through US servers, and US traffic sent to the EU host
// fails, so the region must be right.
var hosts = map[string]string{
	"us": "https://track.customer.io",
	"eu": "https://track-eu.customer.io",
}

// appHosts are the App API's regional hosts; it answers segment lookups.
var appHosts = map[string]string{
	"us": "https://api.customer.io",
	"eu": "https://api-eu.customer.io",
}

// Limits, from the Track API reference: a v2 batch is under 500 KB with
// each operation at most 32 KB; manual segments take 1 to 1,000 ids per
// call; an identify holds at most 300 attributes, names up to 150 bytes
// and values up to 1,000 bytes.
const (
	batchRecords = 1000
	batchBytes   = 400_000 // Record.Size of the batch; leaves room for the operation envelopes under 500 KB
	maxBatch     = 500_000 // bytes of a v2 batch body ("smaller than 500kb")
	maxOp        = 32 << 10
	maxAttrs     = 300
	maxName      = 150
	maxValue     = 1000
)

// Spec is Customer.io's connector spec.
var Spec = destinations.Spec{
	Type:  "customer_io",
	Title: "Customer.io",
	Description: "Identifies people in a Customer.io workspace with their attributes (Track API v2 batches) and, " +
		"with segment_id, keeps them in a manual segment: added on entry, removed when they leave (mirror). " +
		"Erasure deletes the person.",
	Config: []destinations.ConfigField{
		{Name: "site_id", Type: destinations.ConfigString, Required: true,
			Description: "the Track API site id (Workspace Settings → API credentials)"},
		{Name: "api_key", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "the Track API key that goes with site_id"},
		{Name: "segment_id", Type: destinations.ConfigString,
			Description: "the id of a manual segment to keep the audience in; without it, people are identified but never taken off (mode upsert)"},
		{Name: "app_api_key", Type: destinations.ConfigString, Secret: true,
			Description: "an App API key (optional); with it, validate --check-destinations checks that segment_id exists and is a manual segment"},
		{Name: "endpoint", Type: destinations.ConfigString,
			Description: "a base URL that replaces the region's Track and App API hosts (a proxy, or a test fake)"},
	},
	Region:    "us",
	Regions:   []string{"us", "eu"},
	Modes:     []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	CanDelete: true,
	CanErase:  true,
	Match: []destinations.Field{
		{Name: "id", Type: destinations.String, Description: "the person's id in the workspace; preferred when present"},
		{Name: "email", Type: destinations.String, Description: "the e-mail address, for workspaces that identify people by e-mail"},
	},
	Fields: []destinations.Field{
		{Name: "email", Type: destinations.String, Description: "the address messages go to"},
		{Name: "created_at", Type: destinations.Timestamp, Description: "when the person signed up; sent as Unix seconds"},
		{Name: "unsubscribed", Type: destinations.Boolean, Description: "true stops every non-transactional message"},
	},
	Custom: &destinations.Custom{
		Description: "attribute names up to 150 bytes; values up to 1,000 bytes; timestamps are sent as Unix seconds",
		Pattern:     `^[^\x00-\x1f]{1,150}$`,
		MaxLength:   maxValue,
	},
	Limits: destinations.Limits{
		BatchRecords: batchRecords,
		BatchBytes:   batchBytes,
		// The Track API's fair-use limit is quoted as 100 requests a second;
		// a write makes up to three (identify, then a segment call per id type).
		Requests:    25,
		Per:         time.Second,
		Concurrency: 2,
	},
}

func init() {
	destinations.Register(Spec, open)
}
