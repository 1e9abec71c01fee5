// Package fake is a local stand-in for Mailchimp's Marketing API v3 (batch
// subscribe, archive, permanent delete, merge fields) that checks requests
// and answers the way Mailchimp does, for tests.
package fake

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// The fake's account.
const (
	Key    = "0123456789abcdef0123456789abcdef-us6"
	ListID = "9e67587f52"
)

// MaxMembers is the most members one batch call takes; MaxConnections the
// most requests one account may have in flight.
const (
	MaxMembers     = 500
	MaxConnections = 10
)

var (
	emailRE    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	birthdayRE = regexp.MustCompile(`^(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])$`)
	statuses   = []string{"subscribed", "unsubscribed", "cleaned", "pending", "transactional"}
)

// Member is a member as the audience holds it.
type Member struct {
	ID          string
	Email       string
	Status      string
	Archived    bool
	MergeFields map[string]any
	Language    string
	VIP         *bool // nil until set
	EmailType   string
	// OptedOut: the person unsubscribed themselves (or bounced); Mailchimp
	// then refuses to subscribe them through the API.
	OptedOut bool
}

type mergeField struct {
	Tag, Type string
}

// tag is a tag: to Mailchimp's API a static segment of the audience.
type tag struct {
	id      int
	name    string
	members map[string]bool // subscriber hashes
}

// Fake is one Mailchimp account with one audience, behind an httptest server.
type Fake struct {
	// Ledger keeps the refusals, queued failures and request count; the
	// members and erasures are read from the audience itself.
	destinationstest.Ledger
	srv      *httptest.Server
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	gate     atomic.Pointer[chan struct{}]

	mu        sync.Mutex
	merge     []mergeField
	members   map[string]*Member // by subscriber hash
	tags      map[int]*tag
	forgotten map[string]bool
	erased    []string
	bare      int // of the queued failures, how many answer without a body
	// Log holds every request as "METHOD path?query".
	Log []string
	// MembersTag, when set, makes Members the members carrying that tag:
	// the audience of a sync that keeps a tag.
	MembersTag string
}

var _ destinationstest.Fake = (*Fake)(nil)

// New starts a fake account whose audience has the merge fields FNAME,
// LNAME (text), PHONE (phone), BIRTHDAY (birthday), ADDRESS (address), LTV
// (number) and SIGNUP (date). The server stops with the test.
func New(t testing.TB) *Fake {
	f := &Fake{members: map[string]*Member{}, forgotten: map[string]bool{}, tags: map[int]*tag{}}
	for _, m := range [][2]string{{"FNAME", "text"}, {"LNAME", "text"}, {"PHONE", "phone"}, {"BIRTHDAY", "birthday"},
		{"ADDRESS", "address"}, {"LTV", "number"}, {"SIGNUP", "date"}} {
		f.merge = append(f.merge, mergeField{m[0], m[1]})
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Hash is Mailchimp's subscriber hash of an address.
func Hash(email string) string {
	h := md5.Sum([]byte(strings.ToLower(email)))
	return hex.EncodeToString(h[:])
}

// DefineMergeField adds a merge field of a type (text, number, date, birthday, ...).
func (f *Fake) DefineMergeField(tag, typ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.merge = append(f.merge, mergeField{tag, typ})
}

// URL is the base URL to put in config.endpoint.
func (f *Fake) URL() string { return f.srv.URL }

// Members is the audience: the address of every member who is neither
// archived nor unsubscribed or cleaned → their merge fields and the other
// fields a sync sets (language, vip, email_type when set).
func (f *Fake) Members() map[string]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]any{}
	var tagged map[string]bool
	if f.MembersTag != "" {
		tagged = map[string]bool{}
		for _, t := range f.tags {
			if t.name == f.MembersTag {
				tagged = t.members
			}
		}
	}
	for _, m := range f.members {
		if m.Archived || m.Status == "unsubscribed" || m.Status == "cleaned" || tagged != nil && !tagged[m.ID] {
			continue
		}
		fields := map[string]any{}
		for k, v := range m.MergeFields {
			fields[k] = v
		}
		if m.Language != "" {
			fields["language"] = m.Language
		}
		if m.VIP != nil {
			fields["vip"] = *m.VIP
		}
		if m.EmailType != "" {
			fields["email_type"] = m.EmailType
		}
		out[m.Email] = fields
	}
	return out
}

// Member is the member with an address, archived or not; nil when none.
func (f *Fake) Member(email string) *Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.members[Hash(email)]; ok {
		c := *m
		return &c
	}
	return nil
}

