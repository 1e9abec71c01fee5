// Package fake is a local stand-in for Google's Data Manager API as far as
// Customer Match goes: audienceMembers:ingest and :remove,
// requestStatus:retrieve, and the OAuth token endpoint. It checks requests
// as Google does (bearer token, destination and account, encoding, at most
// 10,000 members and 10 identifiers each, one identifier kind per entry,
// SHA-256 hex, the four parts of an address) and answers as Google does:
// a request id, the fast-fail 400 naming each bad member in BadRequest
// field violations, google.rpc.Status errors for auth, quota and outages,
// and a per-destination request status with per-reason error counts.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// Server is the fake Data Manager API for one account's list.
type Server struct {
	AccountID    string // the operating account the credentials may use
	AudienceID   string // the user list
	ClientID     string
	ClientSecret string
	RefreshToken string
	AccessToken  string // what the token endpoint hands out
	MaxMembers   int
	MaxBody      int
	// ProcessingPolls is how many status reads answer PROCESSING before
	// a request's final status.
	ProcessingPolls int

	srv *httptest.Server
	destinationstest.Ledger

	mu          sync.Mutex
	failProcess []string // reasons the next processed requests fail with
	tokens      int
	statuses    map[string]*status
	seq         int
	bodies      []map[string]any
}

type status struct {
	polls   int
	final   string
	records int
	ids     int
	remove  bool
	errors  []map[string]any
}

// New starts a fake with credentials, an account and a list.
func New() *Server {
	s := &Server{
		AccountID: "1234567890", AudienceID: "555", ClientID: "cohort-client.apps.googleusercontent.com",
		ClientSecret: "client-secret", RefreshToken: "1//refresh", AccessToken: "ya29.fake-access-token",
		MaxMembers: 10000, MaxBody: 16 << 20,
		statuses: map[string]*status{},
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
	return map[string]any{
		"operating_account_id": s.AccountID[:3] + "-" + s.AccountID[3:6] + "-" + s.AccountID[6:], "audience_id": s.AudienceID,
		"client_id": s.ClientID, "client_secret": s.ClientSecret, "refresh_token": s.RefreshToken,
		"endpoint": s.URL(), "token_endpoint": s.URL() + "/token",
	}
}

// Members (from the Ledger) holds each member under its e-mail hash (else
// its phone hash), with the identifiers it was sent; Erased lists the
// members removed: Google offers no other deletion.

// FailProcessing makes the next accepted request end FAILED with reason
// (a ProcessingErrorReason) for every member.
func (s *Server) FailProcessing(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failProcess = append(s.failProcess, reason)
}

// TokenRefreshes counts the access tokens handed out.
func (s *Server) TokenRefreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}

// Bodies are the ingest and remove bodies accepted, decoded.
func (s *Server) Bodies() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

