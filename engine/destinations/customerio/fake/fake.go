// Package fake is a local Customer.io Track API for tests: v2 batches of
// person identify and delete operations, the v1 manual-segment calls and
// the account-region lookup. It checks requests as Customer.io does (Basic
// auth with site id and key, 500 KB per batch and 32 KB per operation, one
// identifier per person, 300 attributes, 150-byte names, 1,000-byte
// values, 1 to 1,000 ids and a known id_type per segment call, manual
// segments only) and answers as it does (200 {}, 207 with errors naming
// batch_index, 400 with meta.error or errors[], 401, 404, 413, 429, 5xx).
package fake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// Credentials the fake accepts.
const (
	SiteID = "cio-site"
	APIKey = "cio-key"
	AppKey = "cio-app-key" // the App API's bearer key
)

// Person is a person as the workspace holds them.
type Person struct {
	ID, Email  string
	Attributes map[string]any
}

func (p *Person) key() string {
	if p.ID != "" {
		return p.ID
	}
	return p.Email
}

// Server is the fake.
type Server struct {
	srv    *httptest.Server
	region string
	// Segment is the segment Members reports ("" for every person).
	Segment string

	// Ledger keeps the erasure requests, refusals, queued failures and
	// request count; Members is the fake's own, read from the segment.
	destinationstest.Ledger

	mu      sync.Mutex
	people  []*Person
	manual  map[string]map[*Person]bool
	dynamic map[string]bool
	calls   []string
}

// New starts a workspace in region ("us" or "eu") with the given manual
// segments; Members reports the first.
func New(region string, segments ...string) *Server {
	s := &Server{region: region, manual: map[string]map[*Person]bool{}, dynamic: map[string]bool{}}
	for _, id := range segments {
		s.manual[id] = map[*Person]bool{}
	}
	if len(segments) > 0 {
		s.Segment = segments[0]
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddDynamic adds a data-driven segment, which the API may not change.
func (s *Server) AddDynamic(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dynamic[id] = true
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the base URL, for the endpoint config.
func (s *Server) URL() string { return s.srv.URL }

// People is every person held.
func (s *Server) People() []Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Person, len(s.people))
	for i, p := range s.people {
		out[i] = *p
	}
	return out
}

// Calls lists the data requests taken, as "METHOD path?query".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Members are the people in Segment, by id (else e-mail), with their attributes.
func (s *Server) Members() map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for _, p := range s.people {
		if s.Segment == "" || s.manual[s.Segment][p] {
			attrs := map[string]any{}
			for k, v := range p.Attributes {
				attrs[k] = v
			}
			out[p.key()] = attrs
		}
	}
	return out
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func meta(m string) map[string]any { return map[string]any{"meta": map[string]any{"error": m}} }

type opError struct {
	BatchIndex *int   `json:"batch_index,omitempty"`
	Reason     string `json:"reason"`
	Field      string `json:"field,omitempty"`
	Message    string `json:"message"`
}

const (
	maxBatch = 500 << 10
	maxOp    = 32 << 10
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(SiteID+":"+APIKey))
	if r.URL.Path == "/api/v1/accounts/region" && r.Method == http.MethodGet {
		if r.Header.Get("Authorization") != auth {
			reply(w, http.StatusUnauthorized, meta("Unauthorized request"))
			return
		}
		host := map[string]string{"us": "https://track.customer.io", "eu": "https://track-eu.customer.io"}[s.region]
		reply(w, http.StatusOK, map[string]any{"url": host, "region": s.region, "environment_id": 1})
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/segments/"); ok && r.Method == http.MethodGet {
		s.appSegment(w, r, id)
		return
	}
	segment, call, isSegment := segmentPath(r.URL.Path)
	if r.URL.Path != "/api/v2/batch" && !isSegment {
		reply(w, http.StatusNotFound, meta("not found"))
		return
	}
	if r.Method != http.MethodPost {
		reply(w, http.StatusMethodNotAllowed, meta("method not allowed"))
		return
	}
	if st := s.Request(); st != 0 {
		if st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		reply(w, st, meta(http.StatusText(st)))
		return
	}
	if r.Header.Get("Authorization") != auth {
		reply(w, http.StatusUnauthorized, meta("Unauthorized request"))
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		reply(w, http.StatusBadRequest, meta("Content-Type must be application/json"))
		return
	}
	data, _ := io.ReadAll(io.LimitReader(r.Body, maxBatch+1))
	if len(data) > maxBatch {
		reply(w, http.StatusRequestEntityTooLarge, map[string]any{"errors": []opError{{Reason: "too_large", Message: "batch requests must be smaller than 500kb"}}})
		return
	}
	s.calls = append(s.calls, r.Method+" "+r.URL.RequestURI())
	if isSegment {
		s.segmentCall(w, r, segment, call, data)
		return
	}
	var body struct {
		Batch []json.RawMessage `json:"batch"`
	}
	if err := json.Unmarshal(data, &body); err != nil || body.Batch == nil {
		reply(w, http.StatusBadRequest, map[string]any{"errors": []opError{{Reason: "invalid", Field: "batch", Message: "the body must be an object with a batch array"}}})
		return
	}
	var errs []opError
	for i, raw := range body.Batch {
		if f, m := s.operation(raw); m != "" {
			i := i
			errs = append(errs, opError{BatchIndex: &i, Reason: "invalid", Field: f, Message: m})
		}
	}
	if len(errs) > 0 {
		reply(w, http.StatusMultiStatus, map[string]any{"errors": errs})
		return
	}
	reply(w, http.StatusOK, map[string]any{})
}

