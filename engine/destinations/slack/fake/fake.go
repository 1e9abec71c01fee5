// Package fake is a local Slack incoming webhook for tests. It checks
// messages as Slack does (the webhook's secret path, a JSON body, text or
// blocks, at most 50 blocks, header plain text up to 150 characters,
// section text up to 3,000, up to 10 fields of 2,000, context elements up
// to 10) and answers as Slack does: 200 with the plain text "ok", or a
// status with a plain-text code (400 invalid_payload, no_text,
// invalid_blocks; 403 invalid_token; 404 no_service; 410
// channel_is_archived; 429 with Retry-After; 500 rollup_error). Text over
// 40,000 characters is truncated, as Slack does; Limit adds its ~1 message
// a second limiter on a given clock. Member lines of digests
// ("• key · key — label: value · label: value") are read back as Members.
package fake

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

// Path is the webhook's path; WebhookURL is the URL a config names.
const (
	Path       = "/services/T0COHORT1/B0COHORT1/k3cHqW7tBq9sYxVnR2mLp4Za"
	WebhookURL = "https://hooks.slack.com" + Path
)

// Message is a message as the channel shows it.
type Message struct {
	Text   string
	Blocks []Block
}

// Block is one Block Kit block of a message.
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text"`
	Fields   []Text `json:"fields"`
	Elements []Text `json:"elements"`
}

// Text is a text object.
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Server is the fake.
type Server struct {
	srv *httptest.Server

	// Ledger keeps the queued failures and the request count; a webhook
	// refuses no single person and erases nobody, so its Reject has no
	// effect and Erased stays empty. Members is the fake's own.
	destinationstest.Ledger

	mu      sync.Mutex
	posts   []Message
	members map[string]map[string]any
	gone    string // a permanent error code: no_service, channel_is_archived, ...
	limit   *bucket
}

// bucket is Slack's per-webhook rate limit: burst messages at once, then
// one per interval.
type bucket struct {
	burst  float64
	per    time.Duration
	now    func() time.Time
	tokens float64
	last   time.Time
}

// take spends a message, or says how long until one may be sent.
func (b *bucket) take() time.Duration {
	t := b.now()
	if !b.last.IsZero() {
		b.tokens = math.Min(b.burst, b.tokens+float64(t.Sub(b.last))/float64(b.per))
	}
	b.last = t
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(b.per))
}

// New starts the fake.
func New() *Server {
	s := &Server{members: map[string]map[string]any{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the base URL, for the endpoint config.
func (s *Server) URL() string { return s.srv.URL }

// Posts are the messages taken, in order.
func (s *Server) Posts() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.posts...)
}

// Members are the people digests listed: the first key of each line →
// its labelled values, as text; a later line for the same person wins.
func (s *Server) Members() map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]any, len(s.members))
	for k, v := range s.members {
		out[k] = v
	}
	return out
}

// Limit makes the webhook take burst messages at once and then one per
// interval, on the clock now (a test's manual clock); beyond that it
// answers 429 rate_limited with Retry-After in whole seconds, as Slack does
// at about one message a second.
func (s *Server) Limit(burst int, per time.Duration, now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = &bucket{burst: float64(burst), per: per, now: now, tokens: float64(burst)}
}

// Disable makes every later post fail for good with a code Slack uses for
// a webhook that stopped working: no_service (revoked), channel_not_found,
// channel_is_archived, action_prohibited.
func (s *Server) Disable(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone = code
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

var goneStatus = map[string]int{"no_service": 404, "channel_not_found": 404, "channel_is_archived": 410, "action_prohibited": 403}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path != Path {
		if strings.HasPrefix(r.URL.Path, Path[:strings.LastIndex(Path, "/")+1]) {
			reply(w, http.StatusForbidden, "invalid_token")
			return
		}
		reply(w, http.StatusNotFound, "no_service")
		return
	}
	if r.Method != http.MethodPost {
		reply(w, http.StatusMethodNotAllowed, "invalid_method")
		return
	}
	if st := s.Request(); st != 0 {
		body := "rollup_error"
		if st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
			body = "rate_limited"
		}
		reply(w, st, body)
		return
	}
	if s.limit != nil {
		if wait := s.limit.take(); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			reply(w, http.StatusTooManyRequests, "rate_limited")
			return
		}
	}
	if s.gone != "" {
		reply(w, goneStatus[s.gone], s.gone)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		reply(w, http.StatusBadRequest, "invalid_payload")
		return
	}
	var m struct {
		Text        string  `json:"text"`
		Blocks      []Block `json:"blocks"`
		Attachments []any   `json:"attachments"`
	}
	data, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(data, &m); err != nil {
		reply(w, http.StatusBadRequest, "invalid_payload")
		return
	}
	if m.Text == "" && len(m.Blocks) == 0 && len(m.Attachments) == 0 {
		reply(w, http.StatusBadRequest, "no_text")
		return
	}
	if !validBlocks(m.Blocks) {
		reply(w, http.StatusBadRequest, "invalid_blocks")
		return
	}
	if utf8.RuneCountInString(m.Text) > 40000 {
		m.Text = string([]rune(m.Text)[:40000]) // Slack truncates, it does not refuse
	}
	s.posts = append(s.posts, Message{Text: m.Text, Blocks: m.Blocks})
	for _, b := range m.Blocks {
		if b.Type == "section" && b.Text != nil {
			s.readMembers(b.Text.Text)
		}
	}
	reply(w, http.StatusOK, "ok")
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func validBlocks(bs []Block) bool {
	if len(bs) > 50 {
		return false
	}
	for _, b := range bs {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || b.Text.Text == "" || runes(b.Text.Text) > 150 {
				return false
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 || len(b.Fields) > 10 {
				return false
			}
			if b.Text != nil && (b.Text.Text == "" || runes(b.Text.Text) > 3000 || b.Text.Type != "mrkdwn" && b.Text.Type != "plain_text") {
				return false
			}
			for _, f := range b.Fields {
				if f.Text == "" || runes(f.Text) > 2000 {
					return false
				}
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				return false
			}
		case "divider":
		default:
			return false
		}
	}
	return true
}

var unescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// readMembers reads the "• ..." lines of a digest section.
func (s *Server) readMembers(text string) {
	for _, l := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(l, "• ")
		if !ok {
			continue
		}
		ids, fields, _ := strings.Cut(rest, " — ")
		key, _, _ := strings.Cut(ids, " · ")
		m := map[string]any{}
		if fields != "" {
			for _, f := range strings.Split(fields, " · ") {
				if k, v, ok := strings.Cut(f, ": "); ok {
					m[unescape.Replace(k)] = unescape.Replace(v)
				}
			}
		}
		s.members[unescape.Replace(key)] = m
	}
}
