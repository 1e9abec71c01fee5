package mailchimp_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
	_ "github.com/cohort-cdp/cohort/engine/destinations/mailchimp"
	"github.com/cohort-cdp/cohort/engine/destinations/mailchimp/fake"
)

func TestConformance(t *testing.T) {
	t.Run("archive", func(t *testing.T) { conformance(t, map[string]any{}, "") })
	t.Run("tag", func(t *testing.T) {
		conformance(t, map[string]any{"tag": "cohort {segment}"}, "cohort conformance_segment")
	})
}

// conformance runs the suite with extra config; membersTag is the tag whose
// members make the audience, "" for the whole audience.
func conformance(t *testing.T, cfg map[string]any, membersTag string) {
	config := map[string]any{"api_key": fake.Key, "audience_id": fake.ListID}
	for k, v := range cfg {
		config[k] = v
	}
	destinationstest.Run(t, destinationstest.Case{
		Type:     "mailchimp",
		Config:   config,
		Endpoint: "endpoint",
		NewFake: func(t *testing.T) destinationstest.Fake {
			f := fake.New(t)
			f.DefineMergeField("ORDERS", "number")
			f.DefineMergeField("CITY", "text")
			f.MembersTag = membersTag
			return f
		},
		Match:  map[string]string{"email": "email"},
		Fields: map[string]string{"FNAME": "first_name", "LNAME": "last_name", "CITY": "city", "ORDERS": "orders", "LTV": "ltv", "vip": "vip", "SIGNUP": "signed_up_at"},
		Stored: func(field string, sent any) any {
			if field == "SIGNUP" {
				return sent.(string)[:10] // a date merge field holds the day
			}
			return sent
		},
	})
}
