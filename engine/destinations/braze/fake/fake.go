// Package fake is a local Braze REST API for tests: /users/track and
// /users/delete on one dashboard instance, checking requests as Braze does
// (Bearer key of this instance with the endpoint's permission, JSON body,
// 75 objects per array, one identifier per object, 50 ids and one
// identifier kind per delete, prioritization for e-mail and phone) and
// answering as Braze does (201 with message "success" and errors[] naming
// input_array and index, 400 when nothing was valid, 401 for a key of
// another instance, 403 Access Denied, 413, 429, 5xx, X-RateLimit-*
// headers).
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// APIKey is a key of the fake's own instance with every permission.
const APIKey = "braze-test-key"

// identifiers of an attributes object; they are not attributes.
var identifiers = map[string]bool{"external_id": true, "user_alias": true, "braze_id": true, "email": true, "phone": true}

// User is a profile as the fake holds it.
type User struct {
	ExternalID, Email, Phone string
	Attributes               map[string]any
	Groups                   map[string]string // subscription group id → subscribed/unsubscribed
	updated                  int
}

type key struct {
	instance string
	perms    map[string]bool
}

// Server is the fake.
type Server struct {
	srv      *httptest.Server
	instance string
	// MaxObjects is the cap of each array of /users/track (75; 50 on the
	// MAU CY 24-25 packages).
	MaxObjects int
	// MembershipPrefix marks the membership attributes Members looks at.
	MembershipPrefix string
	// ResetOnly makes a 429 carry only Braze's documented signal,
	// X-RateLimit-Reset this far ahead, and no Retry-After.
	ResetOnly time.Duration

	// Ledger keeps the erasure requests, refusals, queued failures and
	// request count; Members is the fake's own, read from the profiles.
	destinationstest.Ledger

	mu     sync.Mutex
	keys   map[string]key
	users  []*User
	seq    int
	bodies []map[string]any
}

// New starts a fake of the given instance ("eu-01"), knowing APIKey.
func New(instance string) *Server {
	s := &Server{instance: instance, MaxObjects: 75, MembershipPrefix: "cohort_",
		keys: map[string]key{}}
	s.AddKey(APIKey, instance, "users.track", "users.delete")
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddKey makes a key known, belonging to a workspace on instance, with the
// given permissions (users.track, users.delete).
func (s *Server) AddKey(k, instance string, perms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := map[string]bool{}
	for _, x := range perms {
		p[x] = true
	}
	s.keys[k] = key{instance, p}
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the base URL, for the endpoint config.
func (s *Server) URL() string { return s.srv.URL }

// Users is every profile held, in creation order.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = *u
	}
	return out
}

// Bodies are the decoded bodies of the /users/track requests taken.
func (s *Server) Bodies() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

func (u *User) key() string {
	switch {
	case u.ExternalID != "":
		return u.ExternalID
	case u.Email != "":
		return u.Email
	}
	return u.Phone
}

// Members are the profiles with a membership attribute set to true, by
// external id (else e-mail, else phone), with their other attributes.
func (s *Server) Members() map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for _, u := range s.users {
		member := false
		fields := map[string]any{}
		for k, v := range u.Attributes {
			if strings.HasPrefix(k, s.MembershipPrefix) {
				member = member || v == true
				continue
			}
			fields[k] = v
		}
		if member {
			out[u.key()] = fields
		}
	}
	return out
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func msg(m string) map[string]any { return map[string]any{"message": m} }

