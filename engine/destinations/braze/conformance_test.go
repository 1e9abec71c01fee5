package braze_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations/braze/fake"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// Braze runs every scenario of the suite: its Spec supports upsert, mirror
// (membership attribute set to false) and erasure.
func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type:     "braze",
		Config:   map[string]any{"api_key": fake.APIKey, "instance": "eu-01", "subscription_groups": []any{"sg_news"}},
		Endpoint: "endpoint",
		NewFake: func(t *testing.T) destinationstest.Fake {
			f := fake.New("eu-01")
			t.Cleanup(f.Close)
			return f
		},
		Match: map[string]string{"email": "email", "phone": "phone"},
		Fields: map[string]string{"first_name": "first_name", "last_name": "last_name", "home_city": "city",
			"country": "country", "orders": "orders", "ltv": "ltv", "vip": "vip", "signed_up_at": "signed_up_at"},
	})
}
