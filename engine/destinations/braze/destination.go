package braze

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

type destination struct {
	c            *client
	prefix       string   // membership attribute prefix
	groups       []string // subscription group ids
	existingOnly bool
}

func open(cfg destinations.Config) (destinations.Destination, error) {
	inst := strings.ToLower(cfg.String("instance"))
	base, ok := hosts[inst]
	if !ok {
		return nil, fmt.Errorf("config.instance: Braze has no instance %q (one of %s)", inst, strings.Join(instances(), ", "))
	}
	if ep := cfg.String("endpoint"); ep != "" {
		base = strings.TrimRight(ep, "/")
	}
	d := &destination{
		c:            &client{http: cfg.HTTP, base: base, key: cfg.String("api_key"), instance: inst},
		prefix:       cfg.String("membership_prefix"),
		existingOnly: cfg.Bool("update_existing_only"),
	}
	if list, ok := cfg.Values["subscription_groups"].([]any); ok {
		for _, g := range list {
			s := strings.TrimSpace(fmt.Sprint(g))
			if s == "" || g == nil {
				return nil, fmt.Errorf("config.subscription_groups: an empty subscription group id")
			}
			d.groups = append(d.groups, s)
		}
	}
	return d, nil
}

// membership is the boolean attribute marking the batch's segment.
func (d *destination) membership(b *destinations.Batch) string {
	name := b.Segment
	if name == "" {
		name = b.Sync
	}
	return d.prefix + name
}

// Write sends the batch as one /users/track request of attribute objects.
// A record Braze cannot take (no identifier, a value it cannot hold) is
// rejected before sending; the ones Braze names in errors[] are rejected
// with its message.
func (d *destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	attr := d.membership(b)
	var objs []map[string]any
	var sent []int // sent[i] is the record index of objs[i]
	for i := range b.Records {
		obj, reason := d.object(&b.Records[i], attr)
		if reason != "" {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: reason}
			continue
		}
		objs = append(objs, obj)
		sent = append(sent, i)
	}
	if len(objs) == 0 {
		return res, nil
	}
	a, err := d.c.post(ctx, "/users/track", map[string]any{"attributes": objs})
	if err != nil {
		e, ok := destinations.AsError(err)
		if !ok || e.Status != http.StatusBadRequest || len(a.Errors) == 0 {
			return destinations.Result{}, err
		}
		// Braze refuses the whole request with 400 when no object was
		// valid; it names the bad ones, the others were not processed.
		for _, j := range sent {
			res.Records[j] = destinations.RecordResult{Outcome: destinations.Retry, Reason: e.Message}
		}
	}
	for _, te := range a.Errors {
		if (te.InputArray == "attributes" || te.InputArray == "") && te.Index >= 0 && te.Index < len(sent) {
			res.Records[sent[te.Index]] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: te.Type}
		}
	}
	return res, nil
}

// object maps a record to a Braze attributes object, or says why it cannot.
func (d *destination) object(r *destinations.Record, attr string) (map[string]any, string) {
	obj := map[string]any{}
	if v := strings.TrimSpace(r.Key["external_id"]); v != "" {
		obj["external_id"] = v
	}
	if v := strings.TrimSpace(r.Key["email"]); v != "" {
		obj["email"] = v
	}
	if v := destinations.E164(r.Key["phone"]); v != "" {
		obj["phone"] = v
	}
	if len(obj) == 0 {
		return nil, "no external_id, email or phone to identify the person in Braze"
	}
	removal := r.Op == destinations.Remove
	if removal || d.existingOnly {
		obj["_update_existing_only"] = true // never create a profile only to mark it as gone
	}
	if !removal {
		for k, v := range r.Fields {
			val, reason := value(k, v)
			if reason != "" {
				return nil, reason
			}
			obj[k] = val
		}
	}
	obj[attr] = !removal
	if len(d.groups) > 0 {
		state := "subscribed"
		if removal {
			state = "unsubscribed"
		}
		var gs []map[string]any
		for _, g := range d.groups {
			gs = append(gs, map[string]any{"subscription_group_id": g, "subscription_state": state})
		}
		obj["subscription_groups"] = gs
	}
	return obj, ""
}