const maxBody = 4 << 20 // Braze refuses payloads over 4 MB with 413

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	perm := map[string]string{"/users/track": "users.track", "/users/delete": "users.delete"}[r.URL.Path]
	if perm == "" {
		reply(w, http.StatusNotFound, msg("Not Found"))
		return
	}
	if r.Method != http.MethodPost {
		reply(w, http.StatusMethodNotAllowed, msg("Method Not Allowed"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.Request()
	h := w.Header()
	h.Set("X-RateLimit-Limit", "3000")
	h.Set("X-RateLimit-Remaining", "2999")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(3*time.Second).Unix(), 10))
	if st != 0 {
		switch {
		case st == http.StatusTooManyRequests && s.ResetOnly > 0:
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(s.ResetOnly).Unix(), 10))
		case st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable:
			h.Set("Retry-After", "1")
		}
		m := map[int]string{429: "Rate Limited", 413: "Request Entity Too Large"}[st]
		if m == "" {
			m = "Internal Server Error"
		}
		reply(w, st, msg(m))
		return
	}
	k, ok := s.keys[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || k.instance != s.instance {
		reply(w, http.StatusUnauthorized, msg("Invalid API Key"))
		return
	}
	if !k.perms[perm] {
		reply(w, http.StatusForbidden, msg("Access Denied"))
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		reply(w, http.StatusBadRequest, msg("Content-Type must be application/json"))
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		reply(w, http.StatusBadRequest, msg("could not read the body"))
		return
	}
	if len(data) > maxBody {
		reply(w, http.StatusRequestEntityTooLarge, msg("Request Entity Too Large"))
		return
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		reply(w, http.StatusBadRequest, msg("Invalid JSON: "+err.Error()))
		return
	}
	if perm == "users.track" {
		s.track(w, body)
	} else {
		s.delete(w, body)
	}
}

type trackError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
}

func (s *Server) track(w http.ResponseWriter, body map[string]any) {
	total := 0
	for _, arr := range []string{"attributes", "events", "purchases"} {
		list, _ := body[arr].([]any)
		if len(list) > s.MaxObjects {
			reply(w, http.StatusBadRequest, msg("Max Input Length Exceeded"))
			return
		}
		total += len(list)
	}
	if total == 0 {
		reply(w, http.StatusBadRequest, msg("Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."))
		return
	}
	s.bodies = append(s.bodies, body)
	attrs, _ := body["attributes"].([]any)
	var errs []trackError
	for i, a := range attrs {
		obj, _ := a.(map[string]any)
		if reason := s.apply(obj); reason != "" {
			errs = append(errs, trackError{reason, "attributes", i})
		}
	}
	if len(errs) == total {
		reply(w, http.StatusBadRequest, map[string]any{
			"message": "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.", "errors": errs})
		return
	}
	out := map[string]any{"message": "success", "attributes_processed": len(attrs) - len(errs)}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	reply(w, http.StatusCreated, out)
}

func str(v any) string { s, _ := v.(string); return s }

// apply takes one attributes object, or says why not.
func (s *Server) apply(obj map[string]any) string {
	if obj == nil {
		return "attributes must be objects"
	}
	ext, email, phone := str(obj["external_id"]), str(obj["email"]), str(obj["phone"])
	if ext == "" && email == "" && phone == "" && obj["user_alias"] == nil && obj["braze_id"] == nil {
		return "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
	}
	switch {
	case ext != "" && s.Rejected(ext):
		return "provided external_id is blacklisted and disallowed"
	case email != "" && s.Rejected(email):
		return "email address is blocklisted"
	case phone != "" && s.Rejected(phone):
		return "phone number is blocklisted"
	}
	if email != "" && !strings.Contains(email, "@") {
		return "Invalid 'email' field"
	}
	for k, v := range obj {
		if strings.HasPrefix(k, "$") {
			return fmt.Sprintf("custom attribute %q may not start with $", k)
		}
		if k == "subscription_groups" {
			gs, _ := v.([]any)
			for _, g := range gs {
				gm, _ := g.(map[string]any)
				if str(gm["subscription_group_id"]) == "" {
					return "subscription_group_id is required"
				}
				if st := str(gm["subscription_state"]); st != "subscribed" && st != "unsubscribed" {
					return "subscription_state must be 'subscribed' or 'unsubscribed'"
				}
			}
		}
	}
	existingOnly, _ := obj["_update_existing_only"].(bool)
	var u *User
	switch {
	case ext != "":
		u = s.find(func(u *User) bool { return u.ExternalID == ext })
	case email != "":
		u = s.find(func(u *User) bool { return u.Email == email })
	default:
		u = s.find(func(u *User) bool { return phone != "" && u.Phone == phone })
	}
	if u == nil {
		if existingOnly {
			return "" // Braze skips an unknown user without an error
		}
		u = &User{ExternalID: ext, Attributes: map[string]any{}, Groups: map[string]string{}}
		s.users = append(s.users, u)
	}
	s.seq++
	u.updated = s.seq
	if email != "" {
		u.Email = email
	}
	if phone != "" {
		u.Phone = phone
	}
	for k, v := range obj {
		switch {
		case identifiers[k] || k == "_update_existing_only":
		case k == "subscription_groups":
			gs, _ := v.([]any)
			for _, g := range gs {
				gm := g.(map[string]any)
				u.Groups[str(gm["subscription_group_id"])] = str(gm["subscription_state"])
			}
		case v == nil:
			delete(u.Attributes, k) // null removes the attribute
		case k == "country" && len(str(v)) != 2:
			u.Attributes[k] = nil // Braze stores an invalid country as empty
		default:
			u.Attributes[k] = v
		}
	}
	return ""
}

