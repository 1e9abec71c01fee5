// Package fake is a local stand-in for Klaviyo's JSON:API (bulk profile
// import jobs with their errors and profiles, list relationships, profile
// lookups, data-privacy deletion) that checks requests and answers the way
// Klaviyo does, for tests.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// The fake's account and Klaviyo's caps.
const (
	Key             = "pk_0123456789abcdef0123456789abcdef01"
	ListID          = "Xy12Ab"
	Revision        = "2026-07-15"
	MaxProfiles     = 10000
	MaxBodyBytes    = 5 << 20
	MaxProfileBytes = 100 << 10
	MaxListIDs      = 1000
	MaxPageSize     = 100
	mediaType       = "application/vnd.api+json"
)

var (
	emailRE    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	phoneRE    = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
	revisionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$`)
	filterRE   = regexp.MustCompile(`^(any|equals)\((email|phone_number|external_id|id),(.*)\)$`)
)

// Profile is a profile as the account holds it.
type Profile struct {
	ID         string
	Attributes map[string]any // email, phone_number, external_id, first_name, ..., location, properties
}

type importJob struct {
	id       string
	status   string
	polls    int
	profiles []map[string]any
	list     string
	done     []string // profile ids of the job
	errors   []map[string]any
}

// Fake is one Klaviyo account with one list, behind an httptest server.
type Fake struct {
	// Ledger keeps the refusals, queued failures and request count; the
	// members and erasures are read from the account itself.
	destinationstest.Ledger
	srv *httptest.Server

	mu       sync.Mutex
	profiles map[string]*Profile
	ids      map[string]string          // "email:ada@example.com" (and phone_number:, external_id:) → profile id
	lists    map[string]map[string]bool // list id → profile ids
	jobs     map[string]*importJob
	erased   []string
	nextID   int
	// PollsToComplete is how many looks at an import job it takes until
	// it is complete (queued → processing → complete); 1 by default.
	PollsToComplete int
	// Log holds every request as "METHOD path?query".
	Log []string
}

var _ destinationstest.Fake = (*Fake)(nil)

// New starts a fake account with the list ListID. The server stops with the test.
func New(t testing.TB) *Fake {
	f := &Fake{profiles: map[string]*Profile{}, ids: map[string]string{}, lists: map[string]map[string]bool{ListID: {}}, jobs: map[string]*importJob{},
		nextID: 1, PollsToComplete: 1}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL to put in config.endpoint.
func (f *Fake) URL() string { return f.srv.URL }

// Members is the list: each member's e-mail → their standard fields,
// location fields and custom properties side by side.
func (f *Fake) Members() map[string]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]any{}
	for id := range f.lists[ListID] {
		p := f.profiles[id]
		m := map[string]any{}
		for k, v := range p.Attributes {
			switch k {
			case "email", "phone_number", "external_id":
			case "location", "properties":
				for kk, vv := range v.(map[string]any) {
					m[kk] = vv
				}
			default:
				m[k] = v
			}
		}
		key, _ := p.Attributes["email"].(string)
		out[key] = m
	}
	return out
}

// Profile is the profile with an e-mail, nil when none.
func (f *Fake) Profile(email string) *Profile {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.find("email", email); p != nil {
		c := *p
		return &c
	}
	return nil
}

// Erased lists the identifiers deletion jobs were requested for.
func (f *Fake) Erased() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.erased...)
}

func (f *Fake) newID() string {
	f.nextID++
	return fmt.Sprintf("01JKV%021d", f.nextID)
}

func writeErrors(w http.ResponseWriter, status int, code, title, detail, pointer string) {
	e := map[string]any{"id": fmt.Sprintf("6d1f0a4e-%d", time.Now().UnixNano()), "status": status, "code": code, "title": title, "detail": detail,
		"source": map[string]string{}}
	if pointer != "" {
		e["source"] = map[string]string{"pointer": pointer}
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{e}})
}

func writeDoc(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, r.Method+" "+r.URL.RequestURI())
	if r.Header.Get("Authorization") != "Klaviyo-API-Key "+Key {
		writeErrors(w, http.StatusUnauthorized, "not_authenticated", "Authentication credentials were not provided.", "Missing or invalid private key.", "")
		return
	}
	rev := r.Header.Get("revision")
	if rev == "" {
		writeErrors(w, http.StatusBadRequest, "invalid", "Invalid input.", "Missing `revision` header: every request must name an API revision.", "")
		return
	}
	if !revisionRE.MatchString(rev) || rev[:10] > Revision {
		writeErrors(w, http.StatusBadRequest, "invalid", "Invalid input.", fmt.Sprintf("Invalid revision %q.", rev), "")
		return
	}
	if r.Method != http.MethodGet {
		if st := f.Request(); st != 0 {
			f.failure(w, st)
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, mediaType) {
			writeErrors(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type.",
				fmt.Sprintf("Unsupported media type %q in request.", ct), "")
			return
		}
	}
	w.Header().Set("RateLimit-Limit", "150")
	w.Header().Set("RateLimit-Remaining", "149")
	w.Header().Set("RateLimit-Reset", "42")
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/profile-bulk-import-jobs":
		f.createJob(w, r)
	case r.Method == http.MethodGet && len(p) >= 3 && p[0] == "api" && p[1] == "profile-bulk-import-jobs":
		f.readJob(w, r, p[2:])
	case r.Method == http.MethodGet && r.URL.Path == "/api/profiles":
		f.getProfiles(w, r)
	case len(p) == 5 && p[1] == "lists" && p[3] == "relationships" && p[4] == "profiles" && (r.Method == http.MethodPost || r.Method == http.MethodDelete):
		f.listMembers(w, r, p[2])
	case r.Method == http.MethodGet && r.URL.Path == "/api/lists":
		writeDoc(w, 200, map[string]any{"data": []any{map[string]any{"type": "list", "id": ListID, "attributes": map[string]any{"name": "Cohort"}}},
			"links": map[string]any{"self": f.srv.URL + r.URL.RequestURI()}})
	case r.Method == http.MethodGet && len(p) == 3 && p[1] == "lists":
		if _, ok := f.lists[p[2]]; !ok {
			writeErrors(w, http.StatusNotFound, "not_found", "Not found.", fmt.Sprintf("A list with id %s does not exist.", p[2]), "")
			return
		}
		writeDoc(w, 200, map[string]any{"data": map[string]any{"type": "list", "id": p[2], "attributes": map[string]any{"name": "Cohort", "opt_in_process": "single_opt_in"}}})
	case r.Method == http.MethodPost && r.URL.Path == "/api/data-privacy-deletion-jobs":
		f.deletionJob(w, r)
	default:
		writeErrors(w, http.StatusNotFound, "not_found", "Not found.", "The requested resource was not found: "+r.Method+" "+r.URL.Path, "")
	}
}

func (f *Fake) failure(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1") // and no RateLimit-* headers on a 429
		writeErrors(w, status, "throttled", "Request was throttled.", "Request was throttled. Expected available in 1 second.", "")
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
		writeErrors(w, status, "service_unavailable", "Service unavailable.", "The service is temporarily unavailable. Please try again later.", "")
	case http.StatusUnauthorized:
		writeErrors(w, status, "not_authenticated", "Authentication credentials were not provided.", "Missing or invalid private key.", "")
	case http.StatusForbidden:
		writeErrors(w, status, "permission_denied", "You do not have permission to perform this action.", "This API key is missing required scopes.", "")
	case http.StatusRequestEntityTooLarge:
		writeErrors(w, status, "request_too_large", "Request entity too large.", "The request payload exceeds the 5MB limit.", "")
	default:
		writeErrors(w, status, "error", "A server error occurred.", "An unexpected error occurred.", "")
	}
}

func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err == nil && len(data) > MaxBodyBytes {
		writeErrors(w, http.StatusRequestEntityTooLarge, "request_too_large", "Request entity too large.", "The request payload exceeds the 5MB limit.", "")
		return false
	}
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "parse_error", "Malformed request.", "JSON parse error: "+err.Error(), "")
		return false
	}
	return true
}

func (f *Fake) createJob(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Profiles struct {
					Data []struct {
						Type       string          `json:"type"`
						Attributes json.RawMessage `json:"attributes"`
					} `json:"data"`
				} `json:"profiles"`
			} `json:"attributes"`
			Relationships struct {
				Lists struct {
					Data []struct {
						Type string `json:"type"`
						ID   string `json:"id"`
					} `json:"data"`
				} `json:"lists"`
			} `json:"relationships"`
		} `json:"data"`
	}
	if !readBody(w, r, &body) {
		return
	}
	d := body.Data
	if d.Type != "profile-bulk-import-job" {
		writeErrors(w, 400, "invalid", "Invalid input.", fmt.Sprintf("'%s' is not a valid choice for 'type'.", d.Type), "/data/type")
		return
	}
	ps := d.Attributes.Profiles.Data
	if len(ps) == 0 || len(ps) > MaxProfiles {
		writeErrors(w, 400, "invalid", "Invalid input.", fmt.Sprintf("A job takes between 1 and %d profiles; got %d.", MaxProfiles, len(ps)), "/data/attributes/profiles/data")
		return
	}
	j := &importJob{id: f.newID(), status: "queued"}
	for i, p := range ps {
		if p.Type != "profile" {
			writeErrors(w, 400, "invalid", "Invalid input.", fmt.Sprintf("'%s' is not a valid choice for 'type'.", p.Type), fmt.Sprintf("/data/attributes/profiles/data/%d/type", i))
			return
		}
		if len(p.Attributes) > MaxProfileBytes {
			writeErrors(w, 400, "invalid", "Invalid input.", "The maximum allowed payload size per-profile is 100KB.", fmt.Sprintf("/data/attributes/profiles/data/%d", i))
			return
		}
		var attrs map[string]any
		if err := json.Unmarshal(p.Attributes, &attrs); err != nil {
			writeErrors(w, 400, "invalid", "Invalid input.", "Profile attributes must be an object.", fmt.Sprintf("/data/attributes/profiles/data/%d/attributes", i))
			return
		}
		j.profiles = append(j.profiles, attrs)
	}
	for _, l := range d.Relationships.Lists.Data {
		if _, ok := f.lists[l.ID]; !ok || l.Type != "list" {
			writeErrors(w, 404, "not_found", "Not found.", fmt.Sprintf("A list with id %s does not exist.", l.ID), "/data/relationships/lists/data")
			return
		}
		j.list = l.ID
	}
	f.jobs[j.id] = j
	writeDoc(w, http.StatusAccepted, f.jobDoc(j))
}

func (f *Fake) jobDoc(j *importJob) map[string]any {
	attrs := map[string]any{"status": j.status, "created_at": "2026-05-04T10:00:00+00:00", "total_count": len(j.profiles),
		"completed_count": 0, "failed_count": 0, "expires_at": "2026-05-11T10:00:00+00:00"}
	if j.status == "complete" {
		attrs["completed_count"], attrs["failed_count"] = len(j.done), len(j.errors)
		attrs["completed_at"] = "2026-05-04T10:00:05+00:00"
	}
	return map[string]any{"data": map[string]any{"type": "profile-bulk-import-job", "id": j.id, "attributes": attrs},
		"links": map[string]any{"self": f.srv.URL + "/api/profile-bulk-import-jobs/" + j.id}}
}

// readJob answers the job, its import errors or its profiles. Each look at
// a job moves it on, and it completes after PollsToComplete looks.
func (f *Fake) readJob(w http.ResponseWriter, r *http.Request, p []string) {
	j, ok := f.jobs[p[0]]
	if !ok {
		writeErrors(w, 404, "not_found", "Not found.", fmt.Sprintf("A profile-bulk-import-job with id %s does not exist.", p[0]), "")
		return
	}
	if len(p) == 1 {
		j.polls++
		if j.status != "complete" {
			j.status = "processing"
			if j.polls >= f.PollsToComplete {
				f.run(j)
			}
		}
		writeDoc(w, 200, f.jobDoc(j))
		return
	}
	size, cursor, ok := paging(w, r)
	if !ok {
		return
	}
	switch {
	case len(p) == 2 && p[1] == "import-errors":
		f.writePage(w, r, len(j.errors), func(i int) any { return j.errors[i] }, size, cursor)
	case len(p) == 2 && p[1] == "profiles":
		fields := r.URL.Query().Get("fields[profile]")
		f.writePage(w, r, len(j.done), func(i int) any { return f.resource(f.profiles[j.done[i]], fields) }, size, cursor)
	default:
		writeErrors(w, 404, "not_found", "Not found.", "The requested resource was not found.", "")
	}
}

func paging(w http.ResponseWriter, r *http.Request) (size, cursor int, ok bool) {
	size = 20
	if s := r.URL.Query().Get("page[size]"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			writeErrors(w, 400, "invalid", "Invalid input.", fmt.Sprintf("page[size] must be between 1 and %d.", MaxPageSize), "")
			return 0, 0, false
		}
		size = n
	}
	if c := r.URL.Query().Get("page[cursor]"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "bmV4dDo"))
		if err != nil {
			writeErrors(w, 400, "invalid", "Invalid input.", "Invalid page cursor.", "")
			return 0, 0, false
		}
		cursor = n
	}
	return size, cursor, true
}

// writePage answers one page of a collection of n items, with the link to
// the next page when there is one.
func (f *Fake) writePage(w http.ResponseWriter, r *http.Request, n int, item func(i int) any, size, cursor int) {
	end := min(cursor+size, n)
	links := map[string]any{"self": f.srv.URL + r.URL.RequestURI(), "next": nil}
	if end < n {
		q := r.URL.Query()
		q.Set("page[cursor]", "bmV4dDo"+strconv.Itoa(end))
		links["next"] = f.srv.URL + r.URL.Path + "?" + q.Encode()
	}
	page := []any{}
	for i := min(cursor, n); i < end; i++ {
		page = append(page, item(i))
	}
	writeDoc(w, 200, map[string]any{"data": page, "links": links})
}

func (f *Fake) resource(p *Profile, fields string) map[string]any {
	attrs := map[string]any{}
	for k, v := range p.Attributes {
		attrs[k] = v
	}
	if fields != "" {
		attrs = map[string]any{}
		for _, k := range strings.Split(fields, ",") {
			attrs[k] = p.Attributes[k]
		}
	}
	return map[string]any{"type": "profile", "id": p.ID, "attributes": attrs}
}

// run processes a job: each profile is checked, then created or updated
// (matched by email, then phone number, then external id) and added to the list.
func (f *Fake) run(j *importJob) {
	j.status = "complete"
	for i, attrs := range j.profiles {
		fail := func(pointer, detail string) {
			j.errors = append(j.errors, map[string]any{"type": "import-error", "id": fmt.Sprintf("e4eebb08-%04d-%s", i, j.id),
				"attributes": map[string]any{"code": "invalid", "title": "Invalid input.", "detail": detail,
					"source": map[string]any{"pointer": pointer}, "original_payload": attrs}})
		}
		email, _ := attrs["email"].(string)
		phone, _ := attrs["phone_number"].(string)
		ext, _ := attrs["external_id"].(string)
		switch {
		case email == "" && phone == "" && ext == "":
			fail("/data/attributes", "A profile needs an email, phone_number or external_id.")
			continue
		case email != "" && !emailRE.MatchString(email):
			fail("/data/attributes/email", fmt.Sprintf("'%s' is not a valid email address.", email))
			continue
		case phone != "" && !phoneRE.MatchString(phone):
			fail("/data/attributes/phone_number", "Invalid phone number format")
			continue
		case f.Rejected(strings.ToLower(email)):
			fail("/data/attributes/email", fmt.Sprintf("'%s' is not a valid email address.", email))
			continue
		}
		var p *Profile
		for _, k := range []string{"email", "phone_number", "external_id"} {
			if v, _ := attrs[k].(string); v != "" && p == nil {
				p = f.find(k, v)
			}
		}
		if p == nil {
			p = &Profile{ID: f.newID(), Attributes: map[string]any{}}
			f.profiles[p.ID] = p
		}
		f.index(p, true)
		for k, v := range attrs {
			switch k {
			case "location", "properties":
				sub, _ := p.Attributes[k].(map[string]any)
				if sub == nil {
					sub = map[string]any{}
				}
				m, _ := v.(map[string]any)
				for kk, vv := range m {
					if vv == nil {
						delete(sub, kk) // null clears, an omitted key is left alone
					} else {
						sub[kk] = vv
					}
				}
				p.Attributes[k] = sub
			default:
				if v == nil {
					delete(p.Attributes, k)
				} else {
					p.Attributes[k] = v
				}
			}
		}
		if email != "" {
			p.Attributes["email"] = strings.ToLower(email)
		}
		f.index(p, false)
		j.done = append(j.done, p.ID)
		if j.list != "" {
			f.lists[j.list][p.ID] = true
		}
	}
}

func idKey(field, value string) string {
	if field == "email" {
		value = strings.ToLower(value)
	}
	return field + ":" + value
}

func (f *Fake) find(field, value string) *Profile {
	return f.profiles[f.ids[idKey(field, value)]]
}

// index (or, with drop, unindex) a profile's identifiers.
func (f *Fake) index(p *Profile, drop bool) {
	for _, k := range []string{"email", "phone_number", "external_id"} {
		if v, _ := p.Attributes[k].(string); v != "" {
			if drop {
				delete(f.ids, idKey(k, v))
			} else {
				f.ids[idKey(k, v)] = p.ID
			}
		}
	}
}

func (f *Fake) getProfiles(w http.ResponseWriter, r *http.Request) {
	m := filterRE.FindStringSubmatch(r.URL.Query().Get("filter"))
	if m == nil {
		writeErrors(w, 400, "invalid", "Invalid input.", "Invalid filter: "+r.URL.Query().Get("filter"), "")
		return
	}
	var values []string
	if m[1] == "any" {
		if err := json.Unmarshal([]byte(m[3]), &values); err != nil || len(values) > MaxPageSize {
			writeErrors(w, 400, "invalid", "Invalid input.", "Invalid filter value: a list of at most 100 quoted values.", "")
			return
		}
	} else {
		s, err := strconv.Unquote(m[3])
		if err != nil {
			s = strings.Trim(m[3], "'")
		}
		values = []string{s}
	}
	size, cursor, ok := paging(w, r)
	if !ok {
		return
	}
	var ids []string
	for _, v := range values {
		if m[2] == "id" {
			if _, ok := f.profiles[v]; ok {
				ids = append(ids, v)
			}
		} else if p := f.find(m[2], v); p != nil {
			ids = append(ids, p.ID)
		}
	}
	sort.Strings(ids)
	fields := r.URL.Query().Get("fields[profile]")
	f.writePage(w, r, len(ids), func(i int) any { return f.resource(f.profiles[ids[i]], fields) }, size, cursor)
}

func (f *Fake) listMembers(w http.ResponseWriter, r *http.Request, list string) {
	members, ok := f.lists[list]
	if !ok {
		writeErrors(w, 404, "not_found", "Not found.", fmt.Sprintf("A list with id %s does not exist.", list), "")
		return
	}
	var body struct {
		Data []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"data"`
	}
	if !readBody(w, r, &body) {
		return
	}
	if len(body.Data) > MaxListIDs {
		writeErrors(w, 400, "invalid", "Invalid input.", fmt.Sprintf("At most %d profiles may be given per call.", MaxListIDs), "/data")
		return
	}
	for i, d := range body.Data {
		if d.Type != "profile" || d.ID == "" {
			writeErrors(w, 400, "invalid", "Invalid input.", "Each item needs type 'profile' and an id.", fmt.Sprintf("/data/%d", i))
			return
		}
		if r.Method == http.MethodPost && f.profiles[d.ID] == nil {
			writeErrors(w, 400, "invalid", "Invalid input.", fmt.Sprintf("Profile %s does not exist.", d.ID), fmt.Sprintf("/data/%d/id", i))
			return
		}
	}
	for _, d := range body.Data {
		if r.Method == http.MethodPost {
			members[d.ID] = true
		} else {
			delete(members, d.ID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fake) deletionJob(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Profile struct {
					Data struct {
						Type       string            `json:"type"`
						ID         string            `json:"id"`
						Attributes map[string]string `json:"attributes"`
					} `json:"data"`
				} `json:"profile"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if !readBody(w, r, &body) {
		return
	}
	if body.Data.Type != "data-privacy-deletion-job" {
		writeErrors(w, 400, "invalid", "Invalid input.", fmt.Sprintf("'%s' is not a valid choice for 'type'.", body.Data.Type), "/data/type")
		return
	}
	p := body.Data.Attributes.Profile.Data
	var field, value string
	n := 0
	if p.ID != "" {
		field, value, n = "id", p.ID, n+1
	}
	for _, k := range []string{"email", "phone_number"} {
		if v := p.Attributes[k]; v != "" {
			field, value, n = k, v, n+1
		}
	}
	if n != 1 {
		writeErrors(w, 400, "invalid", "Invalid input.", "Exactly one of email, phone_number or id must be provided.", "/data/attributes/profile/data")
		return
	}
	f.erased = append(f.erased, value)
	for id, prof := range f.profiles {
		v, _ := prof.Attributes[field].(string)
		if id == value && field == "id" || v != "" && strings.EqualFold(v, value) {
			f.index(prof, true)
			delete(f.profiles, id)
			for _, l := range f.lists {
				delete(l, id)
			}
		}
	}
	w.WriteHeader(http.StatusAccepted)
}
