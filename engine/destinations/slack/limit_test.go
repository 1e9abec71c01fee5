package slack_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/slack/fake"
	"github.com/cohort-cdp/cohort/engine/sync"
)

func TestFakeLimitsToAboutOneMessageASecond(t *testing.T) {
	f := fake.New()
	defer f.Close()
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	f.Limit(2, time.Second, func() time.Time { return now })
	post := func() (int, string, string) {
		resp, err := http.Post(f.URL()+fake.Path, "application/json", strings.NewReader(`{"text":"hi"}`))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	for i := 0; i < 2; i++ {
		st, _, _ := post()
		assert.Equal(t, 200, st, "a burst of two is tolerated")
	}
	st, after, body := post()
	assert.Equal(t, 429, st)
	assert.Equal(t, "1", after)
	assert.Equal(t, "rate_limited", body)
	now = now.Add(time.Second)
	st, _, _ = post()
	assert.Equal(t, 200, st, "a second later one more message goes")
}

// deliver sends n new members through the sync engine's delivery with the
// given limits, on a manual clock the fake's limiter shares.
func deliver(t *testing.T, lim destinations.Limits, n int) (sync.Stats, *sync.ManualClock) {
	f := fake.New()
	t.Cleanup(f.Close)
	clock := sync.NewManualClock(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC))
	f.Limit(1, time.Second, clock.Now)
	d := open(t, f, fake.WebhookURL)
	var recs []destinations.Record
	for i := 0; i < n; i++ {
		recs = append(recs, rec(destinations.Add, fmt.Sprintf("p%03d@example.com", i), nil))
	}
	i := 0
	st, err := sync.Deliver(context.Background(), d, sync.Options{Sync: "digest", Segment: "vip", Mode: destinations.Insert,
		Limits: lim, Clock: clock, Jitter: func() float64 { return 0 }},
		func() (*destinations.Record, error) {
			if i == len(recs) {
				return nil, io.EOF
			}
			i++
			return &recs[i-1], nil
		},
		func([]sync.Ack) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, int64(n), st.Added)
	assert.Len(t, f.Members(), n)
	return st, clock
}

func TestSpecPaceNeverTripsSlacksLimit(t *testing.T) {
	spec, err := destinations.Lookup("slack")
	require.NoError(t, err)
	st, _ := deliver(t, spec.Limits, 200)
	assert.Equal(t, int64(4), st.Requests, "200 members in four digests of 50")
	assert.Zero(t, st.Retried, "no 429: the spec paces one message a second")

	unpaced := spec.Limits
	unpaced.Requests, unpaced.Per = 0, 0
	st, clock := deliver(t, unpaced, 200)
	assert.Positive(t, st.Retried, "without the spec's pace Slack's limit answers 429")
	assert.GreaterOrEqual(t, clock.Slept(), 3*time.Second, "and its Retry-After is waited for")
}