// find is the most recently updated user matching, preferring one with an
// external id, as Braze picks among profiles sharing an e-mail or phone.
func (s *Server) find(match func(*User) bool) *User {
	var best *User
	for _, u := range s.users {
		if !match(u) {
			continue
		}
		if best == nil || better(u, best) {
			best = u
		}
	}
	return best
}

func better(u, than *User) bool {
	if (u.ExternalID != "") != (than.ExternalID != "") {
		return u.ExternalID != ""
	}
	return u.updated > than.updated
}

var deleteKinds = []string{"external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers"}

func (s *Server) delete(w http.ResponseWriter, body map[string]any) {
	var kind string
	for _, k := range deleteKinds {
		if _, ok := body[k]; ok {
			if kind != "" {
				reply(w, http.StatusBadRequest, msg("only one of "+strings.Join(deleteKinds, ", ")+" may be given per request"))
				return
			}
			kind = k
		}
	}
	list, _ := body[kind].([]any)
	if kind == "" || len(list) == 0 {
		reply(w, http.StatusBadRequest, msg("one of "+strings.Join(deleteKinds, ", ")+" is required"))
		return
	}
	if len(list) > 50 {
		reply(w, http.StatusBadRequest, msg("The max number of ids per request was exceeded"))
		return
	}
	type target struct {
		value string
		prio  []string
		match func(*User) bool
	}
	var targets []target
	for _, item := range list {
		switch kind {
		case "external_ids":
			id := str(item)
			targets = append(targets, target{id, nil, func(u *User) bool { return u.ExternalID == id }})
		case "email_addresses", "phone_numbers":
			m, _ := item.(map[string]any)
			field := map[string]string{"email_addresses": "email", "phone_numbers": "phone"}[kind]
			v := str(m[field])
			var prio []string
			ps, _ := m["prioritization"].([]any)
			for _, p := range ps {
				if p := str(p); p == "identified" || p == "unidentified" || p == "most_recently_updated" {
					prio = append(prio, p)
				} else {
					reply(w, http.StatusBadRequest, msg(fmt.Sprintf("invalid prioritization %q", p)))
					return
				}
			}
			if v == "" || len(prio) == 0 {
				reply(w, http.StatusBadRequest, msg(kind+" entries need "+field+" and a prioritization array"))
				return
			}
			targets = append(targets, target{v, prio, func(u *User) bool {
				return field == "email" && u.Email == v || field == "phone" && u.Phone == v
			}})
		default:
			reply(w, http.StatusBadRequest, msg(kind+" is not supported by this fake"))
			return
		}
	}
	deleted := 0
	for _, t := range targets {
		s.Remove(t.value) // the Ledger's record of the request; the profiles are below
		var hits []*User
		for _, u := range s.users {
			if t.match(u) {
				hits = append(hits, u)
			}
		}
		hits = prioritize(hits, t.prio)
		if len(hits) != 1 && t.prio != nil {
			continue // more than one profile still matches: Braze deletes none
		}
		for _, h := range hits {
			s.remove(h)
			deleted++
		}
	}
	reply(w, http.StatusCreated, map[string]any{"message": "success", "deleted": deleted})
}

func prioritize(us []*User, prio []string) []*User {
	for _, p := range prio {
		if len(us) <= 1 {
			break
		}
		var keep []*User
		switch p {
		case "identified", "unidentified":
			for _, u := range us {
				if (u.ExternalID != "") == (p == "identified") {
					keep = append(keep, u)
				}
			}
		case "most_recently_updated":
			sort.Slice(us, func(i, j int) bool { return us[i].updated > us[j].updated })
			keep = us[:1]
		}
		if len(keep) > 0 {
			us = keep
		}
	}
	return us
}

func (s *Server) remove(u *User) {
	for i, x := range s.users {
		if x == u {
			s.users = append(s.users[:i], s.users[i+1:]...)
			return
		}
	}
}
