package hubspot

import (
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// DefaultEndpoint is HubSpot's API host, the same for accounts hosted in
// the US and in the EU.
const DefaultEndpoint = "https://api.hubapi.com"

// BatchSize is the most inputs one CRM batch call takes.
const BatchSize = 100

// Spec is the hubspot connector's declaration.
var Spec = destinations.Spec{
	Type:  "hubspot",
	Title: "HubSpot",
	Description: "Upserts contacts by e-mail (100 per call) and keeps a static list's memberships by HubSpot record id; " +
		"erasure sends HubSpot's GDPR delete.",
	Config: []destinations.ConfigField{
		{Name: "access_token", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "a private app's access token with the scopes crm.objects.contacts.read/write and crm.lists.read/write"},
		{Name: "list_id", Type: destinations.ConfigString,
			Description: "the id of a static (MANUAL or SNAPSHOT) contact list whose members the sync keeps; without it the sync only upserts contacts and mirror cannot remove anyone"},
		{Name: "endpoint", Type: destinations.ConfigString, Default: DefaultEndpoint,
			Description: "API base URL; change it only for a proxy or a test fake"},
	},
	Region:    "us",
	Regions:   []string{"us", "eu"},
	Modes:     []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	CanDelete: true,
	CanErase:  true,
	Match: []destinations.Field{
		{Name: "email", Type: destinations.String, Description: "the contact's e-mail, HubSpot's de-duplication key"},
	},
	MatchRequired: []string{"email"},
	Fields: []destinations.Field{
		{Name: "firstname", Type: destinations.String},
		{Name: "lastname", Type: destinations.String},
		{Name: "phone", Type: destinations.String},
		{Name: "mobilephone", Type: destinations.String},
		{Name: "company", Type: destinations.String},
		{Name: "jobtitle", Type: destinations.String},
		{Name: "website", Type: destinations.String},
		{Name: "address", Type: destinations.String},
		{Name: "city", Type: destinations.String},
		{Name: "state", Type: destinations.String},
		{Name: "zip", Type: destinations.String},
		{Name: "country", Type: destinations.String},
		{Name: "date_of_birth", Type: destinations.Date},
		{Name: "lifecyclestage", Type: destinations.String, Description: "subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other"},
		{Name: "hs_language", Type: destinations.String},
	},
	Custom: &destinations.Custom{
		Description: "a contact property's internal name: lower-case letters, digits and _, starting with a letter; create the property in HubSpot first",
		Pattern:     `^[a-z][a-z0-9_]{0,99}$`,
		MaxLength:   100,
	},
	// Every Write is two calls (upsert, then list membership), and a
	// private app shares 100 calls per 10 seconds (Free and Starter; 190
	// on Professional and Enterprise) with every other app of the account.
	Limits: destinations.Limits{
		BatchRecords: BatchSize,
		Requests:     40,
		Per:          10 * time.Second,
		Concurrency:  2,
	},
}

func init() { destinations.Register(Spec, Open) }
