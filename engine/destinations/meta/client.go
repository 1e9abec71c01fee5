package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Payload is a users request's payload: the schema keys and one row of
// values per person in the same order ("" where the person has none).
type Payload struct {
	Schema []string   `json:"schema"`
	Data   [][]string `json:"data"`
}

// Session ties the requests of one upload together; each Write is an
// upload of its own, so every session has one batch, and a resend of the
// same batch reuses its session id.
type Session struct {
	SessionID         int64 `json:"session_id"`
	BatchSeq          int   `json:"batch_seq"`
	LastBatchFlag     bool  `json:"last_batch_flag"`
	EstimatedNumTotal int   `json:"estimated_num_total"`
}

// Answer is Meta's answer to a users request: counts, and a sample of the
// invalid values with the reason for each.
type Answer struct {
	AudienceID        string            `json:"audience_id"`
	SessionID         json.Number       `json:"session_id"`
	NumReceived       int               `json:"num_received"`
	NumInvalidEntries int               `json:"num_invalid_entries"`
	InvalidSamples    map[string]string `json:"invalid_entry_samples"`
}

// GraphError is the Graph API's error envelope.
type GraphError struct {
	Error struct {
		Message        string `json:"message"`
		Type           string `json:"type"`
		Code           int    `json:"code"`
		Subcode        int    `json:"error_subcode"`
		IsTransient    bool   `json:"is_transient"`
		ErrorUserTitle string `json:"error_user_title"`
		ErrorUserMsg   string `json:"error_user_msg"`
		FBTraceID      string `json:"fbtrace_id"`
	} `json:"error"`
}

func newPayload(rows []map[string]string) Payload {
	var p Payload
	for _, c := range Columns {
		for _, r := range rows {
			if r[c.Key] != "" {
				p.Schema = append(p.Schema, c.Key)
				break
			}
		}
	}
	for _, r := range rows {
		row := make([]string, len(p.Schema))
		for i, k := range p.Schema {
			row[i] = r[k]
		}
		p.Data = append(p.Data, row)
	}
	return p
}

func sessionFor(idempotencyKey string, n int) Session {
	h := fnv.New64a()
	h.Write([]byte(idempotencyKey))
	id := int64(h.Sum64() & (1<<53 - 1)) // exact in any JSON reader
	if id == 0 {
		id = 1
	}
	return Session{SessionID: id, BatchSeq: 1, LastBatchFlag: true, EstimatedNumTotal: n}
}

type client struct {
	http       *http.Client
	base       string // e.g. https://graph.facebook.com/v25.0
	token      string
	audienceID string
}

func newClient(cfg destinations.Config) *client {
	return &client{
		http:       cfg.HTTP,
		base:       strings.TrimRight(cfg.String("endpoint"), "/") + "/" + strings.Trim(cfg.String("api_version"), "/"),
		token:      cfg.String("access_token"),
		audienceID: cfg.String("audience_id"),
	}
}

// users sends rows to the audience's users edge: POST adds, DELETE removes.
// The parameters go as a form, as Meta's own examples send them.
func (c *client) users(ctx context.Context, method string, p Payload, s Session) (Answer, error) {
	pj, err := json.Marshal(p)
	if err != nil {
		return Answer{}, err
	}
	sj, _ := json.Marshal(s)
	form := url.Values{"payload": {string(pj)}, "session": {string(sj)}}
	_, body, err := destinations.Do(ctx, c.http, destinations.Request{
		Method:  method,
		URL:     c.base + "/" + url.PathEscape(c.audienceID) + "/users",
		Header:  c.header("application/x-www-form-urlencoded"),
		Body:    []byte(form.Encode()),
		Message: Message, Adjust: Adjust,
	})
	if err != nil {
		return Answer{}, err
	}
	var a Answer
	if err := json.Unmarshal(body, &a); err != nil {
		return Answer{}, fmt.Errorf("reading Meta's answer %.200q: %w", body, err)
	}
	return a, nil
}

// Audience is what Check reads of the audience.
type Audience struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Subtype         string `json:"subtype"`
	OperationStatus struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"operation_status"`
}

func (c *client) audience(ctx context.Context) (Audience, error) {
	_, body, err := destinations.Do(ctx, c.http, destinations.Request{
		Method:  "GET",
		URL:     c.base + "/" + url.PathEscape(c.audienceID) + "?fields=id,name,subtype,operation_status",
		Header:  c.header(""),
		Message: Message, Adjust: Adjust,
	})
	if err != nil {
		return Audience{}, err
	}
	var a Audience
	err = json.Unmarshal(body, &a)
	return a, err
}

func (c *client) header(contentType string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + c.token}}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return h
}

// Message is the Graph error's text: the message, its code and subcode,
// and the message Meta writes for people when there is one.
func Message(body []byte) string {
	var g GraphError
	if json.Unmarshal(body, &g) != nil || g.Error.Message == "" {
		return ""
	}
	e := g.Error
	m := fmt.Sprintf("%s (code %d", e.Message, e.Code)
	if e.Subcode != 0 {
		m += fmt.Sprintf(", subcode %d", e.Subcode)
	}
	m += ")"
	if e.ErrorUserMsg != "" {
		m += ": " + e.ErrorUserMsg
	}
	return m
}

// throttleCodes are the Graph error codes that mean "too many calls, wait":
// application (4), user (17), page (32), ad account (613) and the custom
// audience business use case (80003).
var throttleCodes = map[int]bool{4: true, 17: true, 32: true, 613: true, 80003: true}

// Adjust makes Meta's throttling and transient errors retryable whatever
// the HTTP status, waiting as long as the business use case usage header
// says access is regained in.
func Adjust(e *destinations.Error, h http.Header, body []byte) {
	var g GraphError
	if json.Unmarshal(body, &g) != nil {
		return
	}
	if throttleCodes[g.Error.Code] || g.Error.IsTransient || g.Error.Code == 1 || g.Error.Code == 2 {
		e.Retryable = true
		if w := regainAccess(h); w > e.RetryAfter {
			e.RetryAfter = w
		}
	}
}

// regainAccess reads estimated_time_to_regain_access (minutes) from the
// X-Business-Use-Case-Usage header: {"<business id>": [{"type": ...,
// "estimated_time_to_regain_access": 5}, ...]}.
func regainAccess(h http.Header) time.Duration {
	v := h.Get("X-Business-Use-Case-Usage")
	if v == "" {
		return 0
	}
	var usage map[string][]struct {
		Minutes int `json:"estimated_time_to_regain_access"`
	}
	if json.Unmarshal([]byte(v), &usage) != nil {
		return 0
	}
	var max int
	for _, us := range usage {
		for _, u := range us {
			if u.Minutes > max {
				max = u.Minutes
			}
		}
	}
	return time.Duration(max) * time.Minute
}
