// Package fake is a local stand-in for HubSpot's CRM API (contacts batch
// upsert and read, static list memberships, GDPR delete) that checks
// requests and answers the way HubSpot does, for tests.
package fake

import (
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
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// The fake's account.
const (
	Token         = "pat-na1-11111111-2222-3333-4444-555555555555"
	ListID        = "123" // a MANUAL contact list
	DynamicListID = "124" // a DYNAMIC list: memberships cannot be set
)

// Standard are the contact properties every HubSpot account has.
var Standard = []string{"email", "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle", "website",
	"address", "city", "state", "zip", "country", "date_of_birth", "lifecyclestage", "hs_language"}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

type contact struct {
	id    string
	props map[string]string
}

type list struct {
	name, processing string
	members          map[string]bool // contact ids
}

// Fake is the HubSpot account behind an httptest server.
type Fake struct {
	// Ledger keeps the refusals, queued failures and request count; the
	// members and erasures are read from the account itself.
	destinationstest.Ledger
	srv *httptest.Server

	mu       sync.Mutex
	props    map[string]bool
	contacts map[string]*contact // by id
	byEmail  map[string]string   // e-mail → id
	lists    map[string]*list
	blocked  map[string]bool // GDPR-deleted addresses
	erased   []string
	daily    bool
	nextID   int
	// Log holds every request as "METHOD path", for tests to read.
	Log []string
	// AllOrNothing makes a batch upsert with a failing input fail whole
	// with that input's 400, as HubSpot's batch endpoints do where
	// multi-status is not enabled, instead of answering 207.
	AllOrNothing bool
}

var _ destinationstest.Fake = (*Fake)(nil)

// New starts a fake account with the standard properties and the two
// lists; more properties come from Define. The server stops with the test.
func New(t testing.TB) *Fake {
	f := &Fake{
		props:    map[string]bool{},
		contacts: map[string]*contact{},
		byEmail:  map[string]string{},
		lists: map[string]*list{
			ListID:        {name: "Cohort audience", processing: "MANUAL", members: map[string]bool{}},
			DynamicListID: {name: "Engaged (filters)", processing: "DYNAMIC", members: map[string]bool{}},
		},
		blocked: map[string]bool{},
		nextID:  1001,
	}
	f.Define(Standard...)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Define creates custom contact properties.
func (f *Fake) Define(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		f.props[n] = true
	}
}

// URL is the base URL to put in config.endpoint.
func (f *Fake) URL() string { return f.srv.URL }

// Members is the static list: e-mail → the contact's properties (all but
// email and HubSpot's own).
func (f *Fake) Members() map[string]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]any{}
	for id := range f.lists[ListID].members {
		c := f.contacts[id]
		m := map[string]any{}
		for k, v := range c.props {
			if k != "email" && !strings.HasPrefix(k, "hs_object") && k != "createdate" && k != "lastmodifieddate" {
				m[k] = v
			}
		}
		out[c.props["email"]] = m
	}
	return out
}

// Contact is a contact's properties by e-mail, nil when there is none.
func (f *Fake) Contact(email string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.byEmail[email]; ok {
		return f.contacts[id].props
	}
	return nil
}

// Erased lists the addresses a GDPR delete was received for.
func (f *Fake) Erased() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.erased...)
}

// UseUpDailyLimit makes every data request answer 429 with the DAILY policy.
func (f *Fake) UseUpDailyLimit() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.daily = true
}

