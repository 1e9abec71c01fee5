package mailchimp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Destination keeps the members of one Mailchimp audience.
type Destination struct {
	c        *client
	list     string
	status   string
	onRemove string

	tag string // the tag's name; {segment} stands for the batch's segment

	mu    sync.Mutex
	merge map[string]mergeField // the audience's merge fields by tag, read once
	tags  map[string]int        // tag name → its static segment's id, once known
}

type mergeField struct {
	Tag     string `json:"tag"`
	Name    string `json:"name"`
	Type    string `json:"type"` // text, number, address, phone, date, url, imageurl, radio, dropdown, birthday, zip
	Options struct {
		DateFormat string `json:"date_format"`
	} `json:"options"`
}

// Open opens a mailchimp destination from its checked config.
func Open(cfg destinations.Config) (destinations.Destination, error) {
	key := cfg.String("api_key")
	base := strings.TrimRight(cfg.String("endpoint"), "/")
	if base == "" {
		dc, err := dataCentre(key)
		if err != nil {
			return nil, err
		}
		base = "https://" + dc + ".api.mailchimp.com"
	} else if u, err := url.Parse(base); err != nil || u.Host == "" {
		return nil, fmt.Errorf("config.endpoint %q is not a URL like https://us6.api.mailchimp.com", base)
	}
	d := &Destination{
		c:        &client{http: cfg.HTTP, base: base, key: key},
		list:     cfg.String("audience_id"),
		status:   cfg.String("status"),
		onRemove: cfg.String("on_remove"),
		tag:      cfg.String("tag"),
		tags:     map[string]int{},
	}
	switch {
	case d.onRemove == "" && d.tag != "":
		d.onRemove = "untag"
	case d.onRemove == "":
		d.onRemove = "archive"
	case d.onRemove == "untag" && d.tag == "":
		return nil, fmt.Errorf("config.on_remove untag needs config.tag: the tag to take off")
	}
	return d, nil
}

func (d *Destination) listPath() string { return "/lists/" + url.PathEscape(d.list) }

// mergeFields reads the audience's merge fields once.
func (d *Destination) mergeFields(ctx context.Context) (map[string]mergeField, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.merge != nil {
		return d.merge, nil
	}
	var ans struct {
		MergeFields []mergeField `json:"merge_fields"`
	}
	if _, err := d.c.call(ctx, http.MethodGet, d.listPath()+"/merge-fields?count=1000", nil, &ans); err != nil {
		return nil, err
	}
	d.merge = map[string]mergeField{}
	for _, f := range ans.MergeFields {
		d.merge[f.Tag] = f
	}
	return d.merge, nil
}

type member struct {
	Email       string         `json:"email_address"`
	Status      string         `json:"status"`
	MergeFields map[string]any `json:"merge_fields,omitempty"`
	Language    string         `json:"language,omitempty"`
	VIP         *bool          `json:"vip,omitempty"`
	EmailType   string         `json:"email_type,omitempty"`
}

type batchAnswer struct {
	NewMembers     []answeredMember `json:"new_members"`
	UpdatedMembers []answeredMember `json:"updated_members"`
	Errors         []struct {
		Email        string `json:"email_address"`
		Error        string `json:"error"`
		Code         string `json:"error_code"`
		Field        string `json:"field"`
		FieldMessage string `json:"field_message"`
	} `json:"errors"`
	ErrorCount int `json:"error_count"`
}

type answeredMember struct {
	ID     string `json:"id"`
	Email  string `json:"email_address"`
	Status string `json:"status"`
}

var statuses = []string{"subscribed", "unsubscribed", "pending", "transactional"}

// Write subscribes or updates a batch of members, or removes one.
func (d *Destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	if b.Removals() {
		switch d.onRemove {
		case "unsubscribe":
			return d.unsubscribe(ctx, b)
		case "untag":
			return d.untag(ctx, b)
		}
		return d.archive(ctx, b)
	}
	merge, err := d.mergeFields(ctx)
	if err != nil {
		return destinations.Result{}, err
	}
	if err := d.unknownTags(b, merge); err != nil {
		return destinations.Result{}, err
	}
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	index := map[string]int{}
	var members []member
	for i, r := range b.Records {
		m, reason := d.member(&r, merge)
		if reason == "" {
			if _, dup := index[m.Email]; dup {
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry,
					Reason: "another record of the batch has the same e-mail; Mailchimp takes one per member per call"}
				continue
			}
			index[m.Email] = i
			members = append(members, m)
			continue
		}
		res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: reason}
	}
	if len(members) == 0 {
		return res, nil
	}
	res, err = d.send(ctx, members, index, res)
	if err != nil || d.tag == "" {
		return res, err
	}
	var tagged []string
	for _, m := range members {
		if res.Records[index[m.Email]].Outcome == destinations.Accepted {
			tagged = append(tagged, m.Email)
		}
	}
	return res, d.retag(ctx, b, tagged, nil, index, res)
}

