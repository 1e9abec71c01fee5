package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Destination keeps profiles and one list of a Klaviyo account.
type Destination struct {
	c    *client
	list string
	// poll is the first wait between two looks at an import job; it
	// doubles up to 5 s.
	poll time.Duration
}

// Open opens a klaviyo destination from its checked config.
func Open(cfg destinations.Config) (destinations.Destination, error) {
	base := strings.TrimRight(cfg.String("endpoint"), "/")
	if u, err := url.Parse(base); err != nil || u.Host == "" {
		return nil, fmt.Errorf("config.endpoint %q is not a URL like %s", base, DefaultEndpoint)
	}
	return &Destination{
		c:    &client{http: cfg.HTTP, base: base, key: cfg.String("api_key"), revision: cfg.String("revision")},
		list: cfg.String("list_id"),
		poll: 250 * time.Millisecond,
	}, nil
}

// resource is a JSON:API resource object.
type resource struct {
	Type       string          `json:"type"`
	ID         string          `json:"id,omitempty"`
	Attributes json.RawMessage `json:"attributes,omitempty"`
}

// identity is what Klaviyo identifies a profile by.
type identity struct {
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone_number,omitempty"`
	Extern  string `json:"external_id,omitempty"`
	Profile string `json:"-"`
}

// keys are the record's identifiers as lookup keys, most specific first.
func (id identity) keys() []string {
	var k []string
	if id.Email != "" {
		k = append(k, "email:"+strings.ToLower(id.Email))
	}
	if id.Phone != "" {
		k = append(k, "phone:"+destinations.E164(id.Phone))
	}
	if id.Extern != "" {
		k = append(k, "external:"+id.Extern)
	}
	return k
}

func identityOf(r *destinations.Record) identity {
	id := identity{Email: destinations.NormalizeEmail(r.Key["email"]), Extern: r.Key["external_id"]}
	if p := r.Key["phone_number"]; p != "" {
		id.Phone = destinations.E164(p)
	}
	return id
}

// profile maps a record to a profile's attributes: standard fields at the
// top, location fields under location, the rest under properties. A NULL
// is sent as null, which clears the field in Klaviyo.
func profile(r *destinations.Record) map[string]any {
	id := identityOf(r)
	attrs := map[string]any{}
	if id.Email != "" {
		attrs["email"] = id.Email
	}
	if id.Phone != "" {
		attrs["phone_number"] = id.Phone
	}
	if id.Extern != "" {
		attrs["external_id"] = id.Extern
	}
	var loc, props map[string]any
	for k, v := range r.Fields {
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(time.RFC3339)
		}
		switch {
		case locationFields[k]:
			if loc == nil {
				loc = map[string]any{}
			}
			loc[k] = v
		case isStandard(k):
			attrs[k] = v
		default:
			if props == nil {
				props = map[string]any{}
			}
			props[k] = v
		}
	}
	if loc != nil {
		attrs["location"] = loc
	}
	if props != nil {
		attrs["properties"] = props
	}
	return attrs
}

