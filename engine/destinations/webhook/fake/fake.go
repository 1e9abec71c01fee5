// Package fake is a webhook receiver for tests: the reference Receiver
// behind an httptest server that can be told to fail, time out, answer 429
// with Retry-After, reject given people, or crash halfway through a batch.
package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations/webhook"
)

// Secret is the shared secret a Fake verifies signatures with.
const Secret = "fake-webhook-secret"

// Fake is a failing-on-demand webhook receiver.
type Fake struct {
	*webhook.Receiver
	srv *httptest.Server

	mu       sync.Mutex
	requests int
	fail     []int // statuses of the next failing requests
	timeouts int
	crashes  int
	rejects  map[string]bool
	batches  int
	after    int
	hook     func()
}

// AfterBatches calls f once, when the n-th batch request (counting from
// now) has been applied and before it is answered: a test kills the sender
// there, the worst moment for exactly-once delivery.
func (f *Fake) AfterBatches(n int, fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.after, f.hook = f.batches+n, fn
}

// New starts a fake; it stops when the test ends.
func New(t testing.TB) *Fake {
	f := Start()
	t.Cleanup(f.Close)
	return f
}

// Start starts a fake outside a test (a benchmark's process); Close stops it.
func Start() *Fake {
	f := &Fake{Receiver: &webhook.Receiver{Secret: Secret, Refs: true}, rejects: map[string]bool{}}
	f.Receiver.Check = func(e webhook.Event) string {
		f.mu.Lock()
		defer f.mu.Unlock()
		if k := webhook.KeyOf(e.Key); f.rejects[k] {
			return "422 invalid recipient: " + k + " is on the receiver's block list"
		}
		return ""
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// URL is where the fake listens.
func (f *Fake) URL() string { return f.srv.URL + "/hooks/cohort" }

// Requests counts the batch requests received, failed or not.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Fail makes the next n batch requests answer status (429 and 503 with
// Retry-After: 1).
func (f *Fake) Fail(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.fail = append(f.fail, status)
	}
}

// Timeout makes the next n batch requests hang until the client gives up.
func (f *Fake) Timeout(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timeouts += n
}

// CrashMidBatch makes the next n batch requests apply the first half of
// their events and then drop the connection without an answer.
func (f *Fake) CrashMidBatch(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crashes += n
}

// Recover cancels the failures, time-outs and crashes still to come.
func (f *Fake) Recover() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.timeouts, f.crashes = nil, 0, 0
}

// Reject makes the receiver refuse, from now on, every event for the person
// keyed k (webhook.KeyOf), with a reason.
func (f *Fake) Reject(k string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejects[k] = true
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if err := webhook.Verify(Secret, r.Header, body, time.Now()); err != nil {
		http.Error(w, `{"error":"`+err.Error()+`"}`, http.StatusUnauthorized)
		return
	}
	if r.Header.Get(webhook.IdempotencyHeader) == "" && !isNotice(body) {
		http.Error(w, `{"error":"missing Idempotency-Key"}`, http.StatusBadRequest)
		return
	}
	if isNotice(body) {
		_, _, _ = f.Take(body, len(body))
		w.WriteHeader(http.StatusOK)
		return
	}
	f.mu.Lock()
	f.requests++
	var status int
	timeout, crash := false, false
	switch {
	case len(f.fail) > 0:
		status, f.fail = f.fail[0], f.fail[1:]
	case f.timeouts > 0:
		f.timeouts--
		timeout = true
	case f.crashes > 0:
		f.crashes--
		crash = true
	}
	f.mu.Unlock()
	switch {
	case status != 0:
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(1))
		}
		http.Error(w, `{"error":"`+http.StatusText(status)+` (fake)"}`, status)
		return
	case timeout:
		<-r.Context().Done()
		return
	case crash:
		_, _, _ = f.Take(body, len(body)/2)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				conn.Close()
			}
		}
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.Receiver.ServeHTTP(&hooked{ResponseWriter: w, f: f}, r)
}

// hooked runs the AfterBatches hook between applying a batch and answering.
type hooked struct {
	http.ResponseWriter
	f *Fake
}

func (h *hooked) WriteHeader(status int) {
	h.f.mu.Lock()
	h.f.batches++
	var fn func()
	if h.f.hook != nil && h.f.batches == h.f.after {
		fn, h.f.hook = h.f.hook, nil
	}
	h.f.mu.Unlock()
	if fn != nil {
		fn()
	}
	h.ResponseWriter.WriteHeader(status)
}

func isNotice(body []byte) bool {
	var p struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(body, &p) == nil && p.Type == "notice"
}
