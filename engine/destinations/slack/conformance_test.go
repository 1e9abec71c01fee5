package slack_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
	"github.com/cohort-cdp/cohort/engine/destinations/slack/fake"
)

// Slack runs the suite's full sync, incremental changes (new and changed
// members are listed), rate limiting and retries after 429 and 5xx; it
// skips per-record rejections (a webhook takes a message whole or not at
// all). Its Spec rules out mirror removals and erasure: a channel's
// messages are not an audience.
func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type:     "slack",
		Config:   map[string]any{"webhook_url": fake.WebhookURL},
		Endpoint: "endpoint",
		NewFake: func(t *testing.T) destinationstest.Fake {
			f := fake.New()
			t.Cleanup(f.Close)
			return f
		},
		Match: map[string]string{"email": "email"},
		Fields: map[string]string{"first_name": "first_name", "city": "city", "orders": "orders", "ltv": "ltv",
			"vip": "vip", "signed_up": "signed_up_at"},
		Stored: func(_ string, sent any) any { // a digest shows every value as text
			if f, ok := sent.(float64); ok {
				return strconv.FormatFloat(f, 'f', -1, 64)
			}
			return fmt.Sprint(sent)
		},
		Skip: map[string]string{"per-record rejections": "Slack has no per-record errors: a message is posted whole or not at all"},
	})
}