// isStandard reports whether a field is a profile attribute (a standard
// field or an identifier) rather than a custom property.
func isStandard(name string) bool {
	for _, f := range append(Spec.Fields[:len(Spec.Fields):len(Spec.Fields)], Spec.Match...) {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Write imports a batch of profiles (adding them to the list), or takes a
// batch of removals off the list.
func (d *Destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	if b.Removals() {
		return d.remove(ctx, b)
	}
	return d.importProfiles(ctx, b)
}

type job struct {
	Data struct {
		ID         string `json:"id"`
		Attributes struct {
			Status         string `json:"status"`
			TotalCount     int    `json:"total_count"`
			CompletedCount int    `json:"completed_count"`
			FailedCount    int    `json:"failed_count"`
		} `json:"attributes"`
	} `json:"data"`
}

type page struct {
	Data  []resource `json:"data"`
	Links struct {
		Next string `json:"next"`
	} `json:"links"`
}

func (d *Destination) importProfiles(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	index := map[string]int{} // identity key → record
	var profiles []resource
	var sent []int
records:
	for i := range b.Records {
		r := &b.Records[i]
		id := identityOf(r)
		keys := id.keys()
		if len(keys) == 0 {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: "no email, phone_number or external_id to identify the profile by"}
			continue
		}
		for _, k := range keys {
			if _, dup := index[k]; dup {
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry,
					Reason: "another record of the batch has the same " + strings.SplitN(k, ":", 2)[0] + "; one job takes one import per profile"}
				continue records
			}
		}
		attrs, _ := json.Marshal(profile(r))
		if len(attrs) > MaxProfileBytes {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected,
				Reason: fmt.Sprintf("the profile is %d KB; Klaviyo imports at most 100 KB per profile", len(attrs)>>10)}
			continue
		}
		for _, k := range keys {
			index[k] = i
		}
		profiles = append(profiles, resource{Type: "profile", Attributes: attrs})
		sent = append(sent, i)
	}
	if len(profiles) == 0 {
		return res, nil
	}
	body := map[string]any{"data": map[string]any{
		"type":       "profile-bulk-import-job",
		"attributes": map[string]any{"profiles": map[string]any{"data": profiles}},
	}}
	if d.list != "" {
		body["data"].(map[string]any)["relationships"] = map[string]any{"lists": map[string]any{"data": []resource{{Type: "list", ID: d.list}}}}
	}
	var j job
	if _, err := d.c.call(ctx, http.MethodPost, "/api/profile-bulk-import-jobs", body, &j); err != nil {
		return destinations.Result{}, err
	}
	if err := d.wait(ctx, &j); err != nil {
		return destinations.Result{}, err
	}
	answered := map[int]bool{}
	if j.Data.Attributes.FailedCount > 0 {
		err := d.pages(ctx, "/api/profile-bulk-import-jobs/"+url.PathEscape(j.Data.ID)+"/import-errors?page[size]=100", func(r resource) {
			var e struct {
				apiError
				OriginalPayload identity `json:"original_payload"`
			}
			if json.Unmarshal(r.Attributes, &e) != nil {
				return
			}
			if i, ok := lookup(index, e.OriginalPayload); ok {
				answered[i] = true
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: e.text()}
			}
		})
		if err != nil {
			return destinations.Result{}, err
		}
	}
	err := d.pages(ctx, "/api/profile-bulk-import-jobs/"+url.PathEscape(j.Data.ID)+"/profiles?fields[profile]=email,phone_number,external_id&page[size]=100",
		func(r resource) {
			var id identity
			if json.Unmarshal(r.Attributes, &id) != nil {
				return
			}
			if i, ok := lookup(index, id); ok && !answered[i] {
				answered[i] = true
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Accepted, Ref: r.ID}
			}
		})
	if err != nil {
		return destinations.Result{}, err
	}
	for _, i := range sent {
		if !answered[i] {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry,
				Reason: fmt.Sprintf("Klaviyo's import job %s names neither a profile nor an error for this record", j.Data.ID)}
		}
	}
	return res, nil
}

func lookup(index map[string]int, id identity) (int, bool) {
	for _, k := range id.keys() {
		if i, ok := index[k]; ok {
			return i, true
		}
	}
	return 0, false
}

// wait polls an import job until Klaviyo has processed it. Klaviyo gives
// no way to be told, so this is the one place a connector waits.
func (d *Destination) wait(ctx context.Context, j *job) error {
	pause := d.poll
	deadline := time.Now().Add(jobTimeout)
	for first := true; ; first = false {
		switch j.Data.Attributes.Status {
		case "complete":
			return nil
		case "cancelled":
			return &destinations.Error{Retryable: true, Message: fmt.Sprintf("Klaviyo cancelled import job %s", j.Data.ID)}
		}
		if time.Now().After(deadline) {
			return &destinations.Error{Retryable: true, Message: fmt.Sprintf("Klaviyo's import job %s is still %s after %s", j.Data.ID, j.Data.Attributes.Status, jobTimeout)}
		}
		if !first {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			pause = min(2*pause, 5*time.Second)
		}
		id := j.Data.ID
		if _, err := d.c.call(ctx, http.MethodGet, "/api/profile-bulk-import-jobs/"+url.PathEscape(id), nil, j); err != nil {
			return err
		}
		if j.Data.ID == "" {
			j.Data.ID = id
		}
	}
}

// pages reads a collection, following its next links.
func (d *Destination) pages(ctx context.Context, path string, each func(resource)) error {
	for path != "" {
		var p page
		if _, err := d.c.call(ctx, http.MethodGet, path, nil, &p); err != nil {
			return err
		}
		for _, r := range p.Data {
			each(r)
		}
		path = p.Links.Next
	}
	return nil
}

