package google

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Account is a product account in a destination.
type Account struct {
	AccountType string `json:"accountType"`
	AccountID   string `json:"accountId"`
}

// Destination is where a request's members go: the list in an account.
type Destination struct {
	OperatingAccount     Account  `json:"operatingAccount"`
	LoginAccount         *Account `json:"loginAccount,omitempty"`
	ProductDestinationID string   `json:"productDestinationId"`
}

// Consent is request-level consent.
type Consent struct {
	AdUserData        string `json:"adUserData"`
	AdPersonalization string `json:"adPersonalization"`
}

// Request is the body of audienceMembers:ingest and :remove.
type Request struct {
	Destinations    []Destination `json:"destinations"`
	AudienceMembers []Member      `json:"audienceMembers"`
	Consent         *Consent      `json:"consent,omitempty"` // ingest only
	ValidateOnly    bool          `json:"validateOnly,omitempty"`
	Encoding        string        `json:"encoding"`
}

// Status is Google's error body (google.rpc.Status).
type Status struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string           `json:"@type"`
			Reason          string           `json:"reason"`
			FieldViolations []FieldViolation `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

// FieldViolation is one entry of a google.rpc.BadRequest detail.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
	Reason      string `json:"reason"`
}

type client struct {
	http        *http.Client
	base        string
	destination Destination
	accountID   string
	audienceID  string
	tokens      *tokenSource
}

func newClient(cfg destinations.Config) (*client, error) {
	account := strings.ReplaceAll(cfg.String("operating_account_id"), "-", "")
	d := Destination{
		OperatingAccount:     Account{AccountType: cfg.String("account_type"), AccountID: account},
		ProductDestinationID: cfg.String("audience_id"),
	}
	if l := strings.ReplaceAll(cfg.String("login_account_id"), "-", ""); l != "" {
		d.LoginAccount = &Account{AccountType: "GOOGLE_ADS", AccountID: l}
	}
	ts := &tokenSource{http: cfg.HTTP, url: cfg.String("token_endpoint"), access: cfg.String("access_token"),
		refresh: cfg.String("refresh_token"), clientID: cfg.String("client_id"), clientSecret: cfg.String("client_secret")}
	if ts.refresh == "" && ts.access == "" {
		return nil, fmt.Errorf("Google Customer Match needs credentials: refresh_token with client_id and client_secret, or access_token")
	}
	if ts.refresh != "" && (ts.clientID == "" || ts.clientSecret == "") {
		return nil, fmt.Errorf("Google Customer Match: refresh_token needs client_id and client_secret of the OAuth client it was issued to")
	}
	return &client{http: cfg.HTTP, base: strings.TrimRight(cfg.String("endpoint"), "/"), destination: d,
		accountID: account, audienceID: d.ProductDestinationID, tokens: ts}, nil
}

// send ingests or removes members and returns Google's request id. When
// Google refuses the request for some of its members, it returns them too
// (index → reason) with the error.
func (c *client) send(ctx context.Context, remove bool, members []Member, validateOnly bool) (string, map[int]string, error) {
	token, err := c.tokens.get(ctx)
	if err != nil {
		return "", nil, err
	}
	req := Request{Destinations: []Destination{c.destination}, AudienceMembers: members, ValidateOnly: validateOnly, Encoding: "HEX"}
	path := "/v1/audienceMembers:ingest"
	if remove {
		path = "/v1/audienceMembers:remove"
	} else {
		// The sync's consent purpose has already kept out everyone who did
		// not agree to be advertised to.
		req.Consent = &Consent{AdUserData: "CONSENT_GRANTED", AdPersonalization: "CONSENT_GRANTED"}
	}
	_, body, err := destinations.Do(ctx, c.http, destinations.Request{
		Method: "POST", URL: c.base + path,
		Header: http.Header{"Authorization": {"Bearer " + token}}, Body: req, Message: Message,
	})
	if err != nil {
		if e, ok := destinations.AsError(err); ok && e.Status == http.StatusBadRequest {
			return "", Violations(violations(body)), err
		}
		return "", nil, err
	}
	var ans struct {
		RequestID string `json:"requestId"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return "", nil, fmt.Errorf("reading Google's answer %.200q: %w", body, err)
	}
	return ans.RequestID, nil, nil
}

type errorCount struct {
	RecordCount int64str `json:"recordCount"`
	Reason      string   `json:"reason"`
}

type memberStatus struct {
	RequestStatus string `json:"requestStatus"`
	ErrorInfo     struct {
		ErrorCounts []errorCount `json:"errorCounts"`
	} `json:"errorInfo"`
}

// status reads a request's processing status for our destination.
func (c *client) status(ctx context.Context, requestID string) (*memberStatus, error) {
	token, err := c.tokens.get(ctx)
	if err != nil {
		return nil, err
	}
	_, body, err := destinations.Do(ctx, c.http, destinations.Request{
		Method: "GET", URL: c.base + "/v1/requestStatus:retrieve?requestId=" + url.QueryEscape(requestID),
		Header: http.Header{"Authorization": {"Bearer " + token}}, Message: Message,
	})
	if err != nil {
		return nil, err
	}
	var ans struct {
		PerDestination []memberStatus `json:"requestStatusPerDestination"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("reading Google's request status %.200q: %w", body, err)
	}
	if len(ans.PerDestination) == 0 {
		return nil, fmt.Errorf("Google's request status for %s names no destination", requestID)
	}
	return &ans.PerDestination[0], nil
}

// Message is Google's error text with the reasons of the fields it names.
func Message(body []byte) string {
	var s Status
	if json.Unmarshal(body, &s) != nil || s.Error.Message == "" {
		return ""
	}
	m := s.Error.Message
	if s.Error.Status != "" {
		m = s.Error.Status + ": " + m
	}
	var vs []string
	for _, v := range violations(body) {
		t := v.Field + " " + v.Reason
		if v.Description != "" {
			t += " (" + v.Description + ")"
		}
		vs = append(vs, t)
	}
	if len(vs) > 0 {
		m += " " + strings.Join(vs, "; ")
	}
	return m
}

func violations(body []byte) []FieldViolation {
	var s Status
	if json.Unmarshal(body, &s) != nil {
		return nil
	}
	var out []FieldViolation
	for _, d := range s.Error.Details {
		out = append(out, d.FieldViolations...)
	}
	return out
}

// tokenSource hands out an OAuth access token, exchanging the refresh
// token for a new one shortly before the last one expires.
type tokenSource struct {
	http                                 *http.Client
	url, refresh, clientID, clientSecret string

	mu      sync.Mutex
	access  string
	expires time.Time // zero: a configured access_token, used as is
}

func (t *tokenSource) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refresh == "" || (t.access != "" && time.Until(t.expires) > time.Minute) {
		return t.access, nil
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.refresh},
		"client_id": {t.clientID}, "client_secret": {t.clientSecret}}
	_, body, err := destinations.Do(ctx, t.http, destinations.Request{
		Method: "POST", URL: t.url, Body: []byte(form.Encode()),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Message: func(b []byte) string {
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(b, &e) != nil || e.Error == "" {
				return ""
			}
			return "OAuth token refresh: " + e.Error + ": " + e.Description + " (issue a new refresh token for the datamanager scope)"
		},
	})
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("OAuth token refresh: no access token in %.200q", body)
	}
	t.access, t.expires = tok.AccessToken, time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second)
	return t.access, nil
}

// int64str is a proto3 int64, which JSON carries as a string.
type int64str int64

func (n *int64str) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	*n = int64str(v)
	return err
}
