package postgres_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
	"github.com/cohort-cdp/cohort/engine/destinations/postgres"
	"github.com/cohort-cdp/cohort/engine/destinations/postgres/fake"
)

// The "fake" is the real server: a database of its own per scenario, whose
// triggers count statements, fail them on request and refuse chosen rows.
func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type:     postgres.Type,
		Config:   map[string]any{"table": "crm.audience"},
		Endpoint: "dsn",
		NewFake: func(t *testing.T) destinationstest.Fake {
			f := fake.New(t, "crm.audience", "email")
			f.Exec("CREATE SCHEMA crm")
			return f
		},
		Match: map[string]string{"email": "email"},
		Fields: map[string]string{"first_name": "first_name", "city": "city", "orders": "orders", "ltv": "ltv",
			"vip": "vip", "signed_up_at": "signed_up_at"},
	})
}
