package destinationstest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/sync"
)

// Case describes one connector for the suite.
type Case struct {
	Type string // the connector's registered type
	// Config is the destination's `config:`. The suite puts the fake's URL
	// in the key named Endpoint.
	Config   map[string]any
	Endpoint string
	Region   string // the destination's `region:`, "" for the spec's default
	// NewFake starts a fresh fake (one per scenario); the suite closes
	// nothing, so the fake should register its own t.Cleanup.
	NewFake func(t *testing.T) Fake
	// Match maps destination match keys to attributes of the test people,
	// Fields maps destination fields to them. Attributes: email, phone,
	// first_name, last_name, city, country, orders (integer), ltv (number),
	// vip (boolean), signed_up_at (timestamp).
	Match  map[string]string
	Fields map[string]string
	// Key turns a test person's e-mail into the key Fake.Members uses for
	// them (the e-mail itself, or destinations.SHA256 of it, ...). nil: the
	// e-mail.
	Key func(email string) string
	// Stored, when set, turns a field's value as sent (after coercion to the
	// Spec's type) into the value Fake.Members shows; nil: the same value
	// (numbers compare by their JSON text). Return nil to skip checking a
	// field the vendor does not hand back.
	Stored func(field string, sent any) any
	// People is how many test people a full sync sends; default 30. The
	// suite caps batches at 10 records so that several batches go out.
	People int
	// Skip names scenarios that do not apply to the vendor, with why (Slack
	// has no per-record errors: "per-record rejections"). Scenarios the
	// Spec rules out (mirror without CanDelete, erasure without CanErase)
	// are skipped without being named.
	Skip map[string]string
}

// Person is a test person.
type Person struct {
	Email, Phone, FirstName, LastName, City, Country string
	Orders                                           int64
	LTV                                              float64
	VIP                                              bool
	SignedUpAt                                       time.Time
}

// Attr is one of the person's attributes by name.
func (p Person) Attr(name string) any {
	switch name {
	case "email":
		return p.Email
	case "phone":
		return p.Phone
	case "first_name":
		return p.FirstName
	case "last_name":
		return p.LastName
	case "city":
		return p.City
	case "country":
		return p.Country
	case "orders":
		return p.Orders
	case "ltv":
		return p.LTV
	case "vip":
		return p.VIP
	case "signed_up_at":
		return p.SignedUpAt
	}
	panic("destinationstest: no person attribute " + name)
}

var firstNames = []string{"Amélie", "Jan", "Sofie", "Lucas", "Emma", "Noah", "Julia", "Daan", "Lotte", "Finn"}
var lastNames = []string{"Peeters", "de Vries", "Janssens", "Bakker", "Maes", "Visser", "Smit", "Dubois"}
var cities = []string{"Amsterdam", "Gent", "Utrecht", "Antwerpen", "Rotterdam", "Brussel"}

// People makes n deterministic test people, numbered from first.
func People(first, n int) []Person {
	out := make([]Person, n)
	for i := range out {
		k := first + i
		out[i] = Person{
			Email:      fmt.Sprintf("person%04d@cohort-test.nl", k),
			Phone:      fmt.Sprintf("+316%08d", 10000000+k),
			FirstName:  firstNames[k%len(firstNames)],
			LastName:   lastNames[k%len(lastNames)],
			City:       cities[k%len(cities)],
			Country:    []string{"NL", "BE"}[k%2],
			Orders:     int64(k % 7),
			LTV:        float64(k%50)*12.5 + 0.25,
			VIP:        k%3 == 0,
			SignedUpAt: time.Date(2024, 1, 1, 9, 30, 0, 0, time.UTC).Add(time.Duration(k) * 36 * time.Hour),
		}
	}
	return out
}

