package klaviyo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/klaviyo/fake"
)

// fullJob is the largest batch the sync engine would hand over by the
// spec's limits, of people with a note of noteLen bytes.
func fullJob(noteLen int) *destinations.Batch {
	b := &destinations.Batch{}
	total := 0
	for i := 0; len(b.Records) < Spec.Limits.BatchRecords; i++ {
		r := destinations.Record{ID: fmt.Sprintf("%024x", i), Op: destinations.Add, ProfileID: fmt.Sprintf("p-%08d", i),
			Key: map[string]string{"email": fmt.Sprintf("person%06d@cohort-test.nl", i), "phone_number": fmt.Sprintf("+316%08d", i)},
			Fields: map[string]any{"first_name": "Amélie", "last_name": "de Vries", "city": "Amsterdam", "country": "NL",
				"orders": int64(i % 7), "ltv": 312.75, "vip": i%3 == 0, "signed_up_at": time.Date(2024, 1, 1, 9, 30, 0, 0, time.UTC).Format(time.RFC3339),
				"note": strings.Repeat("x", noteLen)}}
		if total+r.Size() > Spec.Limits.BatchBytes {
			break
		}
		total += r.Size()
		b.Records = append(b.Records, r)
	}
	return b
}

// A job filled to the spec's byte limit stays under Klaviyo's 5 MB once in
// its JSON:API envelope (the fake answers 413 above it), whether the
// records are many and small or fewer and large.
func TestFullJobFitsKlaviyosFiveMB(t *testing.T) {
	for _, note := range []int{200, 20000} { // 10,000 records near the byte limit; fewer, larger ones at it
		f := fake.New(t)
		d := open(t, f, nil)
		b := fullJob(note)
		res, err := d.Write(context.Background(), b)
		require.NoError(t, err, "note of %d bytes, %d records", note, len(b.Records))
		for _, r := range res.Records {
			require.Equal(t, destinations.Accepted, r.Outcome, r.Reason)
		}
		assert.Len(t, f.Members(), len(b.Records))
	}
}

// BenchmarkFullJob writes a job of 10,000 small profiles to the fake:
// encoding, the job, reading its 100 pages of ids.
func BenchmarkFullJob(b *testing.B) {
	batch := fullJob(0)
	for i := 0; i < b.N; i++ {
		f := fake.New(b)
		d, _, err := destinations.Open("klaviyo", destinations.Config{Values: map[string]any{"api_key": fake.Key, "list_id": fake.ListID, "endpoint": f.URL()}})
		require.NoError(b, err)
		if _, err := d.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(batch.Records)), "profiles/op")
}
