package customerio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// client speaks the Track API with a site id and key (HTTP Basic).
type client struct {
	http           *http.Client
	base           string
	siteID, apiKey string
	appBase        string
	appKey         string
}

// opError is an element of a v2 answer's errors[]: batch_index is set in
// a 207 (the other operations were taken), absent in a 400.
type opError struct {
	BatchIndex *int   `json:"batch_index"`
	Reason     string `json:"reason"`
	Field      string `json:"field"`
	Message    string `json:"message"`
}

func (e opError) text() string {
	parts := []string{}
	for _, s := range []string{e.Reason, e.Field, e.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

type answer struct {
	Errors []opError `json:"errors"`
	Meta   struct {
		Error string `json:"error"`
	} `json:"meta"`
	Region  string `json:"region"`
	URL     string `json:"url"`
	Segment struct {
		Name string `json:"name"`
		Type string `json:"type"` // manual | dynamic
	} `json:"segment"`
}

// app sends a GET to the App API with the App key.
func (c *client) app(ctx context.Context, path string) (answer, error) {
	_, data, err := destinations.Do(ctx, c.http, destinations.Request{
		Method: http.MethodGet, URL: c.appBase + path, Message: message,
		Header: http.Header{"Authorization": {"Bearer " + c.appKey}},
	})
	var a answer
	if len(data) > 0 {
		_ = json.Unmarshal(data, &a)
	}
	return a, err
}

func (c *client) do(ctx context.Context, method, path string, query url.Values, body any) (int, answer, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	status, data, err := destinations.Do(ctx, c.http, destinations.Request{
		Method: method, URL: u, Body: body, Message: message,
		Header: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(c.siteID+":"+c.apiKey))}},
	})
	var a answer
	if len(data) > 0 {
		_ = json.Unmarshal(data, &a) // an answer that is not JSON has no per-operation errors
	}
	if e, ok := destinations.AsError(err); ok && e.Status == http.StatusUnauthorized {
		e.Message = "Customer.io did not accept site_id and api_key (" + e.Message + "); a US workspace's key sent to the EU host fails too: check region"
	}
	return status, a, err
}

// message is Customer.io's error text: meta.error (v1) or errors[] (v2).
func message(body []byte) string {
	var a answer
	if json.Unmarshal(body, &a) != nil {
		return ""
	}
	if a.Meta.Error != "" {
		return a.Meta.Error
	}
	var ms []string
	for _, e := range a.Errors {
		if len(ms) < 3 {
			ms = append(ms, e.text())
		}
	}
	return strings.Join(ms, "; ")
}
