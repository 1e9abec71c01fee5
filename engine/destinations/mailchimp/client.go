package mailchimp

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// client speaks the Marketing API v3 of one account's data centre.
type client struct {
	http *http.Client
	base string // up to and without /3.0
	key  string
}

// dataCentre is the data centre an API key belongs to: what follows its
// last dash ("…-us6" → "us6").
func dataCentre(key string) (string, error) {
	i := strings.LastIndexByte(key, '-')
	dc := key[i+1:]
	if i < 1 || dc == "" || strings.Trim(strings.ToLower(dc), "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return "", fmt.Errorf("config.api_key does not end in its data centre (like …-us6): copy the whole key from Mailchimp (Profile → Extras → API keys)")
	}
	return strings.ToLower(dc), nil
}

// subscriberHash is Mailchimp's member id: the MD5 of the lower-cased address.
func subscriberHash(email string) string {
	h := md5.Sum([]byte(strings.ToLower(email)))
	return hex.EncodeToString(h[:])
}

func (c *client) call(ctx context.Context, method, path string, body, out any) (int, error) {
	// Basic auth: any user name, the key as password.
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("cohort:"+c.key))
	status, _, err := destinations.Do(ctx, c.http, destinations.Request{
		Method:  method,
		URL:     c.base + "/3.0" + path,
		Header:  http.Header{"Authorization": {auth}, "Accept": {"application/json"}},
		Body:    body,
		Message: message,
		Adjust:  adjust,
		Out:     out,
	})
	return status, err
}

// adjust retries a bare 403: Mailchimp's throttling of very high volume.
func adjust(e *destinations.Error, _ http.Header, body []byte) {
	if e.Status == http.StatusForbidden && len(strings.TrimSpace(string(body))) == 0 {
		e.Retryable = true
		e.Message = "Mailchimp refused the request without a body, as it does when throttling very high volume"
	}
}

// problem is Mailchimp's error document (RFC 7807).
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func message(body []byte) string {
	var p problem
	if json.Unmarshal(body, &p) != nil || p.Title == "" {
		return ""
	}
	parts := []string{p.Title + ": " + p.Detail}
	for _, e := range p.Errors {
		parts = append(parts, e.Field+": "+e.Message)
	}
	return strings.Join(parts, "; ")
}
