package meta_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
	"github.com/cohort-cdp/cohort/engine/destinations/meta"
	"github.com/cohort-cdp/cohort/engine/destinations/meta/fake"
)

// columns are the schema keys the conformance mapping fills, by field.
var columns = map[string]string{"first_name": "FN", "last_name": "LN", "city": "CT", "country": "COUNTRY"}

// byField shows the fake's members under the sync's field names, so the
// suite can compare what Meta holds (hashes under schema keys) with what
// was sent.
type byField struct{ *fake.Server }

func (f byField) Members() map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, m := range f.Server.Members() {
		o := map[string]any{}
		for field, col := range columns {
			if v, ok := m[col]; ok {
				o[field] = v
			}
		}
		out[k] = o
	}
	return out
}

func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type:     meta.Type,
		Config:   map[string]any{"access_token": "meta-test-token", "audience_id": "23851234567890123"},
		Endpoint: "endpoint",
		NewFake: func(t *testing.T) destinationstest.Fake {
			f := fake.New()
			t.Cleanup(f.Close)
			return byField{f}
		},
		Match:  map[string]string{"email": "email", "phone": "phone"},
		Fields: map[string]string{"first_name": "first_name", "last_name": "last_name", "city": "city", "country": "country"},
		Key:    func(email string) string { return destinations.SHA256(email) },
		// Meta holds the hash of the normalized value.
		Stored: func(field string, sent any) any {
			row, err := meta.Row(&destinations.Record{Op: destinations.Add, Key: map[string]string{"email": "x@y.nl"},
				Fields: map[string]any{field: sent}})
			if err != nil {
				return err.Error()
			}
			return row[columns[field]]
		},
	})
}
