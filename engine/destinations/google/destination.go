package google

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

type destination struct {
	c   *client
	log *slog.Logger

	mu      sync.Mutex
	pending []pendingRequest // requests Google was still processing when last asked
}

type pendingRequest struct {
	id      string
	members int
}

// pollPending is how many earlier requests each Write asks about.
const pollPending = 3

// Open makes a Google Customer Match destination from its config.
func Open(cfg destinations.Config) (destinations.Destination, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &destination{c: c, log: slog.Default()}, nil
}

// Write ingests (or removes, for a batch of removals) the batch's people.
// People Google would refuse are rejected here with the reason and never
// sent. Google fails a request whole when one member is malformed and
// names the members: those are rejected with Google's reason and the
// others retried. Google then processes the request in the background;
// its status is read once, without waiting, and a request already known
// to have failed is reported on its records.
func (d *destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	var members []Member
	var idx []int
	for i := range b.Records {
		m, err := MemberOf(&b.Records[i])
		if err != nil {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: err.Error()}
			continue
		}
		members = append(members, m)
		idx = append(idx, i)
	}
	if len(members) == 0 {
		return res, nil
	}
	id, bad, err := d.c.send(ctx, b.Removals(), members, false)
	if err != nil {
		if len(bad) == 0 {
			return destinations.Result{}, err
		}
		for j, i := range idx {
			if reason, ok := bad[j]; ok {
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: "Google: " + reason}
			} else {
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry,
					Reason: "not taken: Google refuses a whole request when one member is invalid"}
			}
		}
		return res, nil
	}
	d.poll(ctx, pollPending)
	st, err := d.c.status(ctx, id)
	if err != nil {
		// The members were taken; the status is only news about them.
		d.log.Warn("google_customer_match: reading the request status", "request_id", id, "err", err)
		d.remember(id, len(members))
		return res, nil
	}
	switch st.RequestStatus {
	case "FAILED":
		outcome := destinations.Rejected
		if st.transient() {
			outcome = destinations.Retry
		}
		for _, i := range idx {
			res.Records[i] = destinations.RecordResult{Outcome: outcome, Reason: "Google: request " + id + " failed: " + st.errors()}
		}
	case "SUCCESS":
	default:
		d.report(id, len(members), st)
	}
	return res, nil
}

func (d *destination) remember(id string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending = append(d.pending, pendingRequest{id, n})
}

// poll asks, without waiting, about the oldest requests (at most max, all
// when max < 0) Google was still processing, and logs what became of them:
// their members were already acknowledged, so a failure found now is news
// for the operator.
func (d *destination) poll(ctx context.Context, max int) {
	d.mu.Lock()
	n := len(d.pending)
	if max >= 0 {
		n = min(n, max)
	}
	ask := append([]pendingRequest(nil), d.pending[:n]...)
	d.pending = d.pending[n:]
	d.mu.Unlock()
	for _, p := range ask {
		st, err := d.c.status(ctx, p.id)
		if err != nil {
			d.remember(p.id, p.members)
			continue
		}
		d.report(p.id, p.members, st)
	}
}

// report logs a request's status; one still processing is asked about again.
func (d *destination) report(id string, members int, st *memberStatus) {
	switch st.RequestStatus {
	case "SUCCESS":
		d.log.Info("google_customer_match: request processed", "request_id", id, "members", members)
	case "FAILED", "PARTIAL_SUCCESS":
		d.log.Warn("google_customer_match: Google could not process members of an acknowledged request and does not say which",
			"request_id", id, "members", members, "status", st.RequestStatus, "errors", st.errors())
	default:
		d.remember(id, members)
	}
}

// Close asks once more about every request still processing, so that a
// run ends with what Google has said about them in the log.
func (d *destination) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.poll(ctx, -1)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.pending {
		d.log.Info("google_customer_match: request still processing at the end of the run", "request_id", p.id, "members", p.members)
	}
	d.pending = nil
	return nil
}

// Erase removes people from the list: Google keeps nothing else a caller
// can delete.
func (d *destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return d.Write(ctx, destinations.AsRemovals(b))
}

// Check sends a validate-only ingest of one made-up member: Google checks
// the credentials, the accounts and the list and executes nothing.
func (d *destination) Check(ctx context.Context) error {
	m, _ := MemberOf(&destinations.Record{Key: map[string]string{"email": "cohort-check@example.com"}})
	if _, _, err := d.c.send(ctx, false, []Member{m}, true); err != nil {
		return fmt.Errorf("Google Customer Match list %s in account %s: %w", d.c.audienceID, d.c.accountID, err)
	}
	return nil
}

// Member is one audience member as the Data Manager API takes it.
type Member struct {
	UserData UserData `json:"userData"`
}

// UserData holds a member's identifiers (at most 10).
type UserData struct {
	UserIdentifiers []Identifier `json:"userIdentifiers"`
}