// Run runs every scenario that the connector's Spec says it supports.
func Run(t *testing.T, c Case) {
	t.Helper()
	spec, err := destinations.Lookup(c.Type)
	require.NoError(t, err)
	if c.People <= 0 {
		c.People = 30
	}
	if c.Key == nil {
		c.Key = func(e string) string { return e }
	}
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			if why, ok := c.Skip[name]; ok {
				t.Skip(why)
			}
			f(t)
		})
	}
	run("spec", func(t *testing.T) { checkSpec(t, spec, c) })
	run("full sync", func(t *testing.T) {
		h := newHarness(t, c)
		h.fullSync()
	})
	run("incremental changes", func(t *testing.T) {
		h := newHarness(t, c)
		h.fullSync()
		ppl := People(0, c.People)
		before := h.fake.Requests()
		var recs []destinations.Record
		mode := destinations.Upsert
		if !h.supports(destinations.Upsert) {
			mode = destinations.Insert
		} else {
			for i := 0; i < 3; i++ { // three people changed
				ppl[i].FirstName, ppl[i].Orders, ppl[i].LTV, ppl[i].VIP = "Changed", ppl[i].Orders+10, ppl[i].LTV+100, !ppl[i].VIP
				recs = append(recs, h.record(destinations.Update, ppl[i]))
			}
		}
		newcomers := People(c.People, 2)
		for _, p := range newcomers {
			recs = append(recs, h.record(destinations.Add, p))
		}
		st, err := h.deliver(mode, recs)
		require.NoError(t, err)
		assert.Equal(t, int64(len(recs)), st.Delivered())
		assert.Greater(t, h.fake.Requests(), before, "the changes reached the fake")
		h.expect(append(ppl, newcomers...))
	})
	if spec.CanDelete && hasMode(spec, destinations.Mirror) {
		run("mirror removals", func(t *testing.T) {
			h := newHarness(t, c)
			h.fullSync()
			ppl := People(0, c.People)
			var recs []destinations.Record
			for _, p := range ppl[:4] {
				recs = append(recs, h.record(destinations.Remove, p))
			}
			st, err := h.deliver(destinations.Mirror, recs)
			require.NoError(t, err)
			assert.Equal(t, int64(4), st.Removed)
			h.expect(ppl[4:])
		})
	}
	run("per-record rejections", func(t *testing.T) {
		h := newHarness(t, c)
		ppl := People(0, 12)
		for _, i := range []int{3, 8} {
			h.fake.Reject(c.Key(ppl[i].Email))
		}
		var recs []destinations.Record
		for _, p := range ppl {
			recs = append(recs, h.record(destinations.Add, p))
		}
		st, err := h.deliver(h.upsertMode(), recs)
		require.NoError(t, err, "a rejected record does not fail the run")
		assert.Equal(t, int64(10), st.Added)
		assert.Equal(t, int64(2), st.Rejected)
		for _, a := range h.acks {
			if a.Record.ProfileID == ppl[3].Email || a.Record.ProfileID == ppl[8].Email {
				assert.Equal(t, destinations.Rejected, a.Outcome, a.Record.ProfileID)
				assert.NotEmpty(t, a.Reason, "a rejection carries the vendor's message")
			} else {
				assert.Equal(t, destinations.Accepted, a.Outcome, "%s: %s", a.Record.ProfileID, a.Reason)
			}
		}
		kept := append(append(append([]Person(nil), ppl[:3]...), ppl[4:8]...), ppl[9:]...)
		h.expect(kept)
	})
	run("rate limits honoured", func(t *testing.T) {
		h := newHarness(t, c)
		h.fake.Fail(1, http.StatusTooManyRequests)
		start := h.clock.Now()
		st := h.fullSync()
		assert.Positive(t, st.Retried, "the fake answered 429 and the batch was sent again")
		assert.GreaterOrEqual(t, h.clock.Slept(), time.Second, "the fake's Retry-After: 1 was waited for")
		if spec.Limits.Requests > 0 && spec.Limits.Per > 0 {
			// Every write starts in its own slot of the spec's pace.
			gap := spec.Limits.Per / time.Duration(spec.Limits.Requests)
			at := h.sortedWrites()
			assert.GreaterOrEqual(t, at[len(at)-1].Sub(start), time.Duration(len(at)-1)*gap, "%d writes faster than the spec's pace", len(at))
		}
	})
	run("retries after 5xx without duplicates", func(t *testing.T) {
		h := newHarness(t, c)
		h.fake.Fail(2, http.StatusServiceUnavailable)
		h.fullSync()
		h.fake.Fail(1, http.StatusInternalServerError)
		ppl := People(0, c.People)
		var recs []destinations.Record
		mode := h.upsertMode()
		for i := 0; i < 5; i++ {
			if mode == destinations.Upsert {
				ppl[i].City = "Leiden"
				recs = append(recs, h.record(destinations.Update, ppl[i]))
			}
		}
		extra := People(c.People, 3)
		for _, p := range extra {
			recs = append(recs, h.record(destinations.Add, p))
		}
		st, err := h.deliver(mode, recs)
		require.NoError(t, err)
		assert.Equal(t, int64(len(recs)), st.Delivered())
		assert.Positive(t, st.Retried)
		h.expect(append(ppl, extra...))
	})
	if spec.CanErase {
		run("erasure", func(t *testing.T) {
			h := newHarness(t, c)
			h.fullSync()
			e, ok := h.dest.(destinations.Eraser)
			require.True(t, ok, "the spec says CanErase, so the destination must implement destinations.Eraser")
			ppl := People(0, c.People)
			var recs []destinations.Record
			for _, p := range ppl[:2] {
				recs = append(recs, h.record(destinations.Remove, p))
			}
			st, err := sync.Deliver(context.Background(), sync.Erasing(e), h.options(destinations.Mirror), from(recs), h.ack)
			require.NoError(t, err)
			assert.Equal(t, int64(2), st.Removed)
			erased := h.fake.Erased()
			for _, p := range ppl[:2] {
				assert.Contains(t, erased, c.Key(p.Email))
				assert.NotContains(t, h.fake.Members(), c.Key(p.Email), "an erased person is no longer held")
			}
		})
	}
}

