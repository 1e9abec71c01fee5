package klaviyo

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

const mediaType = "application/vnd.api+json"

// client speaks Klaviyo's JSON:API with a private key and a revision.
type client struct {
	http     *http.Client
	base     string
	key      string
	revision string
}

// call sends a request (path with its query, or an absolute next-page
// link) and decodes a 2xx answer into out when not nil.
func (c *client) call(ctx context.Context, method, path string, body, out any) (int, error) {
	u := path
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = c.base + path
	}
	h := http.Header{
		"Authorization": {"Klaviyo-API-Key " + c.key},
		"Revision":      {c.revision},
		"Accept":        {mediaType},
	}
	if body != nil {
		h.Set("Content-Type", mediaType)
	}
	status, _, err := destinations.Do(ctx, c.http, destinations.Request{Method: method, URL: u, Header: h, Body: body, Message: message, Out: out})
	return status, err
}

// apiError is one entry of a JSON:API error document.
type apiError struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Source struct {
		Pointer   string `json:"pointer"`
		Parameter string `json:"parameter"`
	} `json:"source"`
}

func (e apiError) text() string {
	s := strings.TrimSpace(e.Title + " " + e.Detail)
	if e.Source.Pointer != "" {
		s += " (" + e.Source.Pointer + ")"
	}
	return s
}

func message(body []byte) string {
	var doc struct {
		Errors []apiError `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil || len(doc.Errors) == 0 {
		return ""
	}
	parts := make([]string, len(doc.Errors))
	for i, e := range doc.Errors {
		parts[i] = e.text()
	}
	return strings.Join(parts, "; ")
}
