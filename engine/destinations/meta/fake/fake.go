// Package fake is a local stand-in for Meta's Graph API as far as Custom
// Audiences go: the users edge (POST adds, DELETE removes) and reading the
// audience. It checks requests as Meta does (version and path, the access
// token, the form with a JSON payload, schema keys, row widths, the
// 10,000-row cap, SHA-256 hex where Meta wants hashes) and answers as Meta
// does: counts with a sample of invalid values, the Graph error envelope,
// throttling errors with usage headers.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// Server is the fake Graph API for one ad account's audience.
type Server struct {
	Token      string // the access token it accepts
	AudienceID string
	Version    string // the API version in the path, e.g. "v25.0"
	Subtype    string // the audience's kind; CUSTOM is a customer list
	MaxRows    int    // rows per request (Meta: 10,000)
	MaxBody    int    // bytes per request body before 413

	srv *httptest.Server
	destinationstest.Ledger

	mu       sync.Mutex
	flagged  bool
	sessions map[int64][]int // session id → batch_seq received
	calls    []Call
}

// Call is one users request as the fake understood it.
type Call struct {
	Method  string
	Schema  []string
	Rows    int
	Session map[string]any
}

// New starts a fake with a token and an audience id.
func New() *Server {
	s := &Server{
		Token: "meta-test-token", AudienceID: "23851234567890123", Version: "v25.0", Subtype: "CUSTOM",
		MaxRows: 10000, MaxBody: 16 << 20,
		sessions: map[int64][]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL, the destination's `endpoint`.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Config is the destination config that points at this fake.
func (s *Server) Config() map[string]any {
	return map[string]any{"access_token": s.Token, "audience_id": s.AudienceID, "api_version": s.Version, "endpoint": s.URL()}
}

// Members (from the Ledger) holds each member under its EMAIL hash (else
// PHONE hash, EXTERN_ID, MADID), with the schema keys it was sent; Erased
// lists the members removed by DELETE: Meta has no other deletion.

// Calls lists the users requests the fake accepted.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Flag marks the audience as flagged (operation_status 471): uploads are
// refused until resolved.
func (s *Server) Flag() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flagged = true
}

// hashedKeys are the schema keys Meta wants as SHA-256 hex.
var hashedKeys = map[string]bool{"EMAIL": true, "PHONE": true, "FN": true, "LN": true, "FI": true, "GEN": true,
	"DOBY": true, "DOBM": true, "DOBD": true, "CT": true, "ST": true, "ZIP": true, "COUNTRY": true}

var plainKeys = map[string]bool{"EXTERN_ID": true, "MADID": true, "LOOKALIKE_VALUE": true}

func graphError(w http.ResponseWriter, status, code, subcode int, typ, msg string, transient bool) {
	e := map[string]any{"message": msg, "type": typ, "code": code, "fbtrace_id": "AFakeTrace" + strconv.Itoa(code)}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if transient {
		e["is_transient"] = true
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != s.Version {
		graphError(w, 400, 2635, 0, "OAuthException", fmt.Sprintf("(#2635) You are calling a deprecated or unknown version of the Marketing API. Please use %s.", s.Version), false)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.MaxBody)+1))
	if err != nil {
		graphError(w, 400, 1, 0, "OAuthException", "An unknown error occurred", true)
		return
	}
	users := len(parts) == 3 && parts[2] == "users"
	if users {
		if status := s.Request(); status != 0 {
			s.failWith(w, status)
			return
		}
		if len(body) > s.MaxBody {
			graphError(w, http.StatusRequestEntityTooLarge, 1, 0, "OAuthException", "Request Entity Too Large", false)
			return
		}
	}
	form, err := params(r, body)
	if err != nil {
		graphError(w, 400, 100, 0, "OAuthException", "(#100) "+err.Error(), false)
		return
	}
	token := form.Get("access_token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") || strings.HasPrefix(h, "OAuth ") {
		token = h[strings.Index(h, " ")+1:]
	}
	switch {
	case token == "":
		graphError(w, 400, 2500, 0, "OAuthException", "An active access token must be used to query information about the current user.", false)
		return
	case token != s.Token:
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token - Cannot parse access token"`)
		graphError(w, 401, 190, 0, "OAuthException", "Invalid OAuth access token - Cannot parse access token", false)
		return
	}
	if parts[1] != s.AudienceID {
		graphError(w, 400, 100, 33, "GraphMethodException", fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", strings.ToLower(r.Method), parts[1]), false)
		return
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		s.mu.Lock()
		st := map[string]any{"code": 200, "description": "Normal"}
		if s.flagged {
			st = map[string]any{"code": 471, "description": "This audience has been flagged for possible violations of our terms."}
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": s.AudienceID, "name": "Cohort test audience", "subtype": s.Subtype, "operation_status": st})
	case users && (r.Method == http.MethodPost || r.Method == http.MethodDelete):
		s.users(w, r.Method, form)
	default:
		graphError(w, 400, 100, 0, "GraphMethodException", fmt.Sprintf("Unsupported %s request.", strings.ToLower(r.Method)), false)
	}
}

func (s *Server) failWith(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-Business-Use-Case-Usage", fmt.Sprintf(`{"%s":[{"type":"custom_audience","call_count":100,"total_cputime":12,"total_time":30,"estimated_time_to_regain_access":0}]}`, "1234567890"))
		graphError(w, status, 80003, 2446079, "OAuthException", "(#80003) There have been too many calls to this ad-account. Wait a bit and try again.", true)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
		graphError(w, status, 2, 0, "OAuthException", "An unexpected error has occurred. Please retry your request later.", true)
	case http.StatusUnauthorized:
		graphError(w, status, 190, 0, "OAuthException", "Error validating access token: Session has expired.", false)
	case http.StatusForbidden:
		graphError(w, status, 200, 0, "OAuthException", "(#200) Permissions error", false)
	case http.StatusRequestEntityTooLarge:
		graphError(w, status, 1, 0, "OAuthException", "Request Entity Too Large", false)
	default:
		graphError(w, status, 1, 0, "OAuthException", "An unknown error occurred", status >= 500)
	}
}

// params reads Graph parameters from the query and a form or JSON body.
func params(r *http.Request, body []byte) (url.Values, error) {
	v := r.URL.Query()
	if len(body) == 0 {
		return v, nil
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("the request body is not a valid form: %v", err)
		}
		for k, vs := range f {
			v[k] = vs
		}
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("the request body is not valid JSON: %v", err)
		}
		for k, raw := range m {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				v.Set(k, str)
			} else {
				v.Set(k, string(raw))
			}
		}
	default:
		return nil, fmt.Errorf("unsupported content type %q", ct)
	}
	return v, nil
}

