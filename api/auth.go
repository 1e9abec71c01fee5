package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cohort-cdp/cohort/engine"
)

// SessionCookie is the cookie POST /api/v1/login sets.
const SessionCookie = "cohort_session"

// CSRFHeader must carry /api/v1/me's csrf value on cookie-authenticated
// requests that change something.
const CSRFHeader = "X-CSRF-Token"

const whoKey = "cohort.who"

// piiKey holds the project's personal keys (pii: true) for reply's masking.
const piiKey = "cohort.pii"

// who is the authenticated token of a request (nil on public routes).
func who(c echo.Context) *engine.Token {
	t, _ := c.Get(whoKey).(*engine.Token)
	return t
}

// csrfFor derives the CSRF value of a session from its token: a page of
// another site cannot read it (the cookie is SameSite=Strict and /me needs
// it), and every replica derives the same value without shared state.
func csrfFor(token string) string {
	h := sha256.Sum256([]byte("cohort csrf\x00" + token))
	return hex.EncodeToString(h[:16])
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticate finds the caller's token from the Authorization header or
// the session cookie; a cookie-authenticated unsafe request must carry
// the CSRF header. No credentials: 401; a token without a valid role: 403.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Path(); p == "/api/v1/*" || p == "/api/v1" { // the group's catch-all: no such route
			return fail(c, http.StatusNotFound, "no API route "+c.Request().Method+" "+c.Request().URL.Path+": see /api/v1/openapi.json")
		}
		secret, fromCookie := "", false
		if h := c.Request().Header.Get("Authorization"); h != "" {
			b, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				return fail(c, http.StatusUnauthorized, "Authorization must be \"Bearer <token>\"")
			}
			secret = strings.TrimSpace(b)
		} else if ck, err := c.Cookie(SessionCookie); err == nil {
			secret, fromCookie = ck.Value, true
		}
		if secret == "" {
			return fail(c, http.StatusUnauthorized, "log in, or send Authorization: Bearer <token> (cohort tokens create)")
		}
		tok, err := s.svc.Authenticate(c.Request().Context(), secret)
		if errors.Is(err, engine.ErrNoToken) {
			return fail(c, http.StatusUnauthorized, "unknown or revoked token: log in again, or ask an admin for a token")
		}
		if err != nil {
			return err
		}
		if !engine.ValidRole(tok.Role) {
			return fail(c, http.StatusForbidden, "token "+tok.Name+" has no valid role ("+strings.Join(engine.Roles, ", ")+"): ask an admin for a new one")
		}
		if fromCookie && !safeMethod(c.Request().Method) {
			got := c.Request().Header.Get(CSRFHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(csrfFor(secret))) != 1 {
				return fail(c, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header: send the csrf value of GET /api/v1/me")
			}
		}
		c.Set(whoKey, tok)
		c.Set(piiKey, s.pii)
		c.Set("cohort.csrf", csrfFor(secret))
		return next(c)
	}
}

// allow lets only the listed roles through (403 for the others).
func allow(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			t := who(c)
			for _, r := range roles {
				if t != nil && t.Role == r {
					return next(c)
				}
			}
			role := ""
			if t != nil {
				role = t.Role
			}
			return fail(c, http.StatusForbidden, "role "+role+" may not do this (allowed: "+strings.Join(roles, ", ")+")")
		}
	}
}

// limiter allows n attempts per client address per window: login's brake
// on guessing tokens.
type limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	now    func() time.Time
	seen   map[string]*bucket
}

type bucket struct {
	start time.Time
	count int
}

func newLimiter(n int, window time.Duration) *limiter {
	return &limiter{n: n, window: window, now: time.Now, seen: map[string]*bucket{}}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.seen) > 10000 { // forget old windows rather than grow without end
		for k, b := range l.seen {
			if now.Sub(b.start) > l.window {
				delete(l.seen, k)
			}
		}
	}
	b := l.seen[key]
	if b == nil || now.Sub(b.start) > l.window {
		b = &bucket{start: now}
		l.seen[key] = b
	}
	b.count++
	return b.count <= l.n
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func loopback(r *http.Request) bool {
	ip := net.ParseIP(clientIP(r))
	return ip != nil && ip.IsLoopback()
}
