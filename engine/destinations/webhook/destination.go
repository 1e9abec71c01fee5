package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Payload is the JSON body of a batch.
type Payload struct {
	Sync   string  `json:"sync"`
	Mode   string  `json:"mode"`
	Batch  string  `json:"batch"`
	Events []Event `json:"events"`
}

// Event is one change in a batch.
type Event struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"` // add | update | remove | erase
	ProfileID string            `json:"profile_id"`
	Key       map[string]string `json:"key"`
	Fields    map[string]any    `json:"fields,omitempty"`
	Ref       string            `json:"ref,omitempty"`
}

// Answer is what a receiver may say in a 2xx body.
type Answer struct {
	Results []EventResult `json:"results"`
}

// EventResult is a receiver's word on one event.
type EventResult struct {
	ID     string `json:"id"`
	Status string `json:"status"` // accepted | rejected | retry
	Reason string `json:"reason,omitempty"`
	Ref    string `json:"ref,omitempty"`
}

// NoticePayload is the JSON body of an alert.
type NoticePayload struct {
	Type   string            `json:"type"` // "notice"
	Kind   string            `json:"kind"`
	Title  string            `json:"title"`
	Text   string            `json:"text"`
	Fields map[string]string `json:"fields,omitempty"`
	URL    string            `json:"url,omitempty"`
}

// Destination is an opened webhook.
type Destination struct{ c *client }

var (
	_ destinations.Destination = (*Destination)(nil)
	_ destinations.Eraser      = (*Destination)(nil)
	_ destinations.Notifier    = (*Destination)(nil)
)

func open(cfg destinations.Config) (destinations.Destination, error) {
	u, err := url.Parse(cfg.String("url"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("config.url: %q is not an http(s) URL", cfg.String("url"))
	}
	hs := cfg.Map("headers")
	for k := range hs {
		switch strings.ToLower(k) {
		case "content-type", strings.ToLower(SignatureHeader), strings.ToLower(TimestampHeader), strings.ToLower(IdempotencyHeader):
			return nil, fmt.Errorf("config.headers: %s is set by Cohort and cannot be overridden", k)
		}
	}
	return &Destination{c: &client{url: u.String(), secret: cfg.String("secret"), headers: hs, http: cfg.HTTP, now: time.Now}}, nil
}

// Write posts the batch's events.
func (d *Destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return d.send(ctx, b, "")
}

// Erase posts the people as "erase" events: the receiver deletes everything
// it holds about them.
func (d *Destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return d.send(ctx, b, "erase")
}

func (d *Destination) send(ctx context.Context, b *destinations.Batch, typ string) (destinations.Result, error) {
	p := Payload{Sync: b.Sync, Mode: string(b.Mode), Batch: b.IdempotencyKey, Events: make([]Event, len(b.Records))}
	for i, r := range b.Records {
		t := typ
		if t == "" {
			t = string(r.Op)
		}
		p.Events[i] = Event{ID: r.ID, Type: t, ProfileID: r.ProfileID, Key: r.Key, Fields: r.Fields, Ref: r.Ref}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return destinations.Result{}, fmt.Errorf("webhook: encoding the batch: %w", err)
	}
	data, err := d.c.post(ctx, body, b.IdempotencyKey)
	if err != nil {
		return destinations.Result{}, err
	}
	res := destinations.AllAccepted(b)
	var a Answer
	if len(strings.TrimSpace(string(data))) == 0 || json.Unmarshal(data, &a) != nil {
		return res, nil // a body that is not our answer shape: the 2xx takes the whole batch
	}
	at := make(map[string]int, len(b.Records))
	for i, r := range b.Records {
		at[r.ID] = i
	}
	for _, er := range a.Results {
		i, ok := at[er.ID]
		if !ok {
			continue
		}
		rr := destinations.RecordResult{Reason: er.Reason, Ref: er.Ref}
		switch er.Status {
		case "rejected":
			rr.Outcome = destinations.Rejected
			if rr.Reason == "" {
				rr.Reason = "rejected by the receiver (no reason given)"
			}
		case "retry":
			rr.Outcome = destinations.Retry
		}
		res.Records[i] = rr
	}
	return res, nil
}

// Notify posts an alert or digest.
func (d *Destination) Notify(ctx context.Context, n destinations.Notice) error {
	body, err := json.Marshal(NoticePayload{Type: "notice", Kind: n.Kind, Title: n.Title, Text: n.Text, Fields: n.Fields, URL: n.URL})
	if err != nil {
		return err
	}
	_, err = d.c.post(ctx, body, "")
	return err
}