func hasMode(s *destinations.Spec, m destinations.Mode) bool {
	for _, x := range s.Modes {
		if x == m {
			return true
		}
	}
	return false
}

func checkSpec(t *testing.T, s *destinations.Spec, c Case) {
	assert.NotEmpty(t, s.Title)
	assert.NotEmpty(t, s.Description)
	assert.NotEmpty(t, s.Region, "a connector states where its vendor keeps data by default")
	assert.NotEmpty(t, s.Modes)
	assert.Positive(t, s.Limits.BatchRecords, "Limits.BatchRecords")
	assert.Equal(t, s.Limits.Requests > 0, s.Limits.Per > 0, "Limits.Requests and Limits.Per go together")
	if hasMode(s, destinations.Mirror) {
		assert.True(t, s.CanDelete, "mode mirror needs CanDelete")
	}
	assert.NotEmpty(t, s.Match, "a connector lists the keys it matches people on")
	assert.NotNil(t, s.ConfigField(c.Endpoint), "the endpoint key %q is a config field", c.Endpoint)
	for _, f := range s.Config {
		if f.Secret {
			assert.Equal(t, destinations.ConfigString, f.Type, "secret %s is a string", f.Name)
		}
	}
	types := map[string]string{"email": "text", "phone": "text", "first_name": "text", "last_name": "text", "city": "text",
		"country": "text", "orders": "integer", "ltv": "number", "vip": "boolean", "signed_up_at": "timestamp"}
	mode := s.Modes[0]
	assert.Empty(t, s.CheckMapping(mode, c.Match, c.Fields, func(n string) string { return types[n] }), "the case's mapping is valid for the spec")
	assert.Empty(t, s.CheckConfig(c.Region, withEndpoint(c, "http://127.0.0.1:1")), "the case's config is valid for the spec")
}

func withEndpoint(c Case, url string) map[string]any {
	cfg := map[string]any{}
	for k, v := range c.Config {
		cfg[k] = v
	}
	cfg[c.Endpoint] = url
	return cfg
}

type harness struct {
	t     *testing.T
	c     Case
	fake  Fake
	dest  destinations.Destination
	spec  *destinations.Spec
	clock *sync.ManualClock

	mu   stdsync.Mutex
	refs map[string]string // e-mail → the destination's Ref
	acks []sync.Ack
	seen map[string]int
	at   []time.Time
}

func newHarness(t *testing.T, c Case) *harness {
	f := c.NewFake(t)
	d, spec, err := destinations.Open(c.Type, destinations.Config{Name: "conformance", Region: c.Region,
		Values: withEndpoint(c, f.URL()), HTTP: &http.Client{Timeout: 10 * time.Second}})
	require.NoError(t, err)
	return &harness{t: t, c: c, fake: f, dest: d, spec: spec, refs: map[string]string{},
		clock: sync.NewManualClock(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC))}
}

func (h *harness) supports(m destinations.Mode) bool { return hasMode(h.spec, m) }

func (h *harness) upsertMode() destinations.Mode {
	if h.supports(destinations.Upsert) {
		return destinations.Upsert
	}
	return destinations.Insert
}