func segmentPath(p string) (id, call string, ok bool) {
	rest, found := strings.CutPrefix(p, "/api/v1/segments/")
	if !found {
		return "", "", false
	}
	id, call, found = strings.Cut(rest, "/")
	return id, call, found && (call == "add_customers" || call == "remove_customers")
}

// operation applies one v2 operation, or says which field is wrong and why.
func (s *Server) operation(raw json.RawMessage) (field, msg string) {
	if len(raw) > maxOp {
		return "", "each request in a batch must be 32kb or smaller"
	}
	var op struct {
		Type        string         `json:"type"`
		Identifiers map[string]any `json:"identifiers"`
		Action      string         `json:"action"`
		Attributes  map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal(raw, &op); err != nil {
		return "", "invalid JSON: " + err.Error()
	}
	if op.Type != "person" {
		return "type", fmt.Sprintf("type %q is not supported by this fake (person only)", op.Type)
	}
	if len(op.Identifiers) != 1 {
		return "identifiers", "identifiers must hold exactly one of id, email or cio_id"
	}
	var kind, value string
	for k, v := range op.Identifiers {
		kind, _ = k, v
		value, _ = v.(string)
	}
	if kind != "id" && kind != "email" && kind != "cio_id" || value == "" {
		return "identifiers", "identifiers must hold exactly one of id, email or cio_id, as a non-empty string"
	}
	if kind == "email" && !strings.Contains(value, "@") {
		return "identifiers.email", "email is not a valid email address"
	}
	if s.Rejected(value) {
		return "identifiers." + kind, "this identifier is suppressed in the workspace"
	}
	p := s.find(kind, value)
	switch op.Action {
	case "identify":
		if len(op.Attributes) > 300 {
			return "attributes", "cannot identify more than 300 attributes in one request"
		}
		for k, v := range op.Attributes {
			if len(k) > 150 {
				return "attributes", "attribute name cannot be longer than 150 bytes"
			}
			text, isStr := v.(string)
			if !isStr {
				b, _ := json.Marshal(v)
				text = string(b)
			}
			if len(text) > 1000 {
				return "attributes." + k, fmt.Sprintf("value for attribute '%s' cannot be longer than 1000 bytes", k)
			}
		}
		if p == nil {
			p = &Person{Attributes: map[string]any{}}
			if kind == "id" {
				p.ID = value
			} else {
				p.Email = value
			}
			s.people = append(s.people, p)
		}
		for k, v := range op.Attributes {
			if v == nil || v == "" {
				delete(p.Attributes, k)
				continue
			}
			p.Attributes[k] = v
			if k == "email" {
				p.Email, _ = v.(string)
			}
		}
	case "delete":
		s.Remove(value) // the Ledger's record of the request; the person is dropped below
		if p != nil {
			s.drop(p)
		}
	default:
		return "action", fmt.Sprintf("action %q is not supported by this fake (identify, delete)", op.Action)
	}
	return "", ""
}

func (s *Server) find(kind, value string) *Person {
	for _, p := range s.people {
		if kind == "id" && p.ID == value || kind == "email" && p.Email == value {
			return p
		}
	}
	return nil
}

func (s *Server) drop(p *Person) {
	for _, m := range s.manual {
		delete(m, p)
	}
	for i, x := range s.people {
		if x == p {
			s.people = append(s.people[:i], s.people[i+1:]...)
			return
		}
	}
}

// appSegment answers the App API's GET /v1/segments/{id}.
func (s *Server) appSegment(w http.ResponseWriter, r *http.Request, id string) {
	if r.Header.Get("Authorization") != "Bearer "+AppKey {
		reply(w, http.StatusUnauthorized, meta("Unauthorized"))
		return
	}
	typ := "manual"
	if _, ok := s.manual[id]; !ok {
		if !s.dynamic[id] {
			reply(w, http.StatusNotFound, meta("segment not found"))
			return
		}
		typ = "dynamic"
	}
	reply(w, http.StatusOK, map[string]any{"segment": map[string]any{"id": id, "name": "Segment " + id, "type": typ, "state": "finished"}})
}

func (s *Server) segmentCall(w http.ResponseWriter, r *http.Request, segment, call string, data []byte) {
	if s.dynamic[segment] {
		reply(w, http.StatusBadRequest, meta(fmt.Sprintf("segment %s is data-driven; only manual segments can be changed through the API", segment)))
		return
	}
	members, ok := s.manual[segment]
	if !ok {
		reply(w, http.StatusNotFound, meta(fmt.Sprintf("segment %s not found; it must exist and be a manual segment", segment)))
		return
	}
	idType := r.URL.Query().Get("id_type")
	if idType == "" {
		idType = "id"
	}
	if idType != "id" && idType != "email" && idType != "cio_id" {
		reply(w, http.StatusBadRequest, meta("id_type must be one of id, email, cio_id"))
		return
	}
	var body struct {
		IDs []any `json:"ids"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		reply(w, http.StatusBadRequest, meta("invalid JSON: "+err.Error()))
		return
	}
	if len(body.IDs) < 1 || len(body.IDs) > 1000 {
		reply(w, http.StatusBadRequest, meta("ids must contain between 1 and 1000 values"))
		return
	}
	for _, v := range body.IDs {
		id, _ := v.(string)
		p := s.find(idType, id)
		if p == nil {
			continue // a value that matches nobody of that id_type is ignored
		}
		if call == "add_customers" {
			members[p] = true
		} else {
			delete(members, p)
		}
	}
	reply(w, http.StatusOK, map[string]any{})
}
