package google_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/google"
	"github.com/cohort-cdp/cohort/engine/destinations/google/fake"
)

// BenchmarkWrite is one request of 10,000 members (e-mail, phone, name and
// address): normalizing, hashing, encoding, the fake's checks and the
// status read.
func BenchmarkWrite(b *testing.B) {
	f := fake.New()
	defer f.Close()
	d, _, err := destinations.Open(google.Type, destinations.Config{Values: f.Config()})
	if err != nil {
		b.Fatal(err)
	}
	batch := &destinations.Batch{Records: make([]destinations.Record, google.MaxMembers)}
	for i := range batch.Records {
		batch.Records[i] = destinations.Record{Op: destinations.Add,
			Key:    map[string]string{"email": fmt.Sprintf("person%d@example.com", i), "phone": fmt.Sprintf("+3161%07d", i)},
			Fields: map[string]any{"first_name": "Amélie", "last_name": "de Vries", "country_code": "NL", "postal_code": "1011 AB"}}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*google.MaxMembers)/b.Elapsed().Seconds(), "people/s")
}
