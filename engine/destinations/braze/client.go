package braze

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// client speaks Braze's REST API on one instance.
type client struct {
	http     *http.Client
	base     string // REST host, or the endpoint override
	key      string
	instance string
}

// trackError is one element of /users/track's errors[].
type trackError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
}

// answer is the body of a /users/track or /users/delete answer.
type answer struct {
	Message string       `json:"message"`
	Errors  []trackError `json:"errors"`
	Deleted int          `json:"deleted"`
}

// post sends body to path. For a 2xx it returns the decoded answer; for a
// 400 that names objects in errors[] (Braze answers so when no object was
// valid) it returns the answer too, with the error.
func (c *client) post(ctx context.Context, path string, body any) (answer, error) {
	_, data, err := destinations.Do(ctx, c.http, destinations.Request{
		Method:  http.MethodPost,
		URL:     c.base + path,
		Header:  http.Header{"Authorization": {"Bearer " + c.key}},
		Body:    body,
		Message: message,
		Adjust: func(e *destinations.Error, h http.Header, _ []byte) {
			switch {
			case e.Status == http.StatusUnauthorized:
				e.Message += " (Braze answers 401 to a key used on another instance than its workspace's: check config.instance, now " + c.instance + ")"
			case e.Status == http.StatusForbidden:
				e.Message += " (the key lacks the permission for " + path + ": give it users.track, and users.delete for erasure)"
			case e.Retryable && e.RetryAfter == 0:
				e.RetryAfter = untilReset(h, time.Now())
			}
		},
	})
	var a answer
	if len(data) > 0 {
		_ = json.Unmarshal(data, &a) // a body that is not JSON leaves a empty; err says why when it matters
	}
	return a, err
}

// untilReset is how long until X-RateLimit-Reset (UTC epoch seconds), the
// signal Braze documents for its rate limits (it does not document
// Retry-After); 0 when absent or past.
func untilReset(h http.Header, now time.Time) time.Duration {
	sec, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return 0
	}
	if d := time.Unix(sec, 0).Sub(now); d > 0 {
		return d
	}
	return 0
}

// message is Braze's error text: "message", and the first error's type.
func message(body []byte) string {
	var a answer
	if json.Unmarshal(body, &a) != nil || a.Message == "" {
		return ""
	}
	var types []string
	for _, e := range a.Errors {
		if e.Type != "" && len(types) < 3 {
			types = append(types, e.Type)
		}
	}
	if len(types) > 0 {
		return a.Message + ": " + strings.Join(types, "; ")
	}
	return a.Message
}