// writeError answers HubSpot's error document.
func writeError(w http.ResponseWriter, status int, category, msg string, details ...map[string]any) {
	body := map[string]any{"status": "error", "message": msg, "correlationId": correlation(), "category": category}
	if len(details) > 0 {
		body["errors"] = details
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxInputs is HubSpot's cap on inputs per CRM batch call.
const maxInputs = 100

var (
	corrMu sync.Mutex
	corr   int
)

func correlation() string {
	corrMu.Lock()
	defer corrMu.Unlock()
	corr++
	return fmt.Sprintf("aeb5f871-7f07-4993-9211-%012d", corr)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, r.Method+" "+r.URL.Path)
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Max", "100")
	h.Set("X-HubSpot-RateLimit-Remaining", "99")
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
	h.Set("X-HubSpot-RateLimit-Daily", "250000")
	h.Set("X-HubSpot-RateLimit-Daily-Remaining", "249999")
	if r.Header.Get("Authorization") != "Bearer "+Token {
		writeError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION",
			"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
		return
	}
	if r.Method != http.MethodGet {
		st := f.Request()
		if f.daily {
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "error", "message": "You have reached your daily limit.",
				"errorType": "RATE_LIMIT", "correlationId": correlation(), "policyName": "DAILY", "requestId": correlation()})
			return
		}
		if st != 0 {
			f.failure(w, st)
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			writeError(w, http.StatusUnsupportedMediaType, "VALIDATION_ERROR", "Content type '"+ct+"' not supported")
			return
		}
	}
	// The date-versioned paths behave as the v3 ones.
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/crm/objects/2026-03/"); ok {
		p = "/crm/v3/objects/" + rest
	}
	if rest, ok := strings.CutPrefix(p, "/crm/lists/2026-03/"); ok {
		p = "/crm/v3/lists/" + rest
	}
	switch {
	case r.Method == http.MethodPost && p == "/crm/v3/objects/contacts/batch/upsert":
		f.upsert(w, r)
	case r.Method == http.MethodPost && p == "/crm/v3/objects/contacts/batch/read":
		f.read(w, r)
	case r.Method == http.MethodPost && p == "/crm/v3/objects/contacts/gdpr-delete":
		f.gdprDelete(w, r)
	case r.Method == http.MethodGet && p == "/crm/v3/objects/contacts":
		writeJSON(w, http.StatusOK, map[string]any{"results": []any{}})
	case strings.HasPrefix(p, "/crm/v3/lists/"):
		f.list(w, r, strings.Split(strings.TrimPrefix(p, "/crm/v3/lists/"), "/"))
	default:
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Unable to infer object type from: "+r.URL.Path)
	}
}

func (f *Fake) failure(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, status, map[string]any{"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
			"errorType": "RATE_LIMIT", "correlationId": correlation(), "policyName": "TEN_SECONDLY_ROLLING", "requestId": correlation()})
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
		writeError(w, status, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable")
	case http.StatusUnauthorized:
		writeError(w, status, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
	case http.StatusForbidden:
		writeError(w, status, "MISSING_SCOPES", "This app hasn't been granted all required scopes to make this call.",
			map[string]any{"message": "One or more of the following scopes are required.", "context": map[string][]string{"requiredGranularScopes": {"crm.objects.contacts.write"}}})
	case http.StatusRequestEntityTooLarge:
		writeError(w, status, "VALIDATION_ERROR", "Request entity too large")
	default:
		writeError(w, status, "INTERNAL_ERROR", "internal error")
	}
}

// decode reads a JSON body into v, answering 400 as HubSpot does when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON on line 1: "+err.Error())
		return false
	}
	return true
}

type input struct {
	ID         string         `json:"id"`
	IDProperty string         `json:"idProperty"`
	TraceID    string         `json:"objectWriteTraceId"`
	Properties map[string]any `json:"properties"`
}

func (f *Fake) checkInputs(w http.ResponseWriter, inputs []input) bool {
	if len(inputs) > maxInputs {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
			fmt.Sprintf("The maximum number of inputs supported in a batch is 100, but %d were provided.", len(inputs)))
		return false
	}
	seen := map[string]bool{}
	var dups []string
	for _, in := range inputs {
		if in.IDProperty != "email" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unable to perform update/upsert by non-unique 0-1 property "+in.IDProperty)
			return false
		}
		k := strings.ToLower(in.ID)
		if seen[k] {
			dups = append(dups, in.ID)
		}
		seen[k] = true
	}
	if len(dups) > 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("Duplicate IDs found in batch input: %v. IDs must be unique", dups))
		return false
	}
	return true
}

