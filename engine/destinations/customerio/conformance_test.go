package customerio_test

import (
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations/customerio/fake"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// Customer.io runs every scenario of the suite: upsert, mirror (the manual
// segment) and erasure (people deleted).
func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type:     "customer_io",
		Region:   "eu",
		Config:   map[string]any{"site_id": fake.SiteID, "api_key": fake.APIKey, "segment_id": "17"},
		Endpoint: "endpoint",
		NewFake: func(t *testing.T) destinationstest.Fake {
			f := fake.New("eu", "17")
			t.Cleanup(f.Close)
			return f
		},
		Match: map[string]string{"email": "email"},
		Fields: map[string]string{"first_name": "first_name", "last_name": "last_name", "city": "city",
			"country": "country", "orders": "orders", "ltv": "ltv", "vip": "vip", "created_at": "signed_up_at"},
		Stored: func(field string, sent any) any {
			if field == "created_at" { // sent as RFC 3339 text, held as Unix seconds
				tm, _ := time.Parse(time.RFC3339, sent.(string))
				return tm.Unix()
			}
			return sent
		},
	})
}
