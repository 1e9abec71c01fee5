package customerio_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/customerio/fake"
)

// BenchmarkWrite sends full batches (1,000 people, six attributes each:
// an identify batch and a segment call) to the fake.
func BenchmarkWrite(b *testing.B) {
	f := fake.New("us", "17")
	defer f.Close()
	d, _, err := destinations.Open("customer_io", destinations.Config{Name: "bench",
		Values: map[string]any{"site_id": fake.SiteID, "api_key": fake.APIKey, "segment_id": "17", "endpoint": f.URL()}})
	if err != nil {
		b.Fatal(err)
	}
	batch := &destinations.Batch{Segment: "vip"}
	size := 0
	for i := 0; i < 1000; i++ {
		r := rec(destinations.Add, map[string]string{"id": fmt.Sprintf("cus_%d", i), "email": fmt.Sprintf("p%d@example.com", i)},
			map[string]any{"first_name": "Ada", "last_name": "Lovelace", "country": "NL", "ltv": 310.5, "orders": int64(4), "vip": true})
		size += r.Size()
		batch.Records = append(batch.Records, r)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Records)), "ns/record")
	b.ReportMetric(float64(size), "record-bytes/batch")
}
