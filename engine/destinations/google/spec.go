package google

import (
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Type is the connector's name in a destination's `type:`.
const Type = "google_customer_match"

// MaxMembers is the Data Manager API's limit of audience members per request.
const MaxMembers = 10000

// Spec is the Google Customer Match connector's declaration.
var Spec = destinations.Spec{
	Type:  Type,
	Title: "Google Customer Match",
	Description: "Adds and removes people in a Customer Match list (Google Ads, Display & Video 360) through the Data Manager API, " +
		"which Google points new Customer Match integrations at since April 2026. Identifiers are normalized and SHA-256 hashed before they leave.",
	Config: []destinations.ConfigField{
		{Name: "operating_account_id", Type: destinations.ConfigString, Required: true,
			Description: "the account that owns the list, e.g. the Google Ads customer id 123-456-7890"},
		{Name: "account_type", Type: destinations.ConfigString, Default: "GOOGLE_ADS",
			Enum:        []string{"GOOGLE_ADS", "DISPLAY_VIDEO_ADVERTISER", "DISPLAY_VIDEO_PARTNER", "DATA_PARTNER"},
			Description: "the operating account's product"},
		{Name: "login_account_id", Type: destinations.ConfigString,
			Description: "a manager account with access to the operating account, when the credentials are the manager's"},
		{Name: "audience_id", Type: destinations.ConfigString, Required: true,
			Description: "the Customer Match user list's id (the product destination id)"},
		{Name: "refresh_token", Type: destinations.ConfigString, Secret: true,
			Description: "an OAuth refresh token with the datamanager scope; with client_id and client_secret"},
		{Name: "client_id", Type: destinations.ConfigString, Description: "the OAuth client the refresh token belongs to"},
		{Name: "client_secret", Type: destinations.ConfigString, Secret: true, Description: "the OAuth client's secret"},
		{Name: "access_token", Type: destinations.ConfigString, Secret: true,
			Description: "an OAuth access token to use as is instead of a refresh token (it expires within the hour)"},
		{Name: "endpoint", Type: destinations.ConfigString, Default: "https://datamanager.googleapis.com",
			Description: "the Data Manager API base URL; set it only for a proxy or a test fake"},
		{Name: "token_endpoint", Type: destinations.ConfigString, Default: "https://oauth2.googleapis.com/token",
			Description: "where refresh tokens are exchanged; set it only for a proxy or a test fake"},
	},
	// One global endpoint; Google processes the data in the United States.
	Region:    "us",
	Regions:   []string{"us"},
	Modes:     []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	CanDelete: true,
	// Removing from the list is all Google offers a caller for a person.
	CanErase: true,
	Match: []destinations.Field{
		{Name: "email", Type: destinations.String, Description: "trimmed, inner white space removed, lower-cased, hashed"},
		{Name: "phone", Type: destinations.String, Description: "E.164 (+ and country code), hashed"},
	},
	Fields: []destinations.Field{
		{Name: "first_name", Type: destinations.String, Description: "given name: lower-case without punctuation, hashed; sent with the other three address fields only"},
		{Name: "last_name", Type: destinations.String, Description: "family name: lower-case without punctuation, hashed"},
		{Name: "country_code", Type: destinations.String, Description: "ISO 3166-1 alpha-2, sent unhashed"},
		{Name: "postal_code", Type: destinations.String, Description: "sent unhashed"},
	},
	Limits: destinations.Limits{
		BatchRecords: MaxMembers,
		// Google publishes no byte limit for the API; 10,000 members with
		// three identifiers stay well under this.
		BatchBytes: 8 << 20,
		// Project quotas are not published as numbers; a steady pace that
		// leaves room, and the engine backs off on RESOURCE_EXHAUSTED.
		Requests:    5,
		Per:         time.Second,
		Concurrency: 2,
	},
}

func init() { destinations.Register(Spec, Open) }
