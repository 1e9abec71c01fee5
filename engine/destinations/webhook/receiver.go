package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Receiver is a reference receiver of Cohort's webhook: it verifies each
// request's signature and timestamp, applies every event once (a repeat of
// an event id is acknowledged and counted, not applied again) and keeps the
// audience in memory. `cohort webhook-receiver` serves one for the demo, the
// fake in ./fake wraps one, and it shows a receiver's author what to do.
type Receiver struct {
	Secret string
	Now    func() time.Time // nil: time.Now
	// Refs makes the receiver answer every added person with an id of its
	// own (kept by Cohort and sent back as the event's ref).
	Refs bool
	// Check, when set, may refuse an event before it is applied; it returns
	// the reason, or "".
	Check func(e Event) string

	mu      sync.Mutex
	members map[string]map[string]any
	applied map[string]bool
	erased  []string
	counts  Counts
}

// Counts is what a receiver has seen.
type Counts struct {
	Batches    int `json:"batches"`
	Events     int `json:"events"`     // received, repeats included
	Duplicates int `json:"duplicates"` // events whose id was applied before
	Added      int `json:"added"`
	Updated    int `json:"updated"`
	Removed    int `json:"removed"`
	Erased     int `json:"erased"`
	Rejected   int `json:"rejected"`
	Notices    int `json:"notices"`
	Refused    int `json:"refused"` // requests with a bad signature or body
}

// KeyOf is the text a receiver keys a person by: the values of the sync's
// match keys, in key order, joined by "|".
func KeyOf(k map[string]string) string {
	names := make([]string, 0, len(k))
	for n := range k {
		names = append(names, n)
	}
	sort.Strings(names)
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = k[n]
	}
	return strings.Join(vals, "|")
}

func (r *Receiver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// ServeHTTP takes one signed POST.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, `{"error":"POST only"}`, http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 8<<20))
	if err != nil {
		http.Error(w, `{"error":"reading the body"}`, http.StatusBadRequest)
		return
	}
	if err := Verify(r.Secret, req.Header, body, r.now()); err != nil {
		r.mu.Lock()
		r.counts.Refused++
		r.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
		return
	}
	ans, status, err := r.Take(body, len(body))
	if err != nil {
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// Take applies the first n bytes' worth of a verified body's events: all of
// them when n is the body's length (a fake crashing mid-batch passes less).
func (r *Receiver) Take(body []byte, n int) (any, int, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		r.mu.Lock()
		r.counts.Refused++
		r.mu.Unlock()
		return nil, http.StatusBadRequest, fmt.Errorf("body is not JSON: %v", err)
	}
	if probe.Type == "notice" {
		r.mu.Lock()
		r.counts.Notices++
		r.mu.Unlock()
		return map[string]any{}, http.StatusOK, nil
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil || p.Batch == "" {
		r.mu.Lock()
		r.counts.Refused++
		r.mu.Unlock()
		return nil, http.StatusBadRequest, fmt.Errorf("body is not a Cohort batch: %v", err)
	}
	events := p.Events
	if n < len(body) {
		events = events[:len(events)*n/len(body)]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members == nil {
		r.members, r.applied = map[string]map[string]any{}, map[string]bool{}
	}
	r.counts.Batches++
	var ans Answer
	for _, e := range events {
		r.counts.Events++
		key := KeyOf(e.Key)
		if r.applied[e.ID] {
			r.counts.Duplicates++
			if r.Refs && e.Type != "remove" && e.Type != "erase" {
				ans.Results = append(ans.Results, EventResult{ID: e.ID, Status: "accepted", Ref: ref(key)})
			}
			continue
		}
		if r.Check != nil {
			if why := r.Check(e); why != "" {
				r.counts.Rejected++
				ans.Results = append(ans.Results, EventResult{ID: e.ID, Status: "rejected", Reason: why})
				continue
			}
		}
		r.applied[e.ID] = true
		switch e.Type {
		case "add", "update":
			if e.Type == "add" {
				r.counts.Added++
			} else {
				r.counts.Updated++
			}
			f := make(map[string]any, len(e.Fields))
			for k, v := range e.Fields {
				f[k] = v
			}
			r.members[key] = f
			if r.Refs {
				ans.Results = append(ans.Results, EventResult{ID: e.ID, Status: "accepted", Ref: ref(key)})
			}
		case "remove":
			r.counts.Removed++
			delete(r.members, key)
		case "erase":
			r.counts.Erased++
			delete(r.members, key)
			r.erased = append(r.erased, key)
		}
	}
	return ans, http.StatusOK, nil
}

func ref(key string) string {
	h := sha256.Sum256([]byte(key))
	return "wh_" + hex.EncodeToString(h[:6])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Members is the audience as the receiver holds it: key → fields.
func (r *Receiver) Members() map[string]map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]map[string]any, len(r.members))
	for k, v := range r.members {
		out[k] = v
	}
	return out
}

// Erased lists the keys erased so far.
func (r *Receiver) Erased() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.erased...)
}

// Counts is what the receiver has seen so far.
func (r *Receiver) Counts() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts
}

// Applied reports whether the event id was applied.
func (r *Receiver) Applied(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied[id]
}
