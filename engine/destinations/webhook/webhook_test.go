package webhook_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
)

func TestConformance(t *testing.T) {
	destinationstest.Run(t, destinationstest.Case{
		Type:     "webhook",
		Config:   map[string]any{"secret": fake.Secret, "headers": map[string]any{"X-Team": "growth"}},
		Endpoint: "url",
		Region:   "eu",
		NewFake:  func(t *testing.T) destinationstest.Fake { return fake.New(t) },
		Match:    map[string]string{"email": "email"},
		Fields: map[string]string{"first_name": "first_name", "city": "city", "orders": "orders", "ltv": "ltv",
			"vip": "vip", "signed_up_at": "signed_up_at"},
	})
}

func TestSignatureVerifies(t *testing.T) {
	body := []byte(`{"events":[]}`)
	now := time.Unix(1767225600, 0)
	h := http.Header{}
	h.Set(webhook.TimestampHeader, "1767225600")
	h.Set(webhook.SignatureHeader, webhook.Sign("s3cret", 1767225600, body))
	assert.NoError(t, webhook.Verify("s3cret", h, body, now.Add(time.Minute)))
	assert.ErrorContains(t, webhook.Verify("other", h, body, now), "signature does not match")
	assert.ErrorContains(t, webhook.Verify("s3cret", h, []byte(`{"events":[1]}`), now), "signature does not match")
	assert.ErrorContains(t, webhook.Verify("s3cret", h, body, now.Add(10*time.Minute)), "possible replay")
	// The documented format, computed with openssl: printf %s "1767225600.{\"events\":[]}" | openssl dgst -sha256 -hmac s3cret
	assert.Equal(t, "sha256=183eb63b8a78bc5c419da14349a019e32cf8d2fb04943484e9083b47c3df5ec7", webhook.Sign("s3cret", 1767225600, body))
}

func open(t *testing.T, f *fake.Fake, timeout time.Duration) destinations.Destination {
	d, _, err := destinations.Open("webhook", destinations.Config{Name: "hook", Values: map[string]any{"url": f.URL(), "secret": fake.Secret},
		HTTP: &http.Client{Timeout: timeout}})
	require.NoError(t, err)
	return d
}

func batch(ids ...string) *destinations.Batch {
	b := &destinations.Batch{Sync: "s", Mode: destinations.Upsert, IdempotencyKey: "k1"}
	for _, id := range ids {
		b.Records = append(b.Records, destinations.Record{ID: id, Op: destinations.Add, Key: map[string]string{"email": id + "@x.nl"}, Fields: map[string]any{"a": 1}})
	}
	return b
}

func TestFailuresAreClassified(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, 200*time.Millisecond)
	ctx := context.Background()

	f.Fail(1, 429)
	_, err := d.Write(ctx, batch("a"))
	e, ok := destinations.AsError(err)
	require.True(t, ok, "%v", err)
	assert.True(t, e.Retryable)
	assert.Equal(t, time.Second, e.RetryAfter)

	f.Timeout(1)
	_, err = d.Write(ctx, batch("a"))
	e, ok = destinations.AsError(err)
	require.True(t, ok, "%v", err)
	assert.True(t, e.Retryable, "no answer in time is retried")

	f.CrashMidBatch(1)
	_, err = d.Write(ctx, batch("a", "b", "c", "d"))
	e, ok = destinations.AsError(err)
	require.True(t, ok, "%v", err)
	assert.True(t, e.Retryable, "a dropped connection is retried")
	assert.True(t, f.Applied("a"), "the fake applied the first half before crashing")
	assert.False(t, f.Applied("d"))
	res, err := d.Write(ctx, batch("a", "b", "c", "d"))
	require.NoError(t, err)
	assert.Equal(t, destinations.AllAccepted(batch("a", "b", "c", "d")).Records[0].Outcome, res.Records[0].Outcome)
	assert.Equal(t, 2, f.Counts().Duplicates, "the resend's first half was recognised by event id, not applied twice")
	assert.Equal(t, 4, f.Counts().Added)

	bad, _, err := destinations.Open("webhook", destinations.Config{Name: "hook", Values: map[string]any{"url": f.URL(), "secret": "wrong"}})
	require.NoError(t, err)
	_, err = bad.Write(ctx, batch("z"))
	e, ok = destinations.AsError(err)
	require.True(t, ok, "%v", err)
	assert.False(t, e.Retryable, "a wrong secret stops the run")
	assert.Contains(t, e.Message, "signature does not match")
}

func TestNotify(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, time.Second)
	require.NoError(t, d.(destinations.Notifier).Notify(context.Background(), destinations.Notice{Kind: "failure", Title: "sync x failed"}))
	assert.Equal(t, 1, f.Counts().Notices)
	assert.Equal(t, 0, f.Requests(), "a notice is not a data request")
}

func TestConfigIsChecked(t *testing.T) {
	_, _, err := destinations.Open("webhook", destinations.Config{Name: "hook", Values: map[string]any{"url": "ftp://x", "secret": "s"}})
	assert.ErrorContains(t, err, "not an http(s) URL")
	_, _, err = destinations.Open("webhook", destinations.Config{Name: "hook", Values: map[string]any{"url": "https://x.nl/h", "secret": "s",
		"headers": map[string]any{"X-Cohort-Signature": "forged"}}})
	assert.ErrorContains(t, err, "set by Cohort")
	_, _, err = destinations.Open("webhook", destinations.Config{Name: "hook", Values: map[string]any{"url": "https://x.nl/h"}})
	assert.ErrorContains(t, err, "needs secret")
}
