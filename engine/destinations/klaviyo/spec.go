package klaviyo

import (
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Klaviyo's host, the API revision this connector is written against, and
// its documented caps.
const (
	DefaultEndpoint = "https://a.klaviyo.com"
	Revision        = "2026-07-15"
	MaxProfiles     = 10000     // profiles per bulk import job
	MaxJobBytes     = 5 << 20   // request body of a bulk import job
	MaxProfileBytes = 100 << 10 // one profile in a job
	MaxListIDs      = 1000      // profile ids per list relationship call
	maxPage         = 100       // page[size] of a collection
	jobTimeout      = 15 * time.Minute
)

// Spec is the klaviyo connector's declaration.
var Spec = destinations.Spec{
	Type:  "klaviyo",
	Title: "Klaviyo",
	Description: "Creates or updates profiles with bulk import jobs (10,000 per job) that also add them to a list; " +
		"a removal takes the profile off the list by its Klaviyo id; erasure requests a data-privacy deletion.",
	Config: []destinations.ConfigField{
		{Name: "api_key", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "a private API key (pk_…) with the scopes profiles:read/write, lists:read/write and data-privacy:write"},
		{Name: "list_id", Type: destinations.ConfigString,
			Description: "the list the sync keeps (the id in the list's URL); without it the sync only updates profiles and mirror cannot remove anyone"},
		{Name: "revision", Type: destinations.ConfigString, Default: Revision,
			Description: "the API revision sent in the revision header"},
		{Name: "endpoint", Type: destinations.ConfigString, Default: DefaultEndpoint,
			Description: "API base URL; change it only for a proxy or a test fake"},
	},
	// Klaviyo documents one host and no regional hosting.
	Region:    "us",
	Regions:   []string{"us"},
	Modes:     []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	CanDelete: true,
	CanErase:  true,
	Match: []destinations.Field{
		{Name: "email", Type: destinations.String},
		{Name: "phone_number", Type: destinations.String, Description: "E.164, e.g. +31612345678"},
		{Name: "external_id", Type: destinations.String, Description: "your own id for the person"},
	},
	Fields: []destinations.Field{
		{Name: "first_name", Type: destinations.String},
		{Name: "last_name", Type: destinations.String},
		{Name: "organization", Type: destinations.String},
		{Name: "title", Type: destinations.String},
		{Name: "image", Type: destinations.String, Description: "URL of a profile image"},
		{Name: "locale", Type: destinations.String, Description: "IETF BCP 47, e.g. nl-NL"},
		{Name: "address1", Type: destinations.String},
		{Name: "address2", Type: destinations.String},
		{Name: "city", Type: destinations.String},
		{Name: "region", Type: destinations.String, Description: "state or province"},
		{Name: "zip", Type: destinations.String},
		{Name: "country", Type: destinations.String},
		{Name: "timezone", Type: destinations.String, Description: "IANA name, e.g. Europe/Amsterdam"},
		{Name: "latitude", Type: destinations.Number},
		{Name: "longitude", Type: destinations.Number},
	},
	Custom: &destinations.Custom{
		Description: "a custom profile property: any name not starting with $ (Klaviyo's own properties)",
		Pattern:     `^[^$\s]`,
	},
	Limits: destinations.Limits{
		BatchRecords: MaxProfiles,
		// Record.Size counts a record's key and fields; the JSON:API
		// envelope adds about 50 bytes a profile, so 4.5 MB of records
		// keep a full job under Klaviyo's 5 MB.
		BatchBytes: 4500 << 10,
		// Job creation is limited to 10/s in bursts and 150/min steady.
		Requests:    120,
		Per:         time.Minute,
		Concurrency: 3,
	},
}

// locationFields are the standard fields Klaviyo keeps under location.
var locationFields = map[string]bool{"address1": true, "address2": true, "city": true, "region": true, "zip": true,
	"country": true, "timezone": true, "latitude": true, "longitude": true}

func init() { destinations.Register(Spec, Open) }
