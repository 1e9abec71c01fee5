package customerio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

type destination struct {
	c       *client
	region  string
	segment string
	name    string
}

func open(cfg destinations.Config) (destinations.Destination, error) {
	base, appBase := hosts[cfg.Region], appHosts[cfg.Region]
	if ep := cfg.String("endpoint"); ep != "" {
		base, appBase = trimSlash(ep), trimSlash(ep)
	}
	if base == "" {
		return nil, fmt.Errorf("region: Customer.io has no region %q (us or eu)", cfg.Region)
	}
	return &destination{
		c: &client{http: cfg.HTTP, base: base, siteID: cfg.String("site_id"), apiKey: cfg.String("api_key"),
			appBase: appBase, appKey: cfg.String("app_api_key")},
		region:  cfg.Region,
		segment: cfg.String("segment_id"),
		name:    cfg.Name,
	}, nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// operation is one element of a v2 batch.
type operation struct {
	Type        string            `json:"type"`
	Identifiers map[string]string `json:"identifiers"`
	Action      string            `json:"action"`
	Attributes  map[string]any    `json:"attributes,omitempty"`
}

// identifier is how Customer.io finds the person: id when known, else e-mail.
func identifier(r *destinations.Record) (kind, value string) {
	if v := r.Key["id"]; v != "" {
		return "id", v
	}
	if v := r.Key["email"]; v != "" {
		return "email", v
	}
	return "", ""
}

const noIdentifier = "no id or email to identify the person in Customer.io"

// Write identifies the batch's people in one v2 batch and then adds them
// to the manual segment, or (for removals) takes them off the segment.
func (d *destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	if b.Removals() {
		return d.remove(ctx, b)
	}
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	var ops []operation
	var sent []int
	for i := range b.Records {
		op, reason := identify(&b.Records[i])
		if reason != "" {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: reason}
			continue
		}
		ops = append(ops, op)
		sent = append(sent, i)
	}
	if len(ops) == 0 {
		return res, nil
	}
	if err := d.batch(ctx, ops, sent, &res); err != nil {
		return destinations.Result{}, err
	}
	if d.segment == "" {
		return res, nil
	}
	if err := d.segmentCall(ctx, "add_customers", b, res); err != nil {
		return destinations.Result{}, err
	}
	return res, nil
}

// batch posts operations to /api/v2/batch and rejects, in res, the ones
// Customer.io names in a 207.
func (d *destination) batch(ctx context.Context, ops []operation, sent []int, res *destinations.Result) error {
	body, err := json.Marshal(map[string]any{"batch": ops})
	if err != nil {
		return fmt.Errorf("encode the batch: %w", err)
	}
	if len(body) > maxBatch {
		// Record sizes only estimate the body; the engine halves the batch.
		return &destinations.Error{TooLarge: true, Message: fmt.Sprintf(
			"the batch is %d bytes; Customer.io takes less than 500 KB per v2 batch", len(body))}
	}
	_, a, err := d.c.do(ctx, http.MethodPost, "/api/v2/batch", nil, body)
	if err != nil {
		return err
	}
	for _, e := range a.Errors {
		if e.BatchIndex != nil && *e.BatchIndex >= 0 && *e.BatchIndex < len(sent) {
			res.Records[sent[*e.BatchIndex]] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: e.text()}
		}
	}
	return nil
}

// segmentCall adds or removes the batch's accepted people, one call per
// identifier type (the segment calls take one id_type each).
func (d *destination) segmentCall(ctx context.Context, call string, b *destinations.Batch, res destinations.Result) error {
	ids := map[string][]string{}
	for i := range b.Records {
		if res.Records[i].Outcome != destinations.Accepted {
			continue
		}
		if kind, v := identifier(&b.Records[i]); kind != "" {
			ids[kind] = append(ids[kind], v)
		}
	}
	for _, kind := range []string{"id", "email"} {
		if len(ids[kind]) == 0 {
			continue
		}
		path := "/api/v1/segments/" + url.PathEscape(d.segment) + "/" + call
		if _, _, err := d.c.do(ctx, http.MethodPost, path, url.Values{"id_type": {kind}}, map[string]any{"ids": ids[kind]}); err != nil {
			return err
		}
	}
	return nil
}

func (d *destination) remove(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	if d.segment == "" {
		return destinations.Result{}, &destinations.Error{Message: fmt.Sprintf(
			"destination %s has no segment_id, so Customer.io cannot take people off an audience: set config.segment_id to a manual segment, or use mode upsert", d.name)}
	}
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	for i := range b.Records {
		if kind, _ := identifier(&b.Records[i]); kind == "" {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: noIdentifier}
		}
	}
	if err := d.segmentCall(ctx, "remove_customers", b, res); err != nil {
		return destinations.Result{}, err
	}
	return res, nil
}

