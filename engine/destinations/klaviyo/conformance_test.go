package klaviyo_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
	"github.com/cohort-cdp/cohort/engine/destinations/klaviyo/fake"
)

func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type:     "klaviyo",
		Config:   map[string]any{"api_key": fake.Key, "list_id": fake.ListID},
		Endpoint: "endpoint",
		NewFake:  func(t *testing.T) destinationstest.Fake { return fake.New(t) },
		Match:    map[string]string{"email": "email", "phone_number": "phone"},
		Fields: map[string]string{"first_name": "first_name", "last_name": "last_name", "city": "city", "country": "country",
			"orders": "orders", "ltv": "ltv", "vip": "vip", "signed_up_at": "signed_up_at"},
	})
}
