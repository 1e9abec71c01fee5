package destinations

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request is one HTTP call of a connector.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   any // encoded as JSON unless it is []byte
	// Message extracts the vendor's error message from an error body; nil
	// uses the body's text.
	Message func(body []byte) string
	// Adjust, when set, may change how a non-2xx answer is treated, for
	// vendors that say "throttled" or "transient" in the body rather than in
	// the status (Meta answers its rate limits with HTTP 400 and an error
	// code, and the wait in a usage header).
	Adjust func(e *Error, h http.Header, body []byte)
	// Out, when set, receives a 2xx answer's JSON body. A body that does
	// not decode (a proxy's page, an answer cut short) is a retryable
	// *Error, so a connector never reads a half-understood answer.
	Out any
}

// Do sends a request and returns the status and body of a 2xx answer. Any
// other answer, or none, is an *Error the sync engine knows how to treat:
// no answer, 408, 429 and 5xx are retryable (429 and 503 with the vendor's
// Retry-After), 413 is TooLarge, other 4xx are permanent with the vendor's
// message.
func Do(ctx context.Context, client *http.Client, r Request) (int, []byte, error) {
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, &Error{Retryable: true, Message: "no answer: " + err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, &Error{Status: resp.StatusCode, Retryable: true, Message: "reading the answer: " + err.Error()}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if r.Out != nil && len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, r.Out); err != nil {
				return resp.StatusCode, data, &Error{Status: resp.StatusCode, Retryable: true,
					Message: fmt.Sprintf("the answer to %s %s is not the JSON expected: %v", r.Method, req.URL.Path, err)}
			}
		}
		return resp.StatusCode, data, nil
	}
	msg := strings.TrimSpace(string(data))
	if r.Message != nil {
		if m := r.Message(data); m != "" {
			msg = m
		}
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	e := Classify(resp.StatusCode, resp.Header, msg)
	if r.Adjust != nil {
		r.Adjust(e, resp.Header, data)
	}
	return resp.StatusCode, data, e
}

// Classify turns a non-2xx status into an *Error.
func Classify(status int, h http.Header, msg string) *Error {
	e := &Error{Status: status, Message: msg}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		e.Retryable, e.RetryAfter = true, RetryAfter(h, time.Now())
	case status == http.StatusRequestTimeout || status >= 500:
		e.Retryable = true
	case status == http.StatusRequestEntityTooLarge:
		e.TooLarge = true
	}
	return e
}

// RetryAfter reads a Retry-After header (seconds, or an HTTP date); 0 when
// absent or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// AsError returns err as an *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