// Tagged lists the addresses that carry a tag, sorted.
func (f *Fake) Tagged(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, t := range f.tags {
		if t.name != name {
			continue
		}
		for h := range t.members {
			if m := f.members[h]; m != nil {
				out = append(out, m.Email)
			}
		}
	}
	sort.Strings(out)
	return out
}

// OptOut makes the person unsubscribe themselves, as from an e-mail's link.
func (f *Fake) OptOut(email string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.members[Hash(email)]; ok {
		m.Status, m.OptedOut = "unsubscribed", true
	}
}

// Erased lists the addresses deleted permanently.
func (f *Fake) Erased() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.erased...)
}

// FailBare makes the next n data requests answer status with no body, as
// Mailchimp's throttling of very high volume does with 403.
func (f *Fake) FailBare(n, status int) {
	f.Fail(n, status)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bare += n
}

// Hold keeps every request that gets a connection waiting, until release
// is called: a test can then see what an account's 11th connection gets.
func (f *Fake) Hold() (release func()) {
	ch := make(chan struct{})
	f.gate.Store(&ch)
	return func() { f.gate.Store(nil); close(ch) }
}

// InFlight is the number of requests in flight now.
func (f *Fake) InFlight() int { return int(f.inFlight.Load()) }

// MaxInFlight is the most requests that were in flight at once.
func (f *Fake) MaxInFlight() int { return int(f.maxSeen.Load()) }

var instance atomic.Int64

