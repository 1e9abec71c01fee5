package braze_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/braze/fake"
)

// BenchmarkWrite sends full batches (50 people, six attributes each) to the fake.
func BenchmarkWrite(b *testing.B) {
	f := fake.New("eu-01")
	defer f.Close()
	d, _, err := destinations.Open("braze", destinations.Config{Name: "bench",
		Values: map[string]any{"api_key": fake.APIKey, "instance": "eu-01", "endpoint": f.URL()}})
	if err != nil {
		b.Fatal(err)
	}
	batch := &destinations.Batch{Segment: "vip"}
	for i := 0; i < 50; i++ {
		batch.Records = append(batch.Records, add(fmt.Sprint(i), map[string]string{"external_id": fmt.Sprintf("cus_%d", i),
			"email": fmt.Sprintf("p%d@example.com", i)}, map[string]any{"first_name": "Ada", "last_name": "Lovelace",
			"country": "NL", "ltv": 310.5, "orders": int64(4), "vip": true}))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Records)), "ns/record")
}
