package slack

import (
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Slack's limits for a message (Block Kit): at most 50 blocks, a header's
// plain text up to 150 characters, a section's text up to 3,000 and its
// fields up to 10 of 2,000 each. Incoming webhooks take about one message
// a second per channel and answer 429 with Retry-After beyond that.
const (
	maxBlocks      = 50
	maxHeader      = 150
	maxSection     = 3000
	maxFields      = 10
	maxField       = 2000
	maxLine        = 300 // characters of one member's line in a digest
	digestMembers  = 50  // members listed per message
	defaultWebhook = "https://hooks.slack.com"
)

// Spec is Slack's connector spec.
var Spec = destinations.Spec{
	Type:  "slack",
	Title: "Slack",
	Description: "Posts to a Slack channel through an incoming webhook: alerts about syncs, and digests listing " +
		"the people who entered a segment (and, in mode upsert, whose fields changed), 50 to a message. " +
		"An alert and digest target, not an audience: nobody is removed.",
	Config: []destinations.ConfigField{
		{Name: "webhook_url", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "the incoming webhook's URL, https://hooks.slack.com/services/T…/B…/…; it is the credential"},
		{Name: "endpoint", Type: destinations.ConfigString,
			Description: "a base URL that replaces https://hooks.slack.com in webhook_url (a proxy, or a test fake)"},
	},
	// Slack keeps a workspace's messages in the US unless the workspace
	// chose data residency elsewhere; say so with region:.
	Region: "us",
	Modes:  []destinations.Mode{destinations.Insert, destinations.Upsert},
	Match: []destinations.Field{
		{Name: "email", Type: destinations.String, Description: "shown first on the member's line"},
		{Name: "phone", Type: destinations.String},
		{Name: "id", Type: destinations.String, Description: "any id to show, e.g. the customer id"},
	},
	Custom: &destinations.Custom{
		Description: "any label; the value is shown as label: value on the member's line",
		Types:       []destinations.FieldType{destinations.Any},
	},
	Limits: destinations.Limits{
		BatchRecords: digestMembers,
		Requests:     1,
		Per:          time.Second,
		Concurrency:  1,
	},
}

func init() {
	destinations.Register(Spec, open)
}