func writeProblem(w http.ResponseWriter, status int, title, detail string, errs ...map[string]string) {
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.Header().Set("Link", `<https://us6.api.mailchimp.com/schema/3.0/Definitions/ProblemDetailDocument.json>; rel="describedBy"`)
	w.WriteHeader(status)
	body := map[string]any{"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title, "status": status,
		"detail": detail, "instance": fmt.Sprintf("9d741ebc-c22a-4e34-af47-%012d", instance.Add(1))}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		seen := f.maxSeen.Load()
		if n <= seen || f.maxSeen.CompareAndSwap(seen, n) {
			break
		}
	}
	w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d", instance.Add(1)))
	if n > MaxConnections {
		writeProblem(w, http.StatusTooManyRequests, "Too Many Requests",
			fmt.Sprintf("You have exceeded the limit of %d simultaneous connections.", MaxConnections))
		return
	}
	if g := f.gate.Load(); g != nil {
		<-*g
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, r.Method+" "+r.URL.RequestURI())
	if !f.authorized(r) {
		writeProblem(w, http.StatusUnauthorized, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
		return
	}
	if r.Method != http.MethodGet {
		if st := f.Request(); st != 0 {
			f.failure(w, st)
			return
		}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/3.0/lists/")
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	parts := strings.Split(rest, "/")
	if parts[0] != ListID {
		writeProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		writeJSON(w, map[string]any{"id": ListID, "name": "Newsletter"})
	case len(parts) == 1 && r.Method == http.MethodPost:
		f.batch(w, r)
	case len(parts) == 2 && parts[1] == "merge-fields" && r.Method == http.MethodGet:
		var out []map[string]any
		for i, m := range f.merge {
			out = append(out, map[string]any{"merge_id": i + 1, "tag": m.Tag, "name": m.Tag, "type": m.Type, "required": false,
				"list_id": ListID, "options": map[string]any{}})
		}
		writeJSON(w, map[string]any{"merge_fields": out, "list_id": ListID, "total_items": len(out)})
	case len(parts) == 2 && parts[1] == "segments" && r.Method == http.MethodGet:
		var out []map[string]any
		for id := 1; id <= len(f.tags); id++ {
			t := f.tags[id]
			out = append(out, map[string]any{"id": t.id, "name": t.name, "type": "static", "member_count": len(t.members), "list_id": ListID})
		}
		writeJSON(w, map[string]any{"segments": out, "list_id": ListID, "total_items": len(out)})
	case len(parts) == 2 && parts[1] == "segments" && r.Method == http.MethodPost:
		f.createTag(w, r)
	case len(parts) == 3 && parts[1] == "segments" && r.Method == http.MethodPost:
		f.retag(w, r, parts[2])
	case len(parts) == 3 && parts[1] == "members" && r.Method == http.MethodDelete:
		m := f.find(parts[2])
		if m == nil || m.Archived {
			writeProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
			return
		}
		m.Archived = true
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 5 && parts[1] == "members" && parts[3] == "actions" && parts[4] == "delete-permanent" && r.Method == http.MethodPost:
		m := f.find(parts[2])
		if m == nil {
			writeProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
			return
		}
		delete(f.members, m.ID)
		f.forgotten[m.Email] = true
		f.erased = append(f.erased, m.Email)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeProblem(w, http.StatusMethodNotAllowed, "Method Not Allowed", "The requested method and resource are not compatible. See the Allow header for this resource's available methods.")
	}
}

// find reads a member by subscriber hash, or by the raw address Mailchimp also takes.
func (f *Fake) find(key string) *Member {
	if strings.Contains(key, "@") {
		key = Hash(key)
	}
	return f.members[key]
}

func (f *Fake) authorized(r *http.Request) bool {
	a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
	if !ok {
		return false
	}
	dec, err := base64.StdEncoding.DecodeString(a)
	if err != nil {
		return false
	}
	_, pass, _ := strings.Cut(string(dec), ":")
	return pass == Key
}

func (f *Fake) failure(w http.ResponseWriter, status int) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if f.bare > 0 {
		f.bare--
		w.WriteHeader(status)
		return
	}
	switch status {
	case http.StatusTooManyRequests:
		writeProblem(w, status, "Too Many Requests", fmt.Sprintf("You have exceeded the limit of %d simultaneous connections.", MaxConnections))
	case http.StatusUnauthorized:
		writeProblem(w, status, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
	case http.StatusForbidden:
		writeProblem(w, status, "Forbidden", "You don't have permission to access this resource.")
	case http.StatusRequestEntityTooLarge:
		writeProblem(w, status, "Request Entity Too Large", "The request body is too large.")
	default:
		writeProblem(w, status, "Internal Server Error", "An unexpected internal error has occurred. Please contact Support for more information.")
	}
}

func (f *Fake) createTag(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name   string   `json:"name"`
		Static []string `json:"static_segment"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if body.Name == "" || body.Static == nil {
		writeProblem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			map[string]string{"field": "name", "message": "A tag needs a name and static_segment (a list of addresses, maybe empty)"})
		return
	}
	t := &tag{id: len(f.tags) + 1, name: body.Name, members: map[string]bool{}}
	for _, e := range body.Static {
		if m := f.find(e); m != nil {
			t.members[m.ID] = true
		}
	}
	f.tags[t.id] = t
	writeJSON(w, map[string]any{"id": t.id, "name": t.name, "type": "static", "member_count": len(t.members), "list_id": ListID})
}

// retag adds and removes members of a tag; addresses not in the audience
// are ignored, as Mailchimp documents.
func (f *Fake) retag(w http.ResponseWriter, r *http.Request, id string) {
	n, _ := strconv.Atoi(id)
	t, ok := f.tags[n]
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	var body struct {
		Add    []string `json:"members_to_add"`
		Remove []string `json:"members_to_remove"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if len(body.Add) > MaxMembers || len(body.Remove) > MaxMembers {
		writeProblem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			map[string]string{"field": "members_to_add", "message": fmt.Sprintf("Schema describes array, but more than %d items were found", MaxMembers)})
		return
	}
	added, removed := []map[string]any{}, []map[string]any{}
	for _, e := range body.Add {
		if m := f.find(e); m != nil && !m.Archived {
			t.members[m.ID] = true
			added = append(added, map[string]any{"id": m.ID, "email_address": m.Email, "status": m.Status})
		}
	}
	for _, e := range body.Remove {
		if m := f.find(e); m != nil && t.members[m.ID] {
			delete(t.members, m.ID)
			removed = append(removed, map[string]any{"id": m.ID, "email_address": m.Email, "status": m.Status})
		}
	}
	writeJSON(w, map[string]any{"members_added": added, "members_removed": removed, "errors": []any{},
		"total_added": len(added), "total_removed": len(removed), "error_count": 0})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeProblem(w, http.StatusBadRequest, "JSON Parse Error", "We encountered an unspecified JSON parsing error.")
		return false
	}
	return true
}

type inMember struct {
	Email       *string        `json:"email_address"`
	Status      string         `json:"status"`
	MergeFields map[string]any `json:"merge_fields"`
	Language    string         `json:"language"`
	VIP         *bool          `json:"vip"`
	EmailType   string         `json:"email_type"`
}

