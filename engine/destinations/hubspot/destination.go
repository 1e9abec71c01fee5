package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Destination upserts contacts and keeps one static list's memberships.
type Destination struct {
	c    *client
	list string
}

// Open opens a hubspot destination from its checked config.
func Open(cfg destinations.Config) (destinations.Destination, error) {
	base := strings.TrimRight(cfg.String("endpoint"), "/")
	if u, err := url.Parse(base); err != nil || u.Host == "" {
		return nil, fmt.Errorf("config.endpoint %q is not a URL like %s", base, DefaultEndpoint)
	}
	return &Destination{
		c:    &client{http: cfg.HTTP, base: base, token: cfg.String("access_token")},
		list: cfg.String("list_id"),
	}, nil
}

type upsertInput struct {
	ID         string            `json:"id"`
	IDProperty string            `json:"idProperty"`
	TraceID    string            `json:"objectWriteTraceId"`
	Properties map[string]string `json:"properties"`
}

type contact struct {
	ID         string            `json:"id"`
	New        bool              `json:"new"`
	TraceID    string            `json:"objectWriteTraceId"`
	Properties map[string]string `json:"properties"`
}

type batchAnswer struct {
	Status    string     `json:"status"`
	Results   []contact  `json:"results"`
	NumErrors int        `json:"numErrors"`
	Errors    []apiError `json:"errors"`
}

type membershipAnswer struct {
	Added   []string `json:"recordsIdsAdded"` // sic, HubSpot's spelling
	Removed []string `json:"recordIdsRemoved"`
	Missing []string `json:"recordIdsMissing"`
}

// Write upserts a batch of contacts and adds them to the list, or takes a
// batch of removals off the list.
func (d *Destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	if b.Removals() {
		return d.remove(ctx, b)
	}
	return d.upsert(ctx, b)
}

func (d *Destination) upsert(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	byEmail, byTrace := map[string]int{}, map[string]int{}
	var inputs []upsertInput
	for i, r := range b.Records {
		email := destinations.NormalizeEmail(r.Key["email"])
		if !destinations.LooksLikeEmail(email) {
			// HubSpot refuses the whole batch for one malformed address.
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected,
				Reason: fmt.Sprintf("%q is not an e-mail address HubSpot accepts", r.Key["email"])}
			continue
		}
		if _, dup := byEmail[email]; dup {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry,
				Reason: "another record of the batch has the same e-mail; HubSpot takes one input per contact per call"}
			continue
		}
		props := make(map[string]string, len(r.Fields)+1)
		for k, v := range r.Fields {
			props[k] = text(v)
		}
		props["email"] = email
		trace := strconv.Itoa(i)
		byEmail[email], byTrace[trace] = i, i
		inputs = append(inputs, upsertInput{ID: email, IDProperty: "email", TraceID: trace, Properties: props})
	}
	if len(inputs) == 0 {
		return res, nil
	}
	var ans batchAnswer
	if _, err := d.c.do(ctx, http.MethodPost, "/crm/v3/objects/contacts/batch/upsert", map[string]any{"inputs": inputs}, &ans, splitOnValidation); err != nil {
		e, ok := destinations.AsError(err)
		if !ok || !e.TooLarge || e.Status != http.StatusBadRequest {
			return destinations.Result{}, err
		}
		if len(inputs) == 1 {
			res.Records[byTrace[inputs[0].TraceID]] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: e.Message}
			return res, nil
		}
		e.Message = "HubSpot refused the whole batch over one of its contacts; sending it in halves to find which: " + e.Message
		return destinations.Result{}, e
	}
	answered := map[int]bool{}
	var ids []string
	idOf := map[string]int{}
	for _, c := range ans.Results {
		i, ok := byTrace[c.TraceID]
		if !ok {
			i, ok = byEmail[destinations.NormalizeEmail(c.Properties["email"])]
		}
		if !ok || c.ID == "" {
			continue
		}
		answered[i] = true
		res.Records[i] = destinations.RecordResult{Outcome: destinations.Accepted, Ref: c.ID}
		ids = append(ids, c.ID)
		idOf[c.ID] = i
	}
	var unplaced []string
	for _, e := range ans.Errors {
		i, ok := inputOf(e.Context, byTrace, byEmail)
		if !ok {
			unplaced = append(unplaced, e.text())
			continue
		}
		answered[i] = true
		res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: e.text()}
	}
	for _, in := range inputs {
		i := byTrace[in.TraceID]
		if answered[i] {
			continue
		}
		if len(unplaced) > 0 {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: strings.Join(unplaced, "; ")}
		} else {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry, Reason: "HubSpot's answer has no result for this contact"}
		}
	}
	if d.list == "" || len(ids) == 0 {
		return res, nil
	}
	var m membershipAnswer
	if _, err := d.c.call(ctx, http.MethodPut, "/crm/v3/lists/"+url.PathEscape(d.list)+"/memberships/add", ids, &m); err != nil {
		return destinations.Result{}, err
	}
	for _, id := range m.Missing {
		if i, ok := idOf[id]; ok {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry, Ref: id,
				Reason: fmt.Sprintf("HubSpot did not find contact %s when adding it to list %s", id, d.list)}
		}
	}
	return res, nil
}

