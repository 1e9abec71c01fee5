package google_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
	"github.com/cohort-cdp/cohort/engine/destinations/google"
	"github.com/cohort-cdp/cohort/engine/destinations/google/fake"
)

var parts = map[string]string{"first_name": "givenName", "last_name": "familyName", "country_code": "regionCode", "postal_code": "postalCode"}

// byField shows the fake's members' address parts under the sync's field
// names, so the suite can compare what Google holds with what was sent.
type byField struct{ *fake.Server }

func (f byField) Members() map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, m := range f.Server.Members() {
		o := map[string]any{}
		if a, ok := m["address"].(map[string]string); ok {
			for field, part := range parts {
				o[field] = a[part]
			}
		}
		out[k] = o
	}
	return out
}

func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type: google.Type,
		// An access token as is: the suite points only `endpoint` at the fake,
		// and the refresh path is tested on its own (TestWriteIngestsAndRemoves).
		Config:   map[string]any{"operating_account_id": "123-456-7890", "audience_id": "555", "access_token": "ya29.fake-access-token"},
		Endpoint: "endpoint",
		NewFake: func(t *testing.T) destinationstest.Fake {
			f := fake.New()
			t.Cleanup(f.Close)
			return byField{f}
		},
		Match: map[string]string{"email": "email", "phone": "phone"},
		// The test people have no postal code; their city stands in for one
		// so that the name-and-address identifier goes out whole.
		Fields: map[string]string{"first_name": "first_name", "last_name": "last_name", "country_code": "country", "postal_code": "city"},
		Key:    func(email string) string { return destinations.SHA256(email) },
		Stored: func(field string, sent any) any {
			m, err := google.MemberOf(&destinations.Record{Op: destinations.Add, Key: map[string]string{"email": "x@y.nl"},
				Fields: map[string]any{"first_name": "a", "last_name": "b", "country_code": "NL", "postal_code": "1", field: sent}})
			if err != nil {
				return err.Error()
			}
			a := m.UserData.UserIdentifiers[1].Address
			return map[string]string{"first_name": a.GivenName, "last_name": a.FamilyName, "country_code": a.RegionCode, "postal_code": a.PostalCode}[field]
		},
	})
}