func (f *Fake) batch(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeProblem(w, http.StatusBadRequest, "JSON Parse Error", "We encountered an unspecified JSON parsing error.")
		return
	}
	var body struct {
		Members        []inMember `json:"members"`
		UpdateExisting bool       `json:"update_existing"`
	}
	data, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(data, &body)
	}
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "JSON Parse Error", "We encountered an unspecified JSON parsing error.")
		return
	}
	if len(body.Members) > MaxMembers {
		writeProblem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			map[string]string{"field": "members", "message": fmt.Sprintf("Schema describes array, but more than %d items were found", MaxMembers)})
		return
	}
	for i, m := range body.Members {
		if m.Email == nil {
			writeProblem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
				map[string]string{"field": fmt.Sprintf("members.item:%d.email_address", i), "message": "Required property email_address was not present"})
			return
		}
		if !slices.Contains(statuses, m.Status) {
			writeProblem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
				map[string]string{"field": fmt.Sprintf("members.item:%d.status", i), "message": "Value is not one of enum values"})
			return
		}
	}
	created, updated, errs := []map[string]any{}, []map[string]any{}, []map[string]string{}
	seen := map[string]bool{}
	for _, in := range body.Members {
		email := strings.ToLower(*in.Email)
		fail := func(code, msg, field, fieldMsg string) {
			errs = append(errs, map[string]string{"email_address": *in.Email, "error": msg, "error_code": code, "field": field, "field_message": fieldMsg})
		}
		switch {
		case !emailRE.MatchString(email) || f.Rejected(email):
			fail("ERROR_GENERIC", *in.Email+" looks fake or invalid, please enter a real email address.", "email_address", "")
			continue
		case f.forgotten[email]:
			fail("ERROR_GENERIC", *in.Email+" was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.", "", "")
			continue
		case seen[email]:
			fail("ERROR_GENERIC", *in.Email+" is in the batch more than once.", "email_address", "")
			continue
		}
		seen[email] = true
		if field, msg := f.checkMerge(in.MergeFields); field != "" {
			fail("ERROR_GENERIC", "Your merge fields were invalid.", field, msg)
			continue
		}
		m, exists := f.members[Hash(email)]
		if exists && !body.UpdateExisting && !m.Archived {
			fail("ERROR_CONTACT_EXISTS", *in.Email+" is already a list member. Use PUT to insert or update list members.", "", "")
			continue
		}
		if exists && (m.OptedOut || m.Status == "cleaned") && (in.Status == "subscribed" || in.Status == "transactional") {
			fail("ERROR_GENERIC", *in.Email+" is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.", "", "")
			continue
		}
		if !exists {
			m = &Member{ID: Hash(email), Email: email, MergeFields: map[string]any{}}
			f.members[m.ID] = m
		}
		m.Archived = false
		m.Status = in.Status
		if in.Status == "subscribed" {
			m.OptedOut = false
		}
		for k, v := range in.MergeFields {
			if !f.hasMerge(k) {
				continue // Mailchimp ignores a tag the audience does not have
			}
			if v == "" {
				delete(m.MergeFields, k)
			} else {
				m.MergeFields[k] = v
			}
		}
		if in.Language != "" {
			m.Language = in.Language
		}
		if in.VIP != nil {
			v := *in.VIP
			m.VIP = &v
		}
		if in.EmailType != "" {
			m.EmailType = in.EmailType
		}
		out := map[string]any{"id": m.ID, "email_address": m.Email, "unique_email_id": m.ID[:10], "status": m.Status,
			"merge_fields": m.MergeFields, "list_id": ListID}
		if exists {
			updated = append(updated, out)
		} else {
			created = append(created, out)
		}
	}
	writeJSON(w, map[string]any{"new_members": created, "updated_members": updated, "errors": errs,
		"total_created": len(created), "total_updated": len(updated), "error_count": len(errs), "_links": []any{}})
}

func (f *Fake) hasMerge(tag string) bool {
	return slices.ContainsFunc(f.merge, func(m mergeField) bool { return m.Tag == tag })
}

// checkMerge checks merge values against their fields' types; it answers
// the first bad field and Mailchimp's message for it.
func (f *Fake) checkMerge(values map[string]any) (string, string) {
	for _, mf := range f.merge {
		v, ok := values[mf.Tag]
		if !ok || v == "" {
			continue
		}
		s, isText := v.(string)
		switch mf.Type {
		case "number":
			if _, isNum := v.(float64); !isNum {
				return mf.Tag, "Please enter a number"
			}
		case "date":
			if !isText || !dateRE.MatchString(s) {
				return mf.Tag, "Please enter the date"
			}
		case "birthday":
			if !isText || !birthdayRE.MatchString(s) {
				return mf.Tag, "Please enter a month (01-12) and a day (01-31), separated by a slash"
			}
		case "address":
			if _, isObj := v.(map[string]any); !isObj {
				return mf.Tag, "Please enter a complete address"
			}
		default:
			if !isText {
				return mf.Tag, "Please enter a value"
			}
		}
	}
	return "", ""
}
