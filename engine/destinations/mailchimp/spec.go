package mailchimp

import "github.com/cohort-cdp/cohort/engine/destinations"

// BatchSize is the most members one batch subscribe call takes.
const BatchSize = 500

// Spec is the mailchimp connector's declaration.
var Spec = destinations.Spec{
	Type:  "mailchimp",
	Title: "Mailchimp",
	Description: "Subscribes or updates audience members with their merge fields (500 per call), optionally tagged; a removal takes the tag off, " +
		"archives or unsubscribes the member; erasure deletes the member permanently.",
	Config: []destinations.ConfigField{
		{Name: "api_key", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "an API key, ending in its data centre (…-us6); the calls go to that data centre's host"},
		{Name: "audience_id", Type: destinations.ConfigString, Required: true,
			Description: "the audience id (Audience → Settings → Audience name and defaults)"},
		{Name: "status", Type: destinations.ConfigString, Default: "subscribed", Enum: []string{"subscribed", "pending", "transactional"},
			Description: "the status a member is given unless the sync maps `status`: pending sends Mailchimp's opt-in e-mail first"},
		{Name: "tag", Type: destinations.ConfigString,
			Description: "a tag the sync keeps on its members (given on entry, taken off on removal), so several syncs can share one audience; {segment} stands for the sync's segment; created when missing"},
		{Name: "on_remove", Type: destinations.ConfigString, Enum: []string{"archive", "unsubscribe", "untag"},
			Description: "what a removal does: archive (off the audience and its billing, can come back), unsubscribe (kept, marked unsubscribed) or untag (only the tag comes off); default untag with a tag, else archive"},
		{Name: "endpoint", Type: destinations.ConfigString,
			Description: "API base URL instead of https://<dc>.api.mailchimp.com; only for a proxy or a test fake"},
	},
	// Mailchimp keeps every account's data in its US data centres.
	Region:    "us",
	Regions:   []string{"us"},
	Modes:     []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	CanDelete: true,
	CanErase:  true,
	Match: []destinations.Field{
		{Name: "email", Type: destinations.String, Description: "the member's e-mail address"},
	},
	MatchRequired: []string{"email"},
	Fields: []destinations.Field{
		{Name: "status", Type: destinations.String, Description: "subscribed, unsubscribed, pending or transactional; overrides config.status"},
		{Name: "language", Type: destinations.String, Description: "the member's language code, e.g. fr"},
		{Name: "vip", Type: destinations.Boolean},
		{Name: "email_type", Type: destinations.String, Description: "html or text"},
	},
	Custom: &destinations.Custom{
		Description: "a merge tag of the audience: up to 10 capital letters, digits or _, starting with a letter (FNAME, LNAME, BIRTHDAY, ...)",
		Pattern:     `^[A-Z][A-Z0-9_]{0,9}$`,
		MaxLength:   10,
	},
	// Mailchimp counts connections, not requests: more than 10 at once
	// from one account are refused with 429. Half of them leaves room for
	// the account's other syncs and integrations.
	Limits: destinations.Limits{
		BatchRecords: BatchSize,
		Concurrency:  5,
	},
}

func init() { destinations.Register(Spec, Open) }
