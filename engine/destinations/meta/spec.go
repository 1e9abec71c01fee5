package meta

import (
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Type is the connector's name in a destination's `type:`.
const Type = "meta_audiences"

// MaxRows is Meta's limit of rows per users request.
const MaxRows = 10000

// Spec is the Meta Custom Audiences connector's declaration.
var Spec = destinations.Spec{
	Type:  Type,
	Title: "Meta Custom Audiences",
	Description: "Adds and removes people in a customer-list Custom Audience through the Marketing API. " +
		"Identifiers are normalized and SHA-256 hashed before they leave; Meta applies changes within about 24 hours.",
	Config: []destinations.ConfigField{
		{Name: "access_token", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "a system-user access token with ads_management on the ad account that owns the audience"},
		{Name: "audience_id", Type: destinations.ConfigString, Required: true,
			Description: "the Custom Audience's id (Audiences in Ads Manager, or POST /act_<id>/customaudiences)"},
		{Name: "api_version", Type: destinations.ConfigString, Default: "v25.0",
			Description: "the Graph API version in the path"},
		{Name: "endpoint", Type: destinations.ConfigString, Default: "https://graph.facebook.com",
			Description: "the Graph API base URL; set it only for a proxy or a test fake"},
	},
	// Meta has no regional hosts: the data is processed in the United States.
	Region:  "us",
	Regions: []string{"us"},
	Modes:   []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	// Removal is a DELETE on the same edge; for an erasure it is all Meta
	// offers (it keeps nothing of ours but the audience membership).
	CanDelete: true,
	CanErase:  true,
	Match: []destinations.Field{
		{Name: "email", Type: destinations.String, Description: "EMAIL: trimmed, lower-cased, hashed"},
		{Name: "phone", Type: destinations.String, Description: "PHONE: digits with the country code (E.164 without +), hashed"},
		{Name: "external_id", Type: destinations.String, Description: "EXTERN_ID: your own id for the person, sent as is"},
		{Name: "mobile_advertiser_id", Type: destinations.String, Description: "MADID: IDFA or Android advertising id, lower-case, sent as is"},
	},
	Fields: []destinations.Field{
		{Name: "first_name", Type: destinations.String, Description: "FN: lower-case letters only, hashed"},
		{Name: "last_name", Type: destinations.String, Description: "LN: lower-case letters only, hashed"},
		{Name: "gender", Type: destinations.String, Description: "GEN: m or f, hashed"},
		{Name: "birth_date", Type: destinations.Date, Description: "DOBY, DOBM, DOBD: year, month, day, each hashed"},
		{Name: "city", Type: destinations.String, Description: "CT: lower-case letters only, hashed"},
		{Name: "state", Type: destinations.String, Description: "ST: lower-case letters only (US: 2-letter code), hashed"},
		{Name: "zip", Type: destinations.String, Description: "ZIP: lower-case without spaces, US: 5 digits, hashed"},
		{Name: "country", Type: destinations.String, Description: "COUNTRY: ISO 3166-1 alpha-2, lower-case, hashed"},
	},
	Limits: destinations.Limits{
		BatchRecords: MaxRows,
		// Meta publishes no byte limit; 10,000 rows of eleven hashes stay
		// under 8 MB, so this only guards against something unusual.
		BatchBytes: 8 << 20,
		// Business use case limits depend on the account's tier and are
		// announced in a header, not as a number: one request at a time,
		// at most five a second, and the engine honours the wait Meta asks.
		Requests:    5,
		Per:         time.Second,
		Concurrency: 1,
	},
}

func init() { destinations.Register(Spec, Open) }