func (s *Server) users(w http.ResponseWriter, method string, form url.Values) {
	s.mu.Lock()
	flagged := s.flagged
	s.mu.Unlock()
	if flagged {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "Invalid parameter", "type": "OAuthException",
			"code": 100, "error_subcode": 1713230, "error_user_title": "Audience Upload Blocked",
			"error_user_msg": "Before updating user memberships, you must resolve integrity restrictions on this Data File Custom Audience."}})
		return
	}
	raw := form.Get("payload")
	if raw == "" {
		graphError(w, 400, 100, 0, "OAuthException", "(#100) The parameter payload is required", false)
		return
	}
	var p struct {
		Schema json.RawMessage `json:"schema"`
		Data   []json.RawMessage
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		graphError(w, 400, 100, 0, "OAuthException", "(#100) param payload must be JSON: "+err.Error(), false)
		return
	}
	var schema []string
	var one string
	if json.Unmarshal(p.Schema, &one) == nil {
		schema = []string{one}
	} else if err := json.Unmarshal(p.Schema, &schema); err != nil || len(schema) == 0 {
		graphError(w, 400, 100, 0, "OAuthException", "(#100) Missing schema in payload", false)
		return
	}
	seen := map[string]bool{}
	for _, k := range schema {
		if !hashedKeys[k] && !plainKeys[k] || seen[k] {
			graphError(w, 400, 100, 0, "OAuthException", fmt.Sprintf("(#100) Invalid schema key %q in payload", k), false)
			return
		}
		seen[k] = true
	}
	if len(p.Data) == 0 {
		graphError(w, 400, 100, 0, "OAuthException", "(#100) Missing data in payload", false)
		return
	}
	if len(p.Data) > s.MaxRows {
		graphError(w, 400, 100, 0, "OAuthException", fmt.Sprintf("(#100) Too many users in the payload: %d (at most %d per request)", len(p.Data), s.MaxRows), false)
		return
	}
	var sess map[string]any
	if sj := form.Get("session"); sj != "" {
		if err := json.Unmarshal([]byte(sj), &sess); err != nil {
			graphError(w, 400, 100, 0, "OAuthException", "(#100) param session must be JSON", false)
			return
		}
		id, _ := sess["session_id"].(float64)
		seq, _ := sess["batch_seq"].(float64)
		if id <= 0 || seq < 1 {
			graphError(w, 400, 100, 0, "OAuthException", "(#100) session needs a positive session_id and a batch_seq from 1", false)
			return
		}
		s.mu.Lock()
		s.sessions[int64(id)] = append(s.sessions[int64(id)], int(seq))
		s.mu.Unlock()
	}
	invalid := 0
	samples := map[string]string{}
	bad := func(v, reason string) {
		invalid++
		if len(samples) < 10 {
			samples[v] = reason
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rawRow := range p.Data {
		var row []string
		if len(schema) == 1 {
			var v string
			if json.Unmarshal(rawRow, &v) == nil {
				row = []string{v}
			}
		}
		if row == nil {
			if err := json.Unmarshal(rawRow, &row); err != nil {
				bad(string(rawRow), "Row is not a list of strings")
				continue
			}
		}
		if len(row) != len(schema) {
			graphError(w, 400, 100, 0, "OAuthException", fmt.Sprintf("(#100) The number of fields in a row (%d) does not match the schema (%d)", len(row), len(schema)), false)
			return
		}
		cols := map[string]any{}
		ok := true
		for i, k := range schema {
			v := row[i]
			if v == "" {
				continue
			}
			if hashedKeys[k] && !destinations.IsSHA256(v) {
				bad(v, fmt.Sprintf("Invalid %s: the value is not a SHA-256 hash in lowercase hex", k))
				ok = false
				break
			}
			cols[k] = v
		}
		if !ok {
			continue
		}
		key := memberKey(cols)
		switch {
		case key == "":
			bad(strings.Join(row, ","), "Row has no identifier")
			continue
		case s.Rejected(key):
			bad(key, "The data for this customer is invalid")
			continue
		}
		if method == http.MethodDelete {
			s.Remove(key)
			continue
		}
		s.Put(key, cols)
	}
	s.calls = append(s.calls, Call{Method: method, Schema: schema, Rows: len(p.Data), Session: sess})
	ans := map[string]any{"audience_id": s.AudienceID, "num_received": len(p.Data), "num_invalid_entries": invalid,
		"invalid_entry_samples": samples}
	if sess != nil {
		ans["session_id"] = strconv.FormatInt(int64(sess["session_id"].(float64)), 10)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}

// memberKey is the column a member is held under in Members.
func memberKey(cols map[string]any) string {
	for _, k := range []string{"EMAIL", "PHONE", "EXTERN_ID", "MADID"} {
		if v, ok := cols[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// Sessions lists the session ids seen, sorted.
func (s *Server) Sessions() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for id := range s.sessions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