// record is the change for person p, as the sync engine would build it.
func (h *harness) record(op destinations.Op, p Person) destinations.Record {
	r := destinations.Record{Op: op, ProfileID: p.Email, Key: map[string]string{}, Ref: h.refs[p.Email]}
	for k, attr := range h.c.Match {
		r.Key[k] = fmt.Sprint(stringValue(p.Attr(attr)))
	}
	if op != destinations.Remove {
		r.Fields = map[string]any{}
		for f, attr := range h.c.Fields {
			ft, err := h.spec.FieldType(f)
			require.NoError(h.t, err)
			v, err := destinations.Coerce(p.Attr(attr), ft)
			require.NoError(h.t, err)
			r.Fields[f] = v
		}
	}
	b, _ := json.Marshal([]any{op, r.Key, r.Fields})
	sum := sha256.Sum256(b)
	r.ID = hex.EncodeToString(sum[:12])
	return r
}

func stringValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339)
	}
	return v
}

func (h *harness) options(mode destinations.Mode) sync.Options {
	lim := h.spec.Limits
	lim.BatchRecords = min(lim.BatchRecords, 10)
	return sync.Options{Sync: "conformance", Segment: "conformance_segment", Mode: mode, Limits: lim, Clock: h.clock, MaxAttempts: 4,
		BeforeWrite: func(b *destinations.Batch) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.at = append(h.at, h.clock.Now())
			assert.LessOrEqual(h.t, len(b.Records), lim.BatchRecords)
			if lim.BatchBytes > 0 {
				n := 0
				for i := range b.Records {
					n += b.Records[i].Size()
				}
				assert.LessOrEqual(h.t, n, lim.BatchBytes)
			}
		}}
}

func (h *harness) ack(acks []sync.Ack) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]int{}
	}
	for _, a := range acks {
		h.acks = append(h.acks, a)
		h.seen[a.Record.ID]++
		if h.seen[a.Record.ID] > 1 {
			h.t.Errorf("record %s of %s acknowledged twice", a.Record.ID, a.Record.ProfileID)
		}
		if a.Outcome == destinations.Accepted && a.Ref != "" {
			h.refs[a.Record.ProfileID] = a.Ref
		}
	}
	return nil
}

func (h *harness) deliver(mode destinations.Mode, recs []destinations.Record) (sync.Stats, error) {
	h.acks, h.seen = nil, nil
	st, err := sync.Deliver(context.Background(), h.dest, h.options(mode), from(recs), h.ack)
	for _, a := range h.acks {
		if a.Outcome == destinations.Retry {
			h.t.Errorf("%s left pending: %s", a.Record.ProfileID, a.Reason)
		}
	}
	return st, err
}

// fullSync sends every test person as an add and checks the fake holds them.
func (h *harness) fullSync() sync.Stats {
	ppl := People(0, h.c.People)
	recs := make([]destinations.Record, len(ppl))
	for i, p := range ppl {
		recs[i] = h.record(destinations.Add, p)
	}
	st, err := h.deliver(h.upsertMode(), recs)
	require.NoError(h.t, err)
	require.Equal(h.t, int64(len(ppl)), st.Added, "every add accepted")
	h.expect(ppl)
	return st
}

// expect checks that the fake holds exactly ppl, with their fields.
func (h *harness) expect(ppl []Person) {
	h.t.Helper()
	members := h.fake.Members()
	want := make([]string, len(ppl))
	for i, p := range ppl {
		want[i] = h.c.Key(p.Email)
	}
	got := make([]string, 0, len(members))
	for k := range members {
		got = append(got, k)
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(h.t, want, got, "the people the destination holds")
	for _, p := range ppl {
		m := members[h.c.Key(p.Email)]
		for f, attr := range h.c.Fields {
			ft, _ := h.spec.FieldType(f)
			sent, err := destinations.Coerce(p.Attr(attr), ft)
			require.NoError(h.t, err)
			if h.c.Stored != nil {
				sent = h.c.Stored(f, sent)
				if sent == nil {
					continue
				}
			}
			assert.Equal(h.t, jsonText(sent), jsonText(m[f]), "%s: field %s", p.Email, f)
		}
	}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var x any
	if json.Unmarshal(b, &x) == nil {
		b, _ = json.Marshal(x)
	}
	return string(b)
}

func (h *harness) sortedWrites() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := append([]time.Time(nil), h.at...)
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	return at
}

func from(recs []destinations.Record) func() (*destinations.Record, error) {
	i := 0
	return func() (*destinations.Record, error) {
		if i == len(recs) {
			return nil, io.EOF
		}
		i++
		return &recs[i-1], nil
	}
}