// Identifier is exactly one of a hashed e-mail, a hashed phone or an address.
type Identifier struct {
	EmailAddress string   `json:"emailAddress,omitempty"`
	PhoneNumber  string   `json:"phoneNumber,omitempty"`
	Address      *Address `json:"address,omitempty"`
}

// Address is the name-and-address identifier, matched as a whole.
type Address struct {
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
	RegionCode string `json:"regionCode"`
	PostalCode string `json:"postalCode"`
}

var emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s.]+$`)

// MemberOf maps a record to a member with normalized, hashed identifiers,
// or says why Google would refuse it. The address goes along only when
// all four of its parts are there (Google requires each), and never with
// a removal, which matches on e-mail and phone.
func MemberOf(r *destinations.Record) (Member, error) {
	var ids []Identifier
	if raw := strings.TrimSpace(r.Key["email"]); raw != "" {
		e := destinations.NormalizeEmail(raw)
		if !emailRe.MatchString(e) {
			return Member{}, fmt.Errorf("email %q is not an e-mail address", raw)
		}
		ids = append(ids, Identifier{EmailAddress: destinations.SHA256(e)})
	}
	if raw := strings.TrimSpace(r.Key["phone"]); raw != "" {
		p, err := e164(raw)
		if err != nil {
			return Member{}, fmt.Errorf("phone %q %v", raw, err)
		}
		ids = append(ids, Identifier{PhoneNumber: destinations.SHA256(p)})
	}
	if len(ids) == 0 {
		return Member{}, fmt.Errorf("no e-mail or phone to match on")
	}
	if r.Op != destinations.Remove {
		a, err := address(r.Fields)
		if err != nil {
			return Member{}, err
		}
		if a != nil {
			ids = append(ids, Identifier{Address: a})
		}
	}
	return Member{UserData: UserData{UserIdentifiers: ids}}, nil
}

// e164 is the number as +<country code><digits>, Google's form before hashing.
func e164(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, "+"):
	case strings.HasPrefix(s, "00"):
		s = s[2:]
	case strings.HasPrefix(s, "0"):
		return "", fmt.Errorf("has no country code: write it in E.164 (+31 6 …), or normalize the trait with `normalize: phone`")
	}
	d := destinations.PhoneDigits(s)
	if len(d) < 7 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("is not a phone number with country code (7 to 15 digits)")
	}
	return "+" + d, nil
}

// name is Google's normalization of a given or family name: lower-case,
// no punctuation, no white space at the ends.
func name(s string) string {
	n := strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
	return strings.Join(strings.Fields(n), " ")
}

func address(f map[string]any) (*Address, error) {
	get := func(k string) string {
		if v := f[k]; v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
		return ""
	}
	given, family, country, postal := name(get("first_name")), name(get("last_name")), get("country_code"), get("postal_code")
	if given == "" || family == "" || country == "" || postal == "" {
		return nil, nil
	}
	cc := strings.ToUpper(country)
	if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
		return nil, fmt.Errorf("country_code %q is not a two-letter ISO 3166-1 code", country)
	}
	return &Address{GivenName: destinations.SHA256(given), FamilyName: destinations.SHA256(family), RegionCode: cc, PostalCode: postal}, nil
}

var memberIndex = regexp.MustCompile(`audience_members\[(\d+)\]`)

// Violations reads, from a fast-fail answer's field violations, the
// members it names (index in the request → Google's reason and
// description); nil when something beyond the members is wrong and the
// request fails as a whole.
func Violations(vs []FieldViolation) map[int]string {
	var out map[int]string
	for _, v := range vs {
		m := memberIndex.FindStringSubmatch(v.Field)
		if m == nil {
			return nil
		}
		i, _ := strconv.Atoi(m[1])
		if out == nil {
			out = map[int]string{}
		}
		msg := v.Reason
		if v.Description != "" {
			msg += ": " + v.Description
		}
		if prev, dup := out[i]; dup {
			msg = prev + "; " + msg
		}
		out[i] = msg
	}
	return out
}

func (s *memberStatus) errors() string {
	if len(s.ErrorInfo.ErrorCounts) == 0 {
		return "no reason given"
	}
	counts := append([]errorCount(nil), s.ErrorInfo.ErrorCounts...)
	sort.Slice(counts, func(i, j int) bool { return counts[i].Reason < counts[j].Reason })
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%d × %s", c.RecordCount, strings.TrimPrefix(c.Reason, "PROCESSING_ERROR_REASON_"))
	}
	return strings.Join(parts, ", ")
}

// transient reports whether every error of a failed request is Google's
// own, so sending again can succeed.
func (s *memberStatus) transient() bool {
	for _, c := range s.ErrorInfo.ErrorCounts {
		if c.Reason != "PROCESSING_ERROR_REASON_INTERNAL_ERROR" {
			return false
		}
	}
	return len(s.ErrorInfo.ErrorCounts) > 0
}