// inputOf finds the batch input a multi-status error is about: by the
// objectWriteTraceId it carries, or by an e-mail among its context values.
func inputOf(ctx map[string][]string, byTrace, byEmail map[string]int) (int, bool) {
	for _, v := range ctx["objectWriteTraceId"] {
		if i, ok := byTrace[v]; ok {
			return i, true
		}
	}
	for _, vs := range ctx {
		for _, v := range vs {
			if i, ok := byEmail[destinations.NormalizeEmail(v)]; ok {
				return i, true
			}
		}
	}
	return 0, false
}

func (d *Destination) remove(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	if d.list == "" {
		return destinations.Result{}, &destinations.Error{Message: "this HubSpot destination has no config.list_id, so there is no list to take people off: " +
			"set list_id to a static list, or use mode upsert"}
	}
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	ids := make([]string, len(b.Records))
	var lookup []map[string]string
	wanted := map[string][]int{}
	for i, r := range b.Records {
		if r.Ref != "" {
			ids[i] = r.Ref
			continue
		}
		email := destinations.NormalizeEmail(r.Key["email"])
		if email == "" {
			continue
		}
		if len(wanted[email]) == 0 {
			lookup = append(lookup, map[string]string{"id": email})
		}
		wanted[email] = append(wanted[email], i)
	}
	if len(lookup) > 0 {
		// Removed before their id was kept: find the contacts by e-mail.
		// One not found is not in the list either.
		var ans batchAnswer
		body := map[string]any{"idProperty": "email", "inputs": lookup, "properties": []string{"email"}}
		if _, err := d.c.call(ctx, http.MethodPost, "/crm/v3/objects/contacts/batch/read", body, &ans); err != nil {
			return destinations.Result{}, err
		}
		for _, c := range ans.Results {
			for _, i := range wanted[destinations.NormalizeEmail(c.Properties["email"])] {
				ids[i] = c.ID
			}
		}
	}
	var send []string
	for i, id := range ids {
		res.Records[i].Ref = id
		if id != "" {
			send = append(send, id)
		}
	}
	if len(send) == 0 {
		return res, nil
	}
	var m membershipAnswer
	if _, err := d.c.call(ctx, http.MethodPut, "/crm/v3/lists/"+url.PathEscape(d.list)+"/memberships/remove", send, &m); err != nil {
		return destinations.Result{}, err
	}
	return res, nil
}

// Erase sends a GDPR delete for each person: HubSpot deletes the contact
// and blocks the address from being created again.
func (d *Destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return destinations.EachRecord(b, func(r *destinations.Record) (destinations.RecordResult, error) {
		body := map[string]string{"objectId": r.Ref}
		if email := destinations.NormalizeEmail(r.Key["email"]); email != "" {
			body = map[string]string{"objectId": email, "idProperty": "email"}
		}
		if body["objectId"] == "" {
			return destinations.RecordResult{Outcome: destinations.Rejected, Reason: "no e-mail and no HubSpot id to erase by"}, nil
		}
		status, err := d.c.call(ctx, http.MethodPost, "/crm/v3/objects/contacts/gdpr-delete", body, nil)
		if status == http.StatusNotFound {
			return destinations.RecordResult{Ref: r.Ref}, nil // nothing held
		}
		return destinations.RecordResult{Ref: r.Ref}, err
	})
}

// Check verifies the token and that the list exists and is static.
func (d *Destination) Check(ctx context.Context) error {
	if d.list == "" {
		_, err := d.c.call(ctx, http.MethodGet, "/crm/v3/objects/contacts?limit=1", nil, nil)
		return explain(err, "")
	}
	var ans struct {
		List struct {
			ListID         string `json:"listId"`
			Name           string `json:"name"`
			ProcessingType string `json:"processingType"`
			ObjectTypeID   string `json:"objectTypeId"`
		} `json:"list"`
	}
	if _, err := d.c.call(ctx, http.MethodGet, "/crm/v3/lists/"+url.PathEscape(d.list), nil, &ans); err != nil {
		return explain(err, d.list)
	}
	if t := ans.List.ProcessingType; t != "MANUAL" && t != "SNAPSHOT" {
		return fmt.Errorf("HubSpot list %s (%q) is a %s list, filled by its own filters; memberships can only be set on a static (MANUAL or SNAPSHOT) list",
			d.list, ans.List.Name, t)
	}
	if ans.List.ObjectTypeID != "" && ans.List.ObjectTypeID != "0-1" {
		return fmt.Errorf("HubSpot list %s (%q) holds objects of type %s, not contacts (0-1)", d.list, ans.List.Name, ans.List.ObjectTypeID)
	}
	return nil
}

func explain(err error, list string) error {
	e, ok := destinations.AsError(err)
	if !ok {
		return err
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		return fmt.Errorf("HubSpot refused the access token (%v): check config.access_token", e)
	case e.Status == http.StatusForbidden:
		return fmt.Errorf("HubSpot's private app lacks a scope (%v): give it crm.objects.contacts.read/write and crm.lists.read/write", e)
	case e.Status == http.StatusNotFound && list != "":
		return fmt.Errorf("HubSpot has no list %s (%v): check config.list_id", list, e)
	}
	return err
}

// text is a value as HubSpot property values travel: a string, "" to clear.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

var (
	_ destinations.Checker = (*Destination)(nil)
	_ destinations.Eraser  = (*Destination)(nil)
)
