package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/postgres"
	"github.com/cohort-cdp/cohort/engine/destinations/postgres/fake"
)

// BenchmarkUpsert is one batch of 5,000 rows (key and five fields) upserted
// into a table that already holds them, on the test server (without the
// fake's triggers).
func BenchmarkUpsert(b *testing.B) {
	f := fake.New(b, "audience", "email")
	d, spec, err := destinations.Open(postgres.Type, destinations.Config{Values: map[string]any{"dsn": f.DSN(), "table": "audience"}})
	if err != nil {
		b.Fatal(err)
	}
	n := spec.Limits.BatchRecords
	batch := &destinations.Batch{Mode: destinations.Upsert, Records: make([]destinations.Record, n)}
	for i := range batch.Records {
		batch.Records[i] = destinations.Record{Op: destinations.Add, ProfileID: fmt.Sprint(i),
			Key: map[string]string{"email": fmt.Sprintf("person%d@example.com", i)},
			Fields: map[string]any{"first_name": "Amélie", "orders": int64(i % 7), "ltv": float64(i) * 1.5, "vip": i%3 == 0,
				"signed_up_at": "2025-01-02T03:04:05Z"}}
	}
	ctx := context.Background()
	if _, err := d.Write(ctx, batch); err != nil {
		b.Fatal(err)
	}
	// The fake's own triggers are not what a real table pays.
	f.Exec("ALTER TABLE audience DISABLE TRIGGER USER")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}
