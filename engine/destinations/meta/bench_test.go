package meta_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/meta"
	"github.com/cohort-cdp/cohort/engine/destinations/meta/fake"
)

// BenchmarkWrite is one full request of 10,000 people (e-mail, phone, first
// name, country): normalizing, hashing, encoding, and the fake's parsing.
func BenchmarkWrite(b *testing.B) {
	f := fake.New()
	defer f.Close()
	d, _, err := destinations.Open(meta.Type, destinations.Config{Values: f.Config()})
	if err != nil {
		b.Fatal(err)
	}
	batch := &destinations.Batch{IdempotencyKey: "bench", Records: make([]destinations.Record, meta.MaxRows)}
	for i := range batch.Records {
		batch.Records[i] = destinations.Record{Op: destinations.Add,
			Key:    map[string]string{"email": fmt.Sprintf("person%d@example.com", i), "phone": fmt.Sprintf("+3161%07d", i)},
			Fields: map[string]any{"first_name": "Amélie", "country": "NL"}}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*meta.MaxRows)/b.Elapsed().Seconds(), "people/s")
}
