package hubspot_test

import (
	"strconv"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
	"github.com/cohort-cdp/cohort/engine/destinations/hubspot/fake"
)

func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type:     "hubspot",
		Config:   map[string]any{"access_token": fake.Token, "list_id": fake.ListID},
		Endpoint: "endpoint",
		NewFake: func(t *testing.T) destinationstest.Fake {
			f := fake.New(t)
			f.Define("orders", "ltv", "vip", "signed_up_at")
			return f
		},
		Match: map[string]string{"email": "email"},
		Fields: map[string]string{"firstname": "first_name", "lastname": "last_name", "city": "city", "country": "country",
			"orders": "orders", "ltv": "ltv", "vip": "vip", "signed_up_at": "signed_up_at"},
		Stored: func(_ string, sent any) any { // HubSpot holds every property as text
			switch v := sent.(type) {
			case bool:
				return strconv.FormatBool(v)
			case float64:
				return strconv.FormatFloat(v, 'f', -1, 64)
			case int64:
				return strconv.FormatInt(v, 10)
			}
			return sent
		},
	})
}
