package google

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/google/fake"
)

// A request Google is still processing when written is asked about on the
// next writes and at Close, and what became of it is logged.
func TestPendingRequestsArePolledAndLogged(t *testing.T) {
	f := fake.New()
	defer f.Close()
	cfg := f.Config()
	dst, _, err := destinations.Open(Type, destinations.Config{Values: cfg})
	require.NoError(t, err)
	d := dst.(*destination)
	var logs bytes.Buffer
	d.log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	write := func(email string) {
		t.Helper()
		res, err := d.Write(ctx, &destinations.Batch{Records: []destinations.Record{{Op: destinations.Add, Key: map[string]string{"email": email}}}})
		require.NoError(t, err)
		assert.Equal(t, destinations.Accepted, res.Records[0].Outcome, "still processing: taken")
	}

	f.ProcessingPolls = 1 // each request answers PROCESSING once
	f.FailProcessing("PROCESSING_ERROR_REASON_NO_CONSENT")
	write("a@b.nl")
	assert.Len(t, d.pending, 1)
	write("c@d.nl") // polls the first (now FAILED) and leaves the second pending
	assert.Contains(t, logs.String(), "could not process members of an acknowledged request")
	assert.Contains(t, logs.String(), "errors=\"1 × NO_CONSENT\"")
	require.Len(t, d.pending, 1)

	require.NoError(t, d.Close())
	assert.Contains(t, logs.String(), "msg=\"google_customer_match: request processed\"")
	assert.Empty(t, d.pending)
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"))
}