func (f *Fake) upsert(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Inputs []input `json:"inputs"`
	}
	if !decode(w, r, &body) || !f.checkInputs(w, body.Inputs) {
		return
	}
	for _, in := range body.Inputs {
		for k, v := range in.Properties {
			if _, ok := v.(string); !ok {
				writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
					fmt.Sprintf("Invalid input JSON on line 1: Cannot deserialize value of type `java.lang.String` from %T for property %q", v, k))
				return
			}
		}
	}
	if f.AllOrNothing {
		for _, in := range body.Inputs {
			if cat, msg, details := f.refusal(in); msg != "" {
				writeError(w, http.StatusBadRequest, cat, msg, details...)
				return
			}
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var results, errs []map[string]any
	for _, in := range body.Inputs {
		email := strings.ToLower(in.ID)
		fail := func(category, msg string, details ...map[string]any) {
			e := map[string]any{"status": "error", "category": category, "message": msg, "errors": details, "links": map[string]any{},
				"context": map[string][]string{"ids": {in.ID}}}
			if in.TraceID != "" {
				e["context"] = map[string][]string{"objectWriteTraceId": {in.TraceID}}
			}
			if details == nil {
				e["errors"] = []any{}
			}
			errs = append(errs, e)
		}
		if cat, msg, details := f.refusal(in); msg != "" {
			fail(cat, msg, details...)
			continue
		}
		id, exists := f.byEmail[email]
		if !exists {
			id = strconv.Itoa(f.nextID)
			f.nextID++
			f.contacts[id] = &contact{id: id, props: map[string]string{"email": email, "hs_object_id": id, "createdate": now}}
			f.byEmail[email] = id
		}
		c := f.contacts[id]
		for k, v := range in.Properties {
			if s := v.(string); s == "" {
				delete(c.props, k)
			} else {
				c.props[k] = s
			}
		}
		c.props["lastmodifieddate"] = now
		props := map[string]string{}
		for k, v := range c.props {
			props[k] = v
		}
		results = append(results, map[string]any{"id": id, "new": !exists, "archived": false, "properties": props,
			"createdAt": c.props["createdate"], "updatedAt": now})
	}
	ans := map[string]any{"status": "COMPLETE", "results": results, "requestedAt": now, "startedAt": now, "completedAt": now}
	if results == nil {
		ans["results"] = []any{}
	}
	if len(errs) > 0 {
		ans["numErrors"], ans["errors"] = len(errs), errs
		writeJSON(w, http.StatusMultiStatus, ans)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// refusal is why HubSpot refuses an input: its category, message and
// details; "" when it takes it.
func (f *Fake) refusal(in input) (string, string, []map[string]any) {
	email := strings.ToLower(in.ID)
	if !emailRE.MatchString(email) {
		return "VALIDATION_ERROR", fmt.Sprintf("Email address %s is invalid", in.ID), nil
	}
	if f.Rejected(email) || f.blocked[email] {
		return "VALIDATION_ERROR", fmt.Sprintf("Contact %s cannot be created: the address was permanently deleted (GDPR) and is blocked", in.ID), nil
	}
	var unknown []map[string]any
	for k := range in.Properties {
		if !f.props[k] {
			unknown = append(unknown, map[string]any{"message": fmt.Sprintf("Property \"%s\" does not exist", k), "code": "PROPERTY_DOESNT_EXIST",
				"context": map[string][]string{"propertyName": {k}}})
		}
	}
	if len(unknown) > 0 {
		sort.Slice(unknown, func(i, j int) bool { return unknown[i]["message"].(string) < unknown[j]["message"].(string) })
		return "VALIDATION_ERROR", "Property values were not valid", unknown
	}
	if v, _ := in.Properties["lifecyclestage"].(string); v != "" && !slices.Contains(lifecycleStages, v) {
		return "VALIDATION_ERROR", "Property values were not valid", []map[string]any{{"message": fmt.Sprintf("%s was not one of the allowed options: %v", v, lifecycleStages),
			"code": "INVALID_OPTION", "context": map[string][]string{"propertyName": {"lifecyclestage"}}}}
	}
	return "", "", nil
}

// lifecycleStages are the options of HubSpot's lifecyclestage property.
var lifecycleStages = []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"}

func (f *Fake) read(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDProperty string   `json:"idProperty"`
		Properties []string `json:"properties"`
		Inputs     []input  `json:"inputs"`
	}
	if !decode(w, r, &body) {
		return
	}
	for i := range body.Inputs {
		body.Inputs[i].IDProperty = body.IDProperty
	}
	if !f.checkInputs(w, body.Inputs) {
		return
	}
	var results []map[string]any
	var missing []string
	for _, in := range body.Inputs {
		id, ok := f.byEmail[strings.ToLower(in.ID)]
		if !ok {
			missing = append(missing, in.ID)
			continue
		}
		props := map[string]string{"hs_object_id": id}
		for _, p := range body.Properties {
			if v, ok := f.contacts[id].props[p]; ok {
				props[p] = v
			}
		}
		results = append(results, map[string]any{"id": id, "properties": props, "archived": false})
	}
	ans := map[string]any{"status": "COMPLETE", "results": results}
	if results == nil {
		ans["results"] = []any{}
	}
	if len(missing) > 0 {
		ans["numErrors"] = 1
		ans["errors"] = []map[string]any{{"status": "error", "category": "OBJECT_NOT_FOUND",
			"message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
			"context": map[string][]string{"ids": missing}, "errors": []any{}, "links": map[string]any{}}}
		writeJSON(w, http.StatusMultiStatus, ans)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

func (f *Fake) gdprDelete(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ObjectID   string `json:"objectId"`
		IDProperty string `json:"idProperty"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.ObjectID == "" {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "objectId is required")
		return
	}
	var id, email string
	switch body.IDProperty {
	case "email":
		email = strings.ToLower(body.ObjectID)
		id = f.byEmail[email]
	case "", "hs_object_id":
		id = body.ObjectID
		c, ok := f.contacts[id]
		if !ok {
			writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found")
			return
		}
		email = c.props["email"]
	default:
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unable to perform GDPR delete by non-unique 0-1 property "+body.IDProperty)
		return
	}
	f.erased = append(f.erased, email)
	f.blocked[email] = true // HubSpot blocks the address even when it held no contact
	if id != "" {
		delete(f.contacts, id)
		delete(f.byEmail, email)
		for _, l := range f.lists {
			delete(l.members, id)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request, parts []string) {
	l, ok := f.lists[parts[0]]
	if !ok {
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", fmt.Sprintf("List does not exist with ID %s.", parts[0]))
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"list": map[string]any{"listId": parts[0], "name": l.name, "processingType": l.processing,
			"objectTypeId": "0-1", "size": len(l.members), "listVersion": 1}})
	case len(parts) == 3 && parts[1] == "memberships" && r.Method == http.MethodPut && (parts[2] == "add" || parts[2] == "remove"):
		var ids []string
		if !decode(w, r, &ids) {
			return
		}
		if l.processing != "MANUAL" && l.processing != "SNAPSHOT" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
				fmt.Sprintf("List %s has processing type %s; memberships can only be changed on MANUAL or SNAPSHOT lists.", parts[0], l.processing))
			return
		}
		done, missing := []string{}, []string{}
		for _, id := range ids {
			switch {
			case f.contacts[id] == nil:
				missing = append(missing, id)
			case parts[2] == "add" && !l.members[id]:
				l.members[id] = true
				done = append(done, id)
			case parts[2] == "remove" && l.members[id]:
				delete(l.members, id)
				done = append(done, id)
			}
		}
		if parts[2] == "add" {
			writeJSON(w, http.StatusOK, map[string]any{"recordsIdsAdded": done, "recordIdsMissing": missing})
		} else {
			writeJSON(w, http.StatusOK, map[string]any{"recordIdsRemoved": done, "recordIdsMissing": missing})
		}
	default:
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found: "+r.Method+" "+r.URL.Path)
	}
}
