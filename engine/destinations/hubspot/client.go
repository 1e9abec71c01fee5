package hubspot

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// client speaks HubSpot's CRM v3 API with a private app's token.
type client struct {
	http  *http.Client
	base  string
	token string
}

// call sends a request and decodes a 2xx answer into out (when not nil).
func (c *client) call(ctx context.Context, method, path string, body, out any) (int, error) {
	return c.do(ctx, method, path, body, out, adjust)
}

func (c *client) do(ctx context.Context, method, path string, body, out any, adj func(*destinations.Error, http.Header, []byte)) (int, error) {
	status, _, err := destinations.Do(ctx, c.http, destinations.Request{
		Method:  method,
		URL:     c.base + path,
		Header:  http.Header{"Authorization": {"Bearer " + c.token}, "Accept": {"application/json"}},
		Body:    body,
		Message: message,
		Adjust:  adj,
		Out:     out,
	})
	return status, err
}

// adjust makes a used-up daily quota permanent: sending again before
// midnight (the account's time zone) only adds to the errors HubSpot
// counts against the app.
func adjust(e *destinations.Error, _ http.Header, body []byte) {
	var a apiError
	if e.Status == http.StatusTooManyRequests && json.Unmarshal(body, &a) == nil && a.PolicyName == "DAILY" {
		e.Retryable = false
		e.Message = "HubSpot's daily API limit is used up; it resets at midnight in the account's time zone: " + e.Message
	}
}

// apiError is HubSpot's error body, for a whole request and for one input
// of a batch (multi-status).
type apiError struct {
	Status     string              `json:"status"`
	Category   string              `json:"category"`
	Message    string              `json:"message"`
	PolicyName string              `json:"policyName"`
	Context    map[string][]string `json:"context"`
	Errors     []struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"errors"`
}

// text is the error's message with its detailed errors, as HubSpot words them.
func (e *apiError) text() string {
	parts := []string{e.Message}
	for _, d := range e.Errors {
		if d.Message != "" && d.Message != e.Message {
			parts = append(parts, d.Message)
		}
	}
	return strings.Join(parts, ": ")
}

// splitOnValidation marks a batch refused whole over one input's values
// (400 VALIDATION_ERROR) to be sent in halves, which finds the input. Not
// an unknown property, which every input would hit, and not the batch's
// own shape (too many inputs, duplicate ids), which halving cannot mend.
func splitOnValidation(e *destinations.Error, h http.Header, body []byte) {
	adjust(e, h, body)
	var a apiError
	if e.Status != http.StatusBadRequest || json.Unmarshal(body, &a) != nil || a.Category != "VALIDATION_ERROR" ||
		strings.Contains(a.Message, "maximum number of inputs") || strings.HasPrefix(a.Message, "Duplicate IDs") {
		return
	}
	for _, d := range a.Errors {
		if d.Code == "PROPERTY_DOESNT_EXIST" {
			return
		}
	}
	e.TooLarge = true
}

func message(body []byte) string {
	var e apiError
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return ""
	}
	if e.Category != "" {
		return e.Category + ": " + e.text()
	}
	return e.text()
}