// identify maps a record to an identify operation, checking the limits
// Customer.io documents, with its own wording.
func identify(r *destinations.Record) (operation, string) {
	kind, v := identifier(r)
	if kind == "" {
		return operation{}, noIdentifier
	}
	attrs := map[string]any{}
	if e := r.Key["email"]; e != "" && kind == "id" {
		attrs["email"] = e
	}
	for k, val := range r.Fields {
		a, reason := attribute(k, val)
		if reason != "" {
			return operation{}, reason
		}
		attrs[k] = a
	}
	if len(attrs) > maxAttrs {
		return operation{}, fmt.Sprintf("cannot identify more than %d attributes in one request", maxAttrs)
	}
	op := operation{Type: "person", Identifiers: map[string]string{kind: v}, Action: "identify", Attributes: attrs}
	if enc, _ := json.Marshal(op); len(enc) > maxOp {
		return operation{}, fmt.Sprintf("the person's operation is %d bytes; Customer.io takes at most %d", len(enc), maxOp)
	}
	return op, ""
}

// attribute coerces one field. Timestamps become Unix seconds, the form
// Customer.io's date conditions compare; NULL stays null and removes the
// attribute.
func attribute(k string, v any) (any, string) {
	if len(k) > maxName {
		return nil, fmt.Sprintf("attribute name cannot be longer than %d bytes", maxName)
	}
	t, err := Spec.FieldType(k)
	if err != nil {
		return nil, err.Error()
	}
	if tm, ok := v.(time.Time); ok {
		return tm.Unix(), ""
	}
	c, err := destinations.Coerce(v, t)
	if err != nil {
		return nil, fmt.Sprintf("attribute %s: %v", k, err)
	}
	if s, ok := c.(string); ok {
		if tm, err := time.Parse(time.RFC3339, s); err == nil && (t == destinations.Timestamp || t == destinations.Any) {
			return tm.Unix(), ""
		}
		if len(s) > maxValue {
			return nil, fmt.Sprintf("value for attribute '%s' cannot be longer than %d bytes", k, maxValue)
		}
	}
	return c, ""
}

// Erase deletes the people (a v2 batch of delete operations).
func (d *destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	var ops []operation
	var sent []int
	for i := range b.Records {
		kind, v := identifier(&b.Records[i])
		if kind == "" {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: noIdentifier}
			continue
		}
		ops = append(ops, operation{Type: "person", Identifiers: map[string]string{kind: v}, Action: "delete"})
		sent = append(sent, i)
	}
	if len(ops) == 0 {
		return res, nil
	}
	if err := d.batch(ctx, ops, sent, &res); err != nil {
		return destinations.Result{}, err
	}
	return res, nil
}

// Check asks the Track API which region the credentials belong to: a 401
// means bad credentials, another region means region: is wrong. With an
// App API key it also looks segment_id up: it must exist and be manual,
// the only kind the API can change.
func (d *destination) Check(ctx context.Context) error {
	_, a, err := d.c.do(ctx, http.MethodGet, "/api/v1/accounts/region", nil, nil)
	if err != nil {
		return err
	}
	if a.Region != "" && a.Region != d.region {
		return fmt.Errorf("this Customer.io workspace keeps its data in region %s (%s), not %s: set region: %s", a.Region, a.URL, d.region, a.Region)
	}
	if d.segment == "" || d.c.appKey == "" {
		return nil
	}
	s, err := d.c.app(ctx, "/v1/segments/"+url.PathEscape(d.segment))
	if e, ok := destinations.AsError(err); ok {
		switch e.Status {
		case http.StatusNotFound:
			return fmt.Errorf("config.segment_id: Customer.io has no segment %s in this workspace (%w)", d.segment, err)
		case http.StatusUnauthorized:
			return fmt.Errorf("config.app_api_key: Customer.io did not accept the App API key (%w)", err)
		}
	}
	if err != nil {
		return err
	}
	if s.Segment.Type != "manual" {
		return fmt.Errorf("config.segment_id: segment %s (%s) is a %s segment; Customer.io lets the API change manual segments only: create a manual one", d.segment, s.Segment.Name, s.Segment.Type)
	}
	return nil
}

var (
	_ destinations.Eraser  = (*destination)(nil)
	_ destinations.Checker = (*destination)(nil)
)
