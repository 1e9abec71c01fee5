package slack_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/slack/fake"
)

// BenchmarkWrite posts full digests (50 members, three fields each) to the fake.
func BenchmarkWrite(b *testing.B) {
	f := fake.New()
	defer f.Close()
	d, _, err := destinations.Open("slack", destinations.Config{Name: "bench",
		Values: map[string]any{"webhook_url": fake.WebhookURL, "endpoint": f.URL()}})
	if err != nil {
		b.Fatal(err)
	}
	batch := &destinations.Batch{Segment: "vip"}
	for i := 0; i < 50; i++ {
		batch.Records = append(batch.Records, rec(destinations.Add, fmt.Sprintf("p%d@example.com", i),
			map[string]any{"first_name": "Ada", "ltv": 310.5, "city": "Amsterdam"}))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Records)), "ns/record")
}