func rpcError(w http.ResponseWriter, code int, status, msg string, details ...map[string]any) {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if len(details) > 0 {
		e["details"] = details
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

type violation struct{ field, reason, desc string }

func badRequest(w http.ResponseWriter, vs []violation) {
	fv := make([]map[string]any, len(vs))
	for i, v := range vs {
		fv[i] = map[string]any{"field": v.field, "reason": v.reason}
		if v.desc != "" {
			fv[i]["description"] = v.desc
		}
	}
	rpcError(w, 400, "INVALID_ARGUMENT", "There was a problem with the request.",
		map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INVALID_ARGUMENT", "domain": "datamanager.googleapis.com"},
		map[string]any{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": fv})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		s.token(w, r)
		return
	}
	data := r.Method == http.MethodPost && (r.URL.Path == "/v1/audienceMembers:ingest" || r.URL.Path == "/v1/audienceMembers:remove")
	body, _ := io.ReadAll(io.LimitReader(r.Body, int64(s.MaxBody)+1))
	if data {
		if st := s.Request(); st != 0 {
			s.failWith(w, st)
			return
		}
		if len(body) > s.MaxBody {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = io.WriteString(w, "<html><title>Error 413 (Request Entity Too Large)!!1</title></html>")
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+s.AccessToken {
		rpcError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	switch {
	case data:
		s.audienceMembers(w, r.URL.Path == "/v1/audienceMembers:remove", body)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/requestStatus:retrieve":
		s.status(w, r.URL.Query().Get("requestId"))
	default:
		rpcError(w, 404, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.")
	}
}

func (s *Server) failWith(w http.ResponseWriter, st int) {
	switch st {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		rpcError(w, st, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service 'datamanager.googleapis.com'.")
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
		rpcError(w, st, "UNAVAILABLE", "The service is currently unavailable.")
	case http.StatusUnauthorized:
		rpcError(w, st, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
	case http.StatusForbidden:
		rpcError(w, st, "PERMISSION_DENIED", "The caller does not have permission")
	case http.StatusRequestEntityTooLarge:
		w.WriteHeader(st)
	default:
		rpcError(w, st, "INTERNAL", "Internal error encountered.")
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("client_id") != s.ClientID || r.PostForm.Get("client_secret") != s.ClientSecret {
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"Unauthorized"}`)
		return
	}
	if r.PostForm.Get("refresh_token") != s.RefreshToken {
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Bad Request"}`)
		return
	}
	s.mu.Lock()
	s.tokens++
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": s.AccessToken, "expires_in": 3599, "token_type": "Bearer",
		"scope": "https://www.googleapis.com/auth/datamanager"})
}

var hexRe = regexp.MustCompile(`^[0-9a-fA-F]*$`)

type request struct {
	Destinations []struct {
		OperatingAccount *struct {
			AccountType string `json:"accountType"`
			AccountID   string `json:"accountId"`
		} `json:"operatingAccount"`
		LoginAccount *struct {
			AccountType string `json:"accountType"`
			AccountID   string `json:"accountId"`
		} `json:"loginAccount"`
		ProductDestinationID string `json:"productDestinationId"`
	} `json:"destinations"`
	AudienceMembers []struct {
		UserData *struct {
			UserIdentifiers []map[string]json.RawMessage `json:"userIdentifiers"`
		} `json:"userData"`
	} `json:"audienceMembers"`
	Consent *struct {
		AdUserData        string `json:"adUserData"`
		AdPersonalization string `json:"adPersonalization"`
	} `json:"consent"`
	ValidateOnly bool   `json:"validateOnly"`
	Encoding     string `json:"encoding"`
}

func hashed(field, v string) *violation {
	switch {
	case !hexRe.MatchString(v):
		return &violation{field, "INVALID_HEX_ENCODING", "Value is not hex encoded."}
	case !destinations.IsSHA256(strings.ToLower(v)):
		return &violation{field, "INVALID_SHA256_FORMAT", ""}
	}
	return nil
}

func (s *Server) audienceMembers(w http.ResponseWriter, remove bool, body []byte) {
	var req request
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		rpcError(w, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	var vs []violation
	switch {
	case len(req.Destinations) == 0:
		vs = append(vs, violation{"destinations", "REQUIRED_FIELD_MISSING", "At least one destination is required."})
	case len(req.Destinations) > 10:
		vs = append(vs, violation{"destinations", "TOO_MANY_DESTINATIONS", ""})
	}
	for i, d := range req.Destinations {
		f := fmt.Sprintf("destinations[%d]", i)
		if d.OperatingAccount == nil || d.OperatingAccount.AccountID == "" || d.OperatingAccount.AccountType == "" {
			vs = append(vs, violation{f + ".operating_account", "REQUIRED_FIELD_MISSING", ""})
			continue
		}
		if strings.Trim(d.OperatingAccount.AccountID, "0123456789") != "" {
			vs = append(vs, violation{f + ".operating_account.account_id", "INVALID_FORMAT", "The account id must be digits only."})
		}
		if d.OperatingAccount.AccountID != s.AccountID {
			rpcError(w, 403, "PERMISSION_DENIED", fmt.Sprintf("The caller does not have permission to access account %s.", d.OperatingAccount.AccountID))
			return
		}
		if d.ProductDestinationID != s.AudienceID {
			vs = append(vs, violation{f + ".product_destination_id", "INVALID_USER_LIST_ID", "The user list does not exist or is not accessible."})
		}
	}
	switch req.Encoding {
	case "HEX":
	case "":
		vs = append(vs, violation{"encoding", "REQUIRED_FIELD_MISSING", "Encoding is required for user data."})
	default:
		vs = append(vs, violation{"encoding", "INVALID_ENUM_VALUE", ""})
	}
	if remove && req.Consent != nil {
		rpcError(w, 400, "INVALID_ARGUMENT", `Invalid JSON payload received. Unknown name "consent": Cannot find field.`)
		return
	}
	switch {
	case len(req.AudienceMembers) == 0:
		vs = append(vs, violation{"audience_members", "REQUIRED_FIELD_MISSING", ""})
	case len(req.AudienceMembers) > s.MaxMembers:
		badRequest(w, []violation{{"audience_members", "TOO_MANY_AUDIENCE_MEMBERS", fmt.Sprintf("At most %d audience members per request.", s.MaxMembers)}})
		return
	}
	type parsed struct {
		key  string
		cols map[string]any
	}
	var got []parsed
	ids := 0
	s.mu.Lock()
	for i, m := range req.AudienceMembers {
		f := fmt.Sprintf("audience_members.audience_members[%d]", i)
		if m.UserData == nil || len(m.UserData.UserIdentifiers) == 0 {
			vs = append(vs, violation{f, "NO_IDENTIFIERS_PROVIDED", ""})
			continue
		}
		if len(m.UserData.UserIdentifiers) > 10 {
			vs = append(vs, violation{f + ".user_data.user_identifiers", "TOO_MANY_USER_IDENTIFIERS", ""})
			continue
		}
		cols := map[string]any{}
		bad := false
		for j, id := range m.UserData.UserIdentifiers {
			fj := fmt.Sprintf("%s.user_data.user_identifiers[%d]", f, j)
			if len(id) != 1 {
				vs, bad = append(vs, violation{fj, "INVALID_ARGUMENT", "Exactly one of email_address, phone_number or address must be set."}), true
				continue
			}
			for kind, raw := range id {
				switch kind {
				case "emailAddress", "phoneNumber":
					var v string
					_ = json.Unmarshal(raw, &v)
					if e := hashed(fj, v); e != nil {
						vs, bad = append(vs, *e), true
					}
					cols[kind] = strings.ToLower(v)
				case "address":
					var a map[string]string
					if json.Unmarshal(raw, &a) != nil {
						vs, bad = append(vs, violation{fj + ".address", "INVALID_FORMAT", ""}), true
						continue
					}
					for _, part := range []string{"givenName", "familyName", "regionCode", "postalCode"} {
						if a[part] == "" {
							vs, bad = append(vs, violation{fj + ".address." + part, "REQUIRED_FIELD_MISSING", ""}), true
						}
					}
					for _, part := range []string{"givenName", "familyName"} {
						if e := hashed(fj+".address."+part, a[part]); a[part] != "" && e != nil {
							vs, bad = append(vs, *e), true
						}
					}
					if rc := a["regionCode"]; rc != "" && (len(rc) != 2 || strings.ToUpper(rc) != rc) {
						vs, bad = append(vs, violation{fj + ".address.region_code", "INVALID_FORMAT", "Region code must be ISO-3166-1 alpha-2."}), true
					}
					if pc := a["postalCode"]; pc != "" && destinations.IsSHA256(pc) {
						vs, bad = append(vs, violation{fj + ".address.postal_code", "INVALID_POSTAL_CODE", "The postal code must not be hashed."}), true
					}
					cols["address"] = a
				default:
					vs, bad = append(vs, violation{fj, "INVALID_ARGUMENT", "Unknown identifier " + kind + "."}), true
				}
			}
		}
		if bad {
			continue
		}
		key, _ := cols["emailAddress"].(string)
		if key == "" {
			key, _ = cols["phoneNumber"].(string)
		}
		if s.Rejected(key) {
			vs = append(vs, violation{f, "INVALID_AUDIENCE_MEMBER", "The audience member was refused."})
			continue
		}
		ids += len(m.UserData.UserIdentifiers)
		got = append(got, parsed{key, cols})
	}
	s.mu.Unlock()
	if len(vs) > 0 {
		badRequest(w, vs) // fast fail: nothing of the request is taken
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if req.ValidateOnly {
		_, _ = io.WriteString(w, "{}\n")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var decoded map[string]any
	_ = json.Unmarshal(body, &decoded)
	s.bodies = append(s.bodies, decoded)
	s.seq++
	id := fmt.Sprintf("%08x-fake-4%03x-a000-%012x", s.seq*2654435761%(1<<32), s.seq%4096, s.seq)
	st := &status{polls: s.ProcessingPolls, final: "SUCCESS", records: len(got), ids: ids, remove: remove}
	if len(s.failProcess) > 0 {
		reason := s.failProcess[0]
		s.failProcess = s.failProcess[1:]
		st.final = "FAILED"
		st.errors = []map[string]any{{"recordCount": fmt.Sprint(len(got)), "reason": reason}}
	} else {
		for _, p := range got {
			if remove {
				s.Remove(p.key)
			} else {
				s.Put(p.key, p.cols)
			}
		}
	}
	s.statuses[id] = st
	_ = json.NewEncoder(w).Encode(map[string]any{"requestId": id})
}

func (s *Server) status(w http.ResponseWriter, id string) {
	s.mu.Lock()
	st, ok := s.statuses[id]
	var state string
	if ok {
		state = st.final
		if st.polls > 0 {
			st.polls--
			state = "PROCESSING"
		}
	}
	s.mu.Unlock()
	if !ok {
		badRequest(w, []violation{{"request_id", "INVALID_REQUEST_ID", "The request id is unknown."}})
		return
	}
	per := map[string]any{
		"destination":   map[string]any{"operatingAccount": map[string]any{"accountType": "GOOGLE_ADS", "accountId": s.AccountID}, "productDestinationId": s.AudienceID},
		"requestStatus": state,
	}
	counts := map[string]any{"recordCount": fmt.Sprint(st.records), "userIdentifierCount": fmt.Sprint(st.ids)}
	if st.remove {
		per["audienceMembersRemovalStatus"] = map[string]any{"userDataRemovalStatus": counts}
	} else {
		counts["uploadMatchRateRange"] = "MATCH_RATE_RANGE_51_TO_60"
		per["audienceMembersIngestionStatus"] = map[string]any{"userDataIngestionStatus": counts}
	}
	if state == "FAILED" {
		per["errorInfo"] = map[string]any{"errorCounts": st.errors}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"requestStatusPerDestination": []any{per}})
}