var subscribeStates = map[string]bool{"opted_in": true, "subscribed": true, "unsubscribed": true}

// value coerces one field to the type Braze holds it in and checks the
// formats Braze documents. NULL stays null: Braze removes the attribute.
func value(k string, v any) (any, string) {
	t, err := Spec.FieldType(k)
	if err != nil {
		return nil, err.Error()
	}
	c, err := destinations.Coerce(v, t)
	if err != nil {
		return nil, fmt.Sprintf("field %s: %v", k, err)
	}
	s, isStr := c.(string)
	if !isStr {
		return c, ""
	}
	bad := func(want string) (any, string) {
		return nil, fmt.Sprintf("field %s: %q is not %s", k, s, want)
	}
	switch k {
	case "gender":
		s = strings.ToUpper(strings.TrimSpace(s))
		if len(s) != 1 || !strings.Contains("MFONPU", s) {
			return bad("a Braze gender (M, F, O, N, P or U)")
		}
	case "country":
		s = strings.ToUpper(strings.TrimSpace(s))
		if !letters(s, 2) {
			return bad("an ISO-3166-1 alpha-2 country code (Braze stores anything else as empty)")
		}
	case "language":
		s = strings.ToLower(strings.TrimSpace(s))
		if !letters(s, 2) {
			return bad("an ISO-639-1 language code")
		}
	case "email_subscribe", "push_subscribe":
		if !subscribeStates[s] {
			return bad("opted_in, subscribed or unsubscribed")
		}
	}
	if n := utf8.RuneCountInString(s); n > maxString {
		return nil, fmt.Sprintf("field %s: %d characters; Braze holds at most %d in a string attribute", k, n, maxString)
	}
	return s, ""
}

func letters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Erase deletes people through /users/delete. Braze takes one identifier
// kind per request, so the batch becomes one request per kind: external
// ids where known, else e-mail, else phone (these two with Braze's
// prioritization, so an identified profile is chosen first). Deletion is
// queued by Braze and cannot be undone.
func (d *destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	prio := []string{"identified", "most_recently_updated"}
	var ext []string
	var emails, phones []map[string]any
	for i, r := range b.Records {
		switch {
		case strings.TrimSpace(r.Key["external_id"]) != "":
			ext = append(ext, strings.TrimSpace(r.Key["external_id"]))
		case strings.TrimSpace(r.Key["email"]) != "":
			emails = append(emails, map[string]any{"email": strings.TrimSpace(r.Key["email"]), "prioritization": prio})
		case destinations.E164(r.Key["phone"]) != "":
			phones = append(phones, map[string]any{"phone": destinations.E164(r.Key["phone"]), "prioritization": prio})
		default:
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: "no external_id, email or phone to find the person in Braze"}
		}
	}
	for _, req := range []struct {
		key  string
		list any
		n    int
	}{{"external_ids", ext, len(ext)}, {"email_addresses", emails, len(emails)}, {"phone_numbers", phones, len(phones)}} {
		if req.n == 0 {
			continue
		}
		if _, err := d.c.post(ctx, "/users/delete", map[string]any{req.key: req.list}); err != nil {
			return destinations.Result{}, err
		}
	}
	return res, nil
}

// Check sends an empty /users/track request: Braze checks the key (and
// that it belongs to this instance) before it looks at the body, so a 401
// or 403 means bad config, and the 400 for the empty body means the key
// works. Nothing is written.
func (d *destination) Check(ctx context.Context) error {
	_, err := d.c.post(ctx, "/users/track", map[string]any{"attributes": []any{}})
	if e, ok := destinations.AsError(err); ok && e.Status == http.StatusBadRequest {
		return nil
	}
	return err
}

var (
	_ destinations.Eraser  = (*destination)(nil)
	_ destinations.Checker = (*destination)(nil)
)