type segmentAnswer struct {
	Errors []struct {
		Emails []string `json:"email_addresses"`
		Error  string   `json:"error"`
	} `json:"errors"`
}

// retag gives members the tag and takes it off others, in one call (500
// of each at most, as a batch holds). A member Mailchimp could not tag is
// sent again.
func (d *Destination) retag(ctx context.Context, b *destinations.Batch, add, remove []string, index map[string]int, res destinations.Result) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	id, err := d.tagID(ctx, b.Segment)
	if err != nil {
		return err
	}
	body := map[string][]string{"members_to_add": add, "members_to_remove": remove}
	if add == nil {
		body["members_to_add"] = []string{}
	}
	if remove == nil {
		body["members_to_remove"] = []string{}
	}
	var ans segmentAnswer
	if _, err := d.c.call(ctx, http.MethodPost, fmt.Sprintf("%s/segments/%d", d.listPath(), id), body, &ans); err != nil {
		return err
	}
	for _, e := range ans.Errors {
		for _, email := range e.Emails {
			if i, ok := index[destinations.NormalizeEmail(email)]; ok {
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry, Ref: res.Records[i].Ref,
					Reason: "Mailchimp did not change the tag: " + e.Error}
			}
		}
	}
	return nil
}

// tagID is the id of the static segment behind the tag, created when the
// audience does not have it yet.
func (d *Destination) tagID(ctx context.Context, segment string) (int, error) {
	name := strings.ReplaceAll(d.tag, "{segment}", segment)
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.tags[name]; ok {
		return id, nil
	}
	var ans struct {
		Segments []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"segments"`
	}
	if _, err := d.c.call(ctx, http.MethodGet, d.listPath()+"/segments?type=static&count=1000&fields=segments.id,segments.name", nil, &ans); err != nil {
		return 0, err
	}
	for _, s := range ans.Segments {
		if s.Name == name {
			d.tags[name] = s.ID
			return s.ID, nil
		}
	}
	var created struct {
		ID int `json:"id"`
	}
	if _, err := d.c.call(ctx, http.MethodPost, d.listPath()+"/segments", map[string]any{"name": name, "static_segment": []string{}}, &created); err != nil {
		return 0, err
	}
	d.tags[name] = created.ID
	return created.ID, nil
}

// untag takes the tag off removed members and leaves them in the audience.
func (d *Destination) untag(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	index := map[string]int{}
	var emails []string
	for i, r := range b.Records {
		email := destinations.NormalizeEmail(r.Key["email"])
		if _, dup := index[email]; dup || email == "" {
			continue
		}
		index[email] = i
		emails = append(emails, email)
	}
	return res, d.retag(ctx, b, nil, emails, index, res)
}

// send posts members with update_existing and maps Mailchimp's answer
// (HTTP 200 even when some failed) back to the records.
func (d *Destination) send(ctx context.Context, members []member, index map[string]int, res destinations.Result) (destinations.Result, error) {
	var ans batchAnswer
	body := map[string]any{"members": members, "update_existing": true}
	if _, err := d.c.call(ctx, http.MethodPost, d.listPath()+"?skip_merge_validation=true", body, &ans); err != nil {
		return destinations.Result{}, err
	}
	answered := map[int]bool{}
	for _, m := range append(ans.NewMembers, ans.UpdatedMembers...) {
		if i, ok := index[destinations.NormalizeEmail(m.Email)]; ok {
			answered[i] = true
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Accepted, Ref: m.ID}
		}
	}
	for _, e := range ans.Errors {
		i, ok := index[destinations.NormalizeEmail(e.Email)]
		if !ok {
			continue
		}
		answered[i] = true
		reason := e.Error
		if e.Field != "" && e.FieldMessage != "" {
			reason += " (" + e.Field + ": " + e.FieldMessage + ")"
		}
		res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: reason}
	}
	for _, i := range index {
		if !answered[i] {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry, Reason: "Mailchimp's answer does not mention this member"}
		}
	}
	return res, nil
}

// unknownTags stops the sync when it maps a merge tag the audience does
// not have: Mailchimp would drop those values without a word.
func (d *Destination) unknownTags(b *destinations.Batch, merge map[string]mergeField) error {
	unknown := map[string]bool{}
	for _, r := range b.Records {
		for k := range r.Fields {
			if _, ok := merge[k]; !ok && isTag(k) {
				unknown[k] = true
			}
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	var tags, have []string
	for k := range unknown {
		tags = append(tags, k)
	}
	for k := range merge {
		have = append(have, k)
	}
	sort.Strings(tags)
	sort.Strings(have)
	return &destinations.Error{Message: fmt.Sprintf("Mailchimp audience %s has no merge field %s (it has %s): add it under Audience → Settings → "+
		"Audience fields and *|MERGE|* tags, or change the sync's fields", d.list, strings.Join(tags, ", "), strings.Join(have, ", "))}
}

func isTag(k string) bool { return k != "" && strings.ToUpper(k) == k }

// member maps a record to a batch member, or says why it cannot be one.
func (d *Destination) member(r *destinations.Record, merge map[string]mergeField) (member, string) {
	m := member{Email: destinations.NormalizeEmail(r.Key["email"]), Status: d.status}
	if m.Email == "" {
		return m, "no e-mail address"
	}
	for k, v := range r.Fields {
		switch k {
		case "status":
			s, _ := v.(string)
			if s == "" {
				continue // the configured status
			}
			if !slices.Contains(statuses, s) {
				return m, fmt.Sprintf("status %q is not one Mailchimp takes (%s)", s, strings.Join(statuses, ", "))
			}
			m.Status = s
		case "language":
			m.Language, _ = v.(string)
		case "email_type":
			m.EmailType, _ = v.(string)
		case "vip":
			if b, ok := v.(bool); ok {
				m.VIP = &b
			}
		default:
			val, err := mergeValue(v, merge[k])
			if err != nil {
				return m, fmt.Sprintf("merge field %s (%s): %v", k, merge[k].Type, err)
			}
			if m.MergeFields == nil {
				m.MergeFields = map[string]any{}
			}
			m.MergeFields[k] = val
		}
	}
	return m, ""
}

// mergeValue is a value in the form a merge field of its type takes; a
// null clears the field.
func mergeValue(v any, f mergeField) (any, error) {
	if v == nil {
		return "", nil
	}
	switch f.Type {
	case "number":
		return destinations.Coerce(v, destinations.Number)
	case "date":
		return destinations.Coerce(v, destinations.Date)
	case "birthday":
		s, err := destinations.Coerce(v, destinations.Date)
		if err != nil {
			return nil, err
		}
		return s.(string)[5:7] + "/" + s.(string)[8:10], nil // MM/DD
	case "address":
		return nil, fmt.Errorf("an address merge field takes an object (addr1, city, state, zip); map the text to a text field instead")
	}
	return destinations.Coerce(v, destinations.String)
}

// archive takes each member off the audience (DELETE): Mailchimp keeps
// them archived, out of billing, and a later add brings them back.
func (d *Destination) archive(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return destinations.EachRecord(b, func(r *destinations.Record) (destinations.RecordResult, error) {
		hash := d.hash(r)
		status, err := d.c.call(ctx, http.MethodDelete, d.listPath()+"/members/"+hash, nil, nil)
		if status == http.StatusNotFound {
			err = nil // not (or no longer) a member
		}
		return destinations.RecordResult{Ref: hash}, err
	})
}

// unsubscribe marks removed members unsubscribed, 500 per call.
func (d *Destination) unsubscribe(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	index := map[string]int{}
	var members []member
	for i, r := range b.Records {
		email := destinations.NormalizeEmail(r.Key["email"])
		if _, dup := index[email]; dup || email == "" {
			continue // the same member once is enough; no address, nothing to unsubscribe
		}
		index[email] = i
		members = append(members, member{Email: email, Status: "unsubscribed"})
	}
	if len(members) == 0 {
		return res, nil
	}
	res, err := d.send(ctx, members, index, res)
	for i := range res.Records {
		if res.Records[i].Outcome == destinations.Rejected && strings.Contains(res.Records[i].Reason, "permanently deleted") {
			res.Records[i] = destinations.RecordResult{} // erased already: nothing left to unsubscribe
		}
	}
	return res, err
}

func (d *Destination) hash(r *destinations.Record) string {
	if r.Ref != "" {
		return r.Ref
	}
	return subscriberHash(destinations.NormalizeEmail(r.Key["email"]))
}

// Erase deletes each member permanently: Mailchimp removes the data and
// never lets the address be imported again (only the person can sign up).
func (d *Destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return destinations.EachRecord(b, func(r *destinations.Record) (destinations.RecordResult, error) {
		if r.Ref == "" && r.Key["email"] == "" {
			return destinations.RecordResult{Outcome: destinations.Rejected, Reason: "no e-mail and no Mailchimp member id to erase by"}, nil
		}
		hash := d.hash(r)
		status, err := d.c.call(ctx, http.MethodPost, d.listPath()+"/members/"+hash+"/actions/delete-permanent", nil, nil)
		if status == http.StatusNotFound {
			err = nil // the audience holds nothing for them
		}
		return destinations.RecordResult{Ref: hash}, err
	})
}

// Check verifies the key and that the audience exists.
func (d *Destination) Check(ctx context.Context) error {
	var ans struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	_, err := d.c.call(ctx, http.MethodGet, d.listPath()+"?fields=id,name", nil, &ans)
	e, ok := destinations.AsError(err)
	switch {
	case !ok:
		return err
	case e.Status == http.StatusUnauthorized:
		return fmt.Errorf("Mailchimp refused the API key (%v): check config.api_key, and that it ends in the account's data centre", e)
	case e.Status == http.StatusNotFound:
		return fmt.Errorf("Mailchimp has no audience %s (%v): check config.audience_id", d.list, e)
	}
	return err
}

var (
	_ destinations.Checker = (*Destination)(nil)
	_ destinations.Eraser  = (*Destination)(nil)
)