func (d *Destination) remove(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	if d.list == "" {
		return destinations.Result{}, &destinations.Error{Message: "this Klaviyo destination has no config.list_id, so there is no list to take people off: " +
			"set list_id, or use mode upsert"}
	}
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	var missing []int
	for i := range b.Records {
		res.Records[i].Ref = b.Records[i].Ref
		if b.Records[i].Ref == "" {
			missing = append(missing, i)
		}
	}
	if err := d.findIDs(ctx, b, missing, res.Records); err != nil {
		return destinations.Result{}, err
	}
	var ids []resource
	for _, rr := range res.Records {
		if rr.Ref != "" {
			ids = append(ids, resource{Type: "profile", ID: rr.Ref})
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), MaxListIDs)
		body := map[string]any{"data": ids[:n]}
		if _, err := d.c.call(ctx, http.MethodDelete, "/api/lists/"+url.PathEscape(d.list)+"/relationships/profiles", body, nil); err != nil {
			// Removing an id twice does no harm: the batch is sent again whole.
			return destinations.Result{}, err
		}
		ids = ids[n:]
	}
	return res, nil
}

// findIDs looks up the Klaviyo ids of records removed before their id was
// kept, by each identifier in turn (100 values per call). One not found is
// in no list.
func (d *Destination) findIDs(ctx context.Context, b *destinations.Batch, which []int, out []destinations.RecordResult) error {
	for _, field := range []string{"email", "phone_number", "external_id"} {
		byValue := map[string][]int{}
		var values []string
		for _, i := range which {
			if out[i].Ref != "" {
				continue
			}
			id := identityOf(&b.Records[i])
			v := map[string]string{"email": id.Email, "phone_number": id.Phone, "external_id": id.Extern}[field]
			if v == "" {
				continue
			}
			if len(byValue[v]) == 0 {
				values = append(values, v)
			}
			byValue[v] = append(byValue[v], i)
		}
		for len(values) > 0 {
			n := min(len(values), maxPage)
			quoted := make([]string, n)
			for k, v := range values[:n] {
				quoted[k] = strconv.Quote(v)
			}
			q := url.Values{"filter": {fmt.Sprintf("any(%s,[%s])", field, strings.Join(quoted, ","))},
				"fields[profile]": {field}, "page[size]": {strconv.Itoa(maxPage)}}
			err := d.pages(ctx, "/api/profiles?"+q.Encode(), func(r resource) {
				var attrs map[string]any
				if json.Unmarshal(r.Attributes, &attrs) != nil {
					return
				}
				v, _ := attrs[field].(string)
				if field == "email" {
					v = strings.ToLower(v)
				}
				for _, i := range byValue[v] {
					out[i].Ref = r.ID
				}
			})
			if err != nil {
				return err
			}
			values = values[n:]
		}
	}
	return nil
}

// Erase requests a data-privacy deletion per person, by one identifier
// (Klaviyo takes exactly one): the e-mail, else the phone number, else the
// profile id. Every profile with that identifier is deleted.
func (d *Destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return destinations.EachRecord(b, func(r *destinations.Record) (destinations.RecordResult, error) {
		id := identityOf(r)
		p := map[string]any{"type": "profile"}
		switch {
		case id.Email != "":
			p["attributes"] = map[string]string{"email": id.Email}
		case id.Phone != "":
			p["attributes"] = map[string]string{"phone_number": id.Phone}
		case r.Ref != "":
			p["id"], p["attributes"] = r.Ref, map[string]string{}
		default:
			return destinations.RecordResult{Outcome: destinations.Rejected, Reason: "no email, phone number or Klaviyo id to erase by"}, nil
		}
		body := map[string]any{"data": map[string]any{"type": "data-privacy-deletion-job",
			"attributes": map[string]any{"profile": map[string]any{"data": p}}}}
		_, err := d.c.call(ctx, http.MethodPost, "/api/data-privacy-deletion-jobs", body, nil)
		return destinations.RecordResult{Ref: r.Ref}, err
	})
}

// Check verifies the key and that the list exists.
func (d *Destination) Check(ctx context.Context) error {
	path := "/api/lists"
	if d.list != "" {
		path += "/" + url.PathEscape(d.list)
	}
	_, err := d.c.call(ctx, http.MethodGet, path, nil, nil)
	e, ok := destinations.AsError(err)
	switch {
	case !ok:
		return err
	case e.Status == http.StatusUnauthorized:
		return fmt.Errorf("Klaviyo refused the API key (%v): check config.api_key (a private key, pk_…)", e)
	case e.Status == http.StatusForbidden:
		return fmt.Errorf("Klaviyo's API key lacks a scope (%v): give it profiles:read/write, lists:read/write and data-privacy:write", e)
	case e.Status == http.StatusNotFound:
		return fmt.Errorf("Klaviyo has no list %s (%v): check config.list_id", d.list, e)
	case e.Status == http.StatusBadRequest:
		return fmt.Errorf("Klaviyo refused the request (%v): check config.revision", e)
	}
	return err
}

var (
	_ destinations.Checker = (*Destination)(nil)
	_ destinations.Eraser  = (*Destination)(nil)
)
