package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Header names of a signed request.
const (
	SignatureHeader   = "X-Cohort-Signature"
	TimestampHeader   = "X-Cohort-Timestamp"
	IdempotencyHeader = "Idempotency-Key"
)

// Tolerance is how far a request's timestamp may be from the receiver's
// clock before Verify refuses it as a possible replay.
const Tolerance = 5 * time.Minute

// Sign is the X-Cohort-Signature value for body sent at unix time ts.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a received request's signature and timestamp, as a
// receiver should: the HMAC over "timestamp.body" must match, compared in
// constant time, and the timestamp must be within Tolerance of now.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	tsText := h.Get(TimestampHeader)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("missing or malformed %s header", TimestampHeader)
	}
	sig := h.Get(SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("missing or malformed %s header (want sha256=<hex>)", SignatureHeader)
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return errors.New("signature does not match the body: wrong secret, or the body was changed")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("timestamp %d is %s away from now: refused as a possible replay", ts, d.Round(time.Second))
	}
	return nil
}

// client posts signed bodies.
type client struct {
	url     string
	secret  string
	headers map[string]string
	http    *http.Client
	now     func() time.Time
}

// post sends body, signed, and returns the answer's body.
func (c *client) post(ctx context.Context, body []byte, idempotencyKey string) ([]byte, error) {
	h := http.Header{}
	for k, v := range c.headers {
		h.Set(k, v)
	}
	ts := c.now().Unix()
	h.Set("User-Agent", "cohort-webhook/1")
	h.Set("Content-Type", "application/json")
	h.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	h.Set(SignatureHeader, Sign(c.secret, ts, body))
	if idempotencyKey != "" {
		h.Set(IdempotencyHeader, idempotencyKey)
	}
	_, data, err := destinations.Do(ctx, c.http, destinations.Request{Method: http.MethodPost, URL: c.url, Header: h, Body: body})
	return data, err
}
