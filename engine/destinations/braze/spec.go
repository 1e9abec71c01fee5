package braze

import (
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// hosts are the REST endpoints of Braze's dashboard instances; a key works
// only on the instance its workspace lives on (any other answers 401).
var hosts = map[string]string{
	"us-01": "https://rest.iad-01.braze.com",
	"us-02": "https://rest.iad-02.braze.com",
	"us-03": "https://rest.iad-03.braze.com",
	"us-04": "https://rest.iad-04.braze.com",
	"us-05": "https://rest.iad-05.braze.com",
	"us-06": "https://rest.iad-06.braze.com",
	"us-07": "https://rest.iad-07.braze.com",
	"us-08": "https://rest.iad-08.braze.com",
	"us-10": "https://rest.us-10.braze.com",
	"eu-01": "https://rest.fra-01.braze.eu",
	"eu-02": "https://rest.fra-02.braze.eu",
	"au-01": "https://rest.au-01.braze.com",
	"id-01": "https://rest.id-01.braze.com",
}

func instances() []string {
	return []string{"us-01", "us-02", "us-03", "us-04", "us-05", "us-06", "us-07", "us-08", "us-10",
		"eu-01", "eu-02", "au-01", "id-01"}
}

// regionOf is the region an instance keeps data in: its prefix.
func regionOf(cfg map[string]any) string {
	inst, _ := cfg["instance"].(string)
	r, _, ok := strings.Cut(strings.ToLower(inst), "-")
	if !ok {
		return ""
	}
	return r
}

// Limits. Braze takes 75 attribute objects per /users/track request, but
// accounts on the "Monthly Active Users CY 24-25" packages only 50 updates;
// 50 works for every account and is also /users/delete's cap, so one batch
// size fits both. /users/track allows 3,000 requests per 3 seconds.
const (
	batchRecords = 50
	maxString    = 255 // characters of a string attribute value
)

// Spec is Braze's connector spec.
var Spec = destinations.Spec{
	Type:  "braze",
	Title: "Braze",
	Description: "Creates and updates Braze user profiles through /users/track: mapped fields become standard or " +
		"custom attributes, membership is a boolean custom attribute per segment (cohort_<segment>, false once the " +
		"person leaves), and configured subscription groups are subscribed on entry and unsubscribed on removal. " +
		"Erasure deletes the user through /users/delete.",
	Config: []destinations.ConfigField{
		{Name: "api_key", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "a REST API key with the users.track permission (and users.delete for cohort forget)"},
		{Name: "instance", Type: destinations.ConfigString, Required: true, Enum: instances(),
			Description: "the dashboard instance the workspace lives on, as in its URL (us-01 … us-10, eu-01, eu-02, au-01, id-01); it decides the REST host and the region"},
		{Name: "endpoint", Type: destinations.ConfigString,
			Description: "a base URL that replaces the instance's REST host (a proxy, or a test fake)"},
		{Name: "membership_prefix", Type: destinations.ConfigString, Default: "cohort_",
			Description: "prefix of the boolean custom attribute that marks membership: <prefix><segment> is true for members and false for people who left"},
		{Name: "subscription_groups", Type: destinations.ConfigList,
			Description: "subscription group ids members are subscribed to on entry and unsubscribed from on removal"},
		{Name: "update_existing_only", Type: destinations.ConfigBool, Default: false,
			Description: "only update people Braze already has; never create a profile"},
	},
	Region:     "us",
	Regions:    []string{"us", "eu", "au", "id"},
	RegionFrom: regionOf,
	Modes:      []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	CanDelete:  true,
	CanErase:   true,
	Match: []destinations.Field{
		{Name: "external_id", Type: destinations.String, Description: "the user's external id; preferred when present"},
		{Name: "email", Type: destinations.String, Description: "identifies the most recently updated profile with this address, or creates an e-mail-only profile"},
		{Name: "phone", Type: destinations.String, Description: "E.164; used when there is neither external id nor e-mail"},
	},
	Fields: []destinations.Field{
		{Name: "first_name", Type: destinations.String, MaxLength: maxString},
		{Name: "last_name", Type: destinations.String, MaxLength: maxString},
		{Name: "gender", Type: destinations.String, Description: "M, F, O (other), N (not applicable), P (prefer not to say) or U (unknown)"},
		{Name: "dob", Type: destinations.Date, Description: "date of birth"},
		{Name: "country", Type: destinations.String, Description: "ISO-3166-1 alpha-2 code"},
		{Name: "home_city", Type: destinations.String, MaxLength: maxString},
		{Name: "language", Type: destinations.String, Description: "ISO-639-1 code"},
		{Name: "time_zone", Type: destinations.String, Description: "IANA time zone name, e.g. Europe/Amsterdam"},
		{Name: "email_subscribe", Type: destinations.String, Description: "opted_in, subscribed or unsubscribed"},
		{Name: "push_subscribe", Type: destinations.String, Description: "opted_in, subscribed or unsubscribed"},
		{Name: "date_of_first_session", Type: destinations.Timestamp},
		{Name: "date_of_last_session", Type: destinations.Timestamp},
	},
	Custom: &destinations.Custom{
		Description: "custom attribute names up to 255 characters, not starting with $ or a space",
		Pattern:     `^[^$\s][^\x00-\x1f]{0,254}$`,
		MaxLength:   maxString,
	},
	Limits: destinations.Limits{
		BatchRecords: batchRecords,
		Requests:     3000,
		Per:          3 * time.Second,
		Concurrency:  4,
	},
}

func init() {
	destinations.Register(Spec, open)
}
