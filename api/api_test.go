package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/models"
)

// fixture is one demo project (a few hundred people, embedded DuckDB,
// SQLite state) built and run once for the package's tests, with a token
// per role and one whose role is not valid.
type fixture struct {
	svc    *engine.Service
	h      http.Handler
	tokens map[string]string // role (or "norole") → token
	hook   *httptest.Server
	hooked chan []byte
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	fixDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.svc.Close()
		fix.hook.Close()
	}
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

func demo(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = buildFixture() })
	require.NoError(t, fixErr)
	return fix
}

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func buildFixture() (*fixture, error) {
	ctx := context.Background()
	f := &fixture{tokens: map[string]string{}, hooked: make(chan []byte, 100)}
	f.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case f.hooked <- b:
		default:
		}
		w.WriteHeader(http.StatusOK)
	}))
	var err error
	if fixDir, err = os.MkdirTemp("", "cohort-api-"); err != nil {
		return nil, err
	}
	os.Setenv("CRM_WEBHOOK_URL", f.hook.URL+"/cohort")
	if err := engine.WriteDemoProject(fixDir, false); err != nil {
		return nil, err
	}
	p, err := models.LoadAndValidate(fixDir)
	if err != nil {
		return nil, err
	}
	p.Segment("high_churn_risk").Holdout = 30 // a campaign to measure (TestLiftAndDeliveries)
	f.svc = engine.NewService(p, engine.ServiceOptions{})
	f.svc.Clock = func() time.Time { return now }
	if _, err := f.svc.GenerateDemo(ctx, engine.DemoOptions{Profiles: 300, Seed: 7, Now: now}); err != nil {
		return nil, err
	}
	if _, err := f.svc.Run(ctx, engine.RunOptions{}); err != nil {
		return nil, err
	}
	for _, r := range engine.Roles {
		if f.tokens[r], _, err = f.svc.CreateToken(ctx, "t-"+r, r); err != nil {
			return nil, err
		}
	}
	// a token whose role is not one of Roles (written past the service's check)
	if f.tokens["norole"], _, err = f.svc.Store.CreateToken(ctx, "t-norole", "viewer"); err != nil {
		return nil, err
	}
	f.h = New(Options{Service: f.svc})
	return f, nil
}

// The OpenAPI document, its router, and which operations the tests called.
var (
	specOnce sync.Once
	spec     *openapi3.T
	router   routers.Router
	calledMu sync.Mutex
	called   = map[string]bool{}
)

func loadSpec(t *testing.T) {
	specOnce.Do(func() {
		var err error
		spec, err = openapi3.NewLoader().LoadFromData(openAPI)
		if err == nil {
			err = spec.Validate(context.Background())
		}
		if err == nil {
			router, err = gorillamux.NewRouter(spec)
		}
		require.NoError(t, err)
	})
}

type resp struct {
	code   int
	body   []byte
	header http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

// call sends one request as a role ("" none) and checks the request and
// the response against the OpenAPI document.
func (f *fixture) call(t *testing.T, role, method, path string, body any, mod ...func(*http.Request)) resp {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	mk := func() *http.Request {
		req := httptest.NewRequest(method, path, bytes.NewReader(raw))
		if raw != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if role != "" {
			req.Header.Set("Authorization", "Bearer "+f.tokens[role])
		}
		for _, m := range mod {
			m(req)
		}
		return req
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, mk())
	r := resp{code: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
	if strings.HasPrefix(path, "/api/") {
		checkSpec(t, mk(), r)
	}
	return r
}

func checkSpec(t *testing.T, req *http.Request, r resp) {
	t.Helper()
	loadSpec(t)
	route, params, err := router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in openapi.json", req.Method, req.URL.Path)
	calledMu.Lock()
	called[req.Method+" "+route.Path] = true
	calledMu.Unlock()
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if r.code < 400 { // refused requests may be malformed on purpose
		require.NoError(t, openapi3filter.ValidateRequest(ctx, in), "request %s %s", req.Method, req.URL)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.code, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	require.NoError(t, openapi3filter.ValidateResponse(ctx, out), "response %d of %s %s: %s", r.code, req.Method, req.URL, trim(r.body))
}

func trim(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

var roles = []string{"admin", "editor", "marketer", "support"}

// Every route answers each role as the README says: allowed roles get a
// 2xx, the others 403; no token 401; a token without a valid role 403.
func TestEveryRouteAndRole(t *testing.T) {
	f := demo(t)
	every := map[string]bool{"admin": true, "editor": true, "marketer": true, "support": true}
	only := func(rs ...string) map[string]bool {
		m := map[string]bool{}
		for _, r := range rs {
			m[r] = true
		}
		return m
	}
	type route struct {
		method, path string
		body         any
		ok           map[string]bool
	}
	routes := []route{
		{"GET", "/api/v1/me", nil, every},
		{"GET", "/api/v1/catalog", nil, every},
		{"GET", "/api/v1/segments", nil, every},
		{"GET", "/api/v1/segments/vip", nil, every},
		{"GET", "/api/v1/segments/vip/history", nil, every},
		{"POST", "/api/v1/segments/preview", map[string]any{"name": "nl", "where": map[string]any{"trait": "country", "eq": "NL"}}, every},
		{"POST", "/api/v1/segments/preview", map[string]any{"name": "vip"}, every},
		{"POST", "/api/v1/segments/overlap", map[string]any{"segments": []string{"vip", "loyal_customers"}}, every},
		{"GET", "/api/v1/syncs", nil, every},
		{"GET", "/api/v1/syncs/churn_risk_to_crm/runs", nil, every},
		{"GET", "/api/v1/syncs/churn_risk_to_crm/runs/nope/rejections", nil, every},
		{"POST", "/api/v1/syncs/churn_risk_to_crm/dry-run", nil, only("admin", "editor", "marketer")},
		{"POST", "/api/v1/syncs/churn_risk_to_crm/pause", nil, only("admin", "editor")},
		{"POST", "/api/v1/syncs/churn_risk_to_crm/resume", nil, only("admin", "editor")},
		{"GET", "/api/v1/profiles/lookup?q=customer_id:C100001", nil, only("admin", "support")},
		{"GET", "/api/v1/profiles/export?identifier=customer_id:C100001", nil, only("admin")},
		{"POST", "/api/v1/profiles/forget", map[string]string{"identifier": "email:nobody@nowhere.invalid"}, only("admin")},
		{"GET", "/api/v1/runs", nil, every},
		{"GET", "/api/v1/audit", nil, only("admin")},
	}
	for _, rt := range routes {
		for _, role := range roles {
			r := f.call(t, role, rt.method, rt.path, rt.body)
			if rt.ok[role] {
				require.Less(t, r.code, 300, "%s %s as %s: %s", rt.method, rt.path, role, trim(r.body))
			} else {
				require.Equal(t, http.StatusForbidden, r.code, "%s %s as %s: %s", rt.method, rt.path, role, trim(r.body))
			}
		}
		r := f.call(t, "", rt.method, rt.path, rt.body)
		require.Equal(t, http.StatusUnauthorized, r.code, "%s %s without a token", rt.method, rt.path)
		r = f.call(t, "norole", rt.method, rt.path, rt.body)
		require.Equal(t, http.StatusForbidden, r.code, "%s %s with a token without a valid role", rt.method, rt.path)
		var e struct{ Error string }
		r.json(t, &e)
		require.Contains(t, e.Error, "no valid role")
	}
	r := f.call(t, "admin", "GET", "/api/v1/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.code)
	// an unknown API path is 404 JSON, with or without credentials
	for _, auth := range []string{"Bearer " + f.tokens["admin"], "", "Bearer nonsense"} {
		for _, path := range []string{"/api/v1/nope", "/api/v1/segments/vip/nope/deeper", "/api/v1"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			f.h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusNotFound, rec.Code, "%s with %q", path, auth)
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
			require.Contains(t, e.Error, "openapi.json")
		}
	}
}

// The catalog gives every trait the kind of its values and every events
// source its columns with kinds and its event names.
func TestCatalogTypesAndEvents(t *testing.T) {
	f := demo(t)
	var cat engine.BuilderCatalog
	r := f.call(t, "marketer", "GET", "/api/v1/catalog", nil)
	require.Equal(t, http.StatusOK, r.code)
	r.json(t, &cat)
	kinds := map[string]string{}
	for _, tr := range cat.Traits {
		require.Contains(t, []string{"text", "number", "boolean", "timestamp"}, tr.Type, tr.Name)
		kinds[tr.Name] = tr.Type
	}
	require.Equal(t, "boolean", kinds["email_opt_in"])
	require.Equal(t, "number", kinds["lifetime_value"])
	require.Equal(t, "timestamp", kinds["last_order_at"])
	require.Equal(t, "text", kinds["country"])
	var web *engine.CatalogSource
	for i := range cat.Sources {
		if cat.Sources[i].Name == "web_events" {
			web = &cat.Sources[i]
		}
	}
	require.NotNil(t, web)
	require.Equal(t, "events", web.Kind)
	require.Contains(t, web.Events, "add_to_cart")
	fields := map[string]string{}
	for _, fl := range web.Fields {
		fields[fl.Name] = fl.Type
	}
	require.Equal(t, "number", fields["value"], "the property big_spenders_recent_cart tests")
	require.Equal(t, "timestamp", fields[web.Timestamp])
}

// A marketer sees the same counts as an admin, but never an e-mail, phone,
// name or identifier in clear.
func TestMarketerNeverSeesPersonalData(t *testing.T) {
	f := demo(t)
	def := map[string]any{"name": "everyone_nl", "where": map[string]any{"trait": "country", "eq": "NL"}}
	path := "/api/v1/segments/preview?sample=50"
	var adm, mkt struct {
		Count  int64
		Sample []struct {
			ProfileID string         `json:"profile_id"`
			Traits    map[string]any `json:"traits"`
		}
	}
	f.call(t, "admin", "POST", path, def).json(t, &adm)
	r := f.call(t, "marketer", "POST", path, def)
	r.json(t, &mkt)
	require.Equal(t, adm.Count, mkt.Count)
	require.NotEmpty(t, adm.Sample)
	require.Equal(t, len(adm.Sample), len(mkt.Sample))

	// the raw values an admin sees; the preview shows e-mail and names
	var raw []string
	for _, m := range adm.Sample {
		for k, v := range m.Traits {
			if s, ok := v.(string); ok && personalKey(k) && len(s) > 2 {
				raw = append(raw, s)
			}
		}
	}
	require.NotEmpty(t, raw, "the admin's sample holds personal data to hide")
	for _, v := range raw {
		require.NotContains(t, string(r.body), v, "a marketer sees %q in clear", v)
	}
	require.Regexp(t, `[a-z0-9]\*\*\*@[a-z0-9]\*\*\*\.[a-z]+`, string(r.body), "masked e-mails keep their shape: j***@g***.com")

	// dry run samples carry match keys (e-mails)
	var dryAdm, dryMkt map[string]any
	f.call(t, "admin", "POST", "/api/v1/syncs/churn_risk_to_crm/dry-run", nil).json(t, &dryAdm)
	rm := f.call(t, "marketer", "POST", "/api/v1/syncs/churn_risk_to_crm/dry-run", nil)
	rm.json(t, &dryMkt)
	require.NotContains(t, string(rm.body), "@example", "no raw e-mail in a marketer's dry run")
	for _, c := range dryAdm["sample"].([]any) {
		for _, v := range c.(map[string]any)["key"].(map[string]any) {
			require.NotContains(t, string(rm.body), v.(string))
		}
	}
	require.Equal(t, dryAdm["added"], dryMkt["added"])
}

// What the project marks pii: true (the demo's city) is masked for the
// roles without personal-data access, marketer and editor, though its
// shape and name say nothing; admin and support see it in clear.
func TestPIIColumnsMaskedForMarketerAndEditor(t *testing.T) {
	f := demo(t)
	def := map[string]any{"name": "with_city", "where": map[string]any{"trait": "city", "is_null": false}}
	cities := func(role string) []string {
		var res struct {
			Sample []struct {
				Traits map[string]any `json:"traits"`
			}
		}
		r := f.call(t, role, "POST", "/api/v1/segments/preview?sample=20", def)
		require.Equal(t, http.StatusOK, r.code, string(r.body))
		r.json(t, &res)
		var out []string
		for _, m := range res.Sample {
			out = append(out, fmt.Sprint(m.Traits["city"]))
		}
		require.NotEmpty(t, out)
		return out
	}
	clear := cities("admin")
	require.NotContains(t, clear[0], "***", "the test needs a city in clear")
	for _, role := range []string{"marketer", "editor"} {
		for i, c := range cities(role) {
			require.Equal(t, models.Mask(clear[i]), c, "%s sees a city", role)
		}
	}
	require.Equal(t, clear, cities("support"))
}

func TestMaskValue(t *testing.T) {
	require.Equal(t, "j***@g***.com", maskValue("", "jan@gmail.com"))
	require.Equal(t, "+***78", maskValue("", "+31612345678"))
	require.Equal(t, "J***", maskValue("first_name", "Jan"))
	require.Equal(t, "gold", maskValue("tier", "gold"))
	require.Equal(t, "NL", maskValue("country", "NL"))
	require.Equal(t, "422 invalid recipient: j***@g***.com is on the block list (was <p***@e***.nl>)",
		maskValue("reason", "422 invalid recipient: jan@gmail.com is on the block list (was <piet@example.nl>)"))
}

// People log in with a token: the cookie is HttpOnly and SameSite=Strict;
// changes through the cookie need the CSRF header; login is rate limited.
func TestLoginCookieCSRFAndRateLimit(t *testing.T) {
	f := demo(t)
	h := New(Options{Service: f.svc, LoginAttempts: 3})
	fl := &fixture{svc: f.svc, h: h, tokens: f.tokens}
	r := fl.call(t, "", "POST", "/api/v1/login", map[string]string{"token": f.tokens["editor"]})
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var me struct{ Name, Role, CSRF string }
	r.json(t, &me)
	require.Equal(t, "editor", me.Role)
	ck := (&http.Response{Header: r.header}).Cookies()
	require.Len(t, ck, 1)
	require.Equal(t, SessionCookie, ck[0].Name)
	require.True(t, ck[0].HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, ck[0].SameSite)
	withCookie := func(req *http.Request) { req.AddCookie(ck[0]) }

	r = fl.call(t, "", "GET", "/api/v1/me", nil, withCookie)
	require.Equal(t, http.StatusOK, r.code)
	r.json(t, &me)
	require.NotEmpty(t, me.CSRF)

	def := map[string]any{"name": "csrf_probe", "where": map[string]any{"trait": "country", "eq": "BE"}}
	r = fl.call(t, "", "POST", "/api/v1/segments", def, withCookie)
	require.Equal(t, http.StatusForbidden, r.code, "a cookie change without the CSRF header")
	require.Contains(t, string(r.body), CSRFHeader)
	r = fl.call(t, "", "POST", "/api/v1/segments", def, withCookie, func(req *http.Request) { req.Header.Set(CSRFHeader, "wrong") })
	require.Equal(t, http.StatusForbidden, r.code)
	r = fl.call(t, "", "POST", "/api/v1/segments", def, withCookie, func(req *http.Request) { req.Header.Set(CSRFHeader, me.CSRF) })
	require.Equal(t, http.StatusCreated, r.code, string(r.body))
	r = fl.call(t, "", "DELETE", "/api/v1/segments/csrf_probe", nil, withCookie, func(req *http.Request) { req.Header.Set(CSRFHeader, me.CSRF) })
	require.Equal(t, http.StatusNoContent, r.code, string(r.body))

	r = fl.call(t, "", "POST", "/api/v1/logout", nil, withCookie)
	require.Equal(t, http.StatusOK, r.code)
	require.Contains(t, r.header.Get("Set-Cookie"), "Max-Age=0")

	// two more attempts (three in all) pass the limiter; the fourth is refused, even with a good token
	r = fl.call(t, "", "POST", "/api/v1/login", map[string]string{"token": "cohort_guess"})
	require.Equal(t, http.StatusUnauthorized, r.code)
	r = fl.call(t, "", "POST", "/api/v1/login", map[string]string{"token": "cohort_guess2"})
	require.Equal(t, http.StatusUnauthorized, r.code)
	r = fl.call(t, "", "POST", "/api/v1/login", map[string]string{"token": f.tokens["admin"]})
	require.Equal(t, http.StatusTooManyRequests, r.code)
	// a token with a role that is not valid cannot log in
	h2 := New(Options{Service: f.svc})
	fl2 := &fixture{svc: f.svc, h: h2, tokens: f.tokens}
	r = fl2.call(t, "", "POST", "/api/v1/login", map[string]string{"token": f.tokens["norole"]})
	require.Equal(t, http.StatusForbidden, r.code)
}

// The session cookie is Secure behind TLS, or when serve is told it sits
// behind a TLS proxy; plain HTTP on this machine (the default) keeps it
// usable without TLS.
func TestSecureCookies(t *testing.T) {
	f := demo(t)
	login := func(o Options, mod ...func(*http.Request)) *http.Cookie {
		fl := &fixture{svc: f.svc, h: New(o), tokens: f.tokens}
		r := fl.call(t, "", "POST", "/api/v1/login", map[string]string{"token": f.tokens["support"]}, mod...)
		require.Equal(t, http.StatusOK, r.code, string(r.body))
		ck := (&http.Response{Header: r.header}).Cookies()
		require.Len(t, ck, 1)
		require.True(t, ck[0].HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, ck[0].SameSite)
		return ck[0]
	}
	require.False(t, login(Options{Service: f.svc}).Secure)
	require.True(t, login(Options{Service: f.svc, SecureCookies: true}).Secure)
	require.True(t, login(Options{Service: f.svc}, func(r *http.Request) { r.TLS = &tls.ConnectionState{} }).Secure)
}

// Segments saved from the UI are listed with the YAML ones, previewed,
// compared, updated and deleted; YAML ones are read-only; each change is
// in the audit log, which only admins read.
func TestSavedSegmentsAndAudit(t *testing.T) {
	f := demo(t)
	def := map[string]any{"name": "big_spenders_ui", "description": "over 500", "where": map[string]any{"trait": "lifetime_value", "gt": 500}}
	r := f.call(t, "marketer", "POST", "/api/v1/segments", def)
	require.Equal(t, http.StatusCreated, r.code, string(r.body))
	r = f.call(t, "marketer", "POST", "/api/v1/segments", def)
	require.Equal(t, http.StatusConflict, r.code, "a name in use")

	var list []engine.SegmentInfo
	f.call(t, "support", "GET", "/api/v1/segments", nil).json(t, &list)
	src := map[string]string{}
	for _, s := range list {
		src[s.Name] = s.Source
		require.Equal(t, s.Source == "yaml", s.ReadOnly)
	}
	require.Equal(t, "ui", src["big_spenders_ui"])
	require.Equal(t, "yaml", src["vip"])

	var pv struct{ Count int64 }
	f.call(t, "marketer", "POST", "/api/v1/segments/preview", map[string]any{"name": "big_spenders_ui"}).json(t, &pv)
	var direct struct{ Count int64 }
	f.call(t, "marketer", "POST", "/api/v1/segments/preview", def).json(t, &direct)
	require.Equal(t, direct.Count, pv.Count)
	r = f.call(t, "editor", "POST", "/api/v1/segments/overlap", map[string]any{"segments": []string{"big_spenders_ui", "vip"}})
	require.Equal(t, http.StatusOK, r.code, string(r.body))

	def["where"] = map[string]any{"trait": "lifetime_value", "gt": 1000}
	r = f.call(t, "editor", "PUT", "/api/v1/segments/big_spenders_ui", def)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var one engine.SegmentInfo
	f.call(t, "editor", "GET", "/api/v1/segments/big_spenders_ui", nil).json(t, &one)
	require.EqualValues(t, 1000, one.Definition.Where.Gt)

	r = f.call(t, "editor", "PUT", "/api/v1/segments/vip", map[string]any{"name": "vip", "where": map[string]any{"trait": "country", "eq": "NL"}})
	require.Equal(t, http.StatusConflict, r.code, "YAML segments are read-only")
	r = f.call(t, "admin", "DELETE", "/api/v1/segments/vip", nil)
	require.Equal(t, http.StatusConflict, r.code)
	r = f.call(t, "editor", "POST", "/api/v1/segments", map[string]any{"name": "bad", "where": map[string]any{"trait": "nope", "eq": 1}})
	require.Equal(t, http.StatusUnprocessableEntity, r.code)
	var e struct {
		Error   string
		Details []struct{ Message string }
	}
	r.json(t, &e)
	require.NotEmpty(t, e.Details)
	require.Contains(t, e.Details[0].Message, "nope")

	r = f.call(t, "editor", "DELETE", "/api/v1/segments/big_spenders_ui", nil)
	require.Equal(t, http.StatusNoContent, r.code)
	r = f.call(t, "editor", "GET", "/api/v1/segments/big_spenders_ui", nil)
	require.Equal(t, http.StatusNotFound, r.code)

	var log []engine.AuditEntry
	f.call(t, "admin", "GET", "/api/v1/audit?limit=1000", nil).json(t, &log)
	var seen []string
	for _, e := range log {
		if e.Target == "big_spenders_ui" {
			seen = append(seen, e.Actor+" "+e.Action)
		}
	}
	sort.Strings(seen)
	require.Equal(t, []string{"t-editor segment.delete", "t-editor segment.update", "t-marketer segment.create"}, seen)
}

// Every profile view is audited; support sees personal data in clear.
func TestProfileLookupIsAudited(t *testing.T) {
	f := demo(t)
	var p engine.Person
	r := f.call(t, "support", "GET", "/api/v1/profiles/lookup?type=customer_id&value=C100001", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	r.json(t, &p)
	require.NotEmpty(t, p.Identity.Identifiers)
	require.Contains(t, string(r.body), "C100001", "support sees identifiers in clear")
	r = f.call(t, "support", "GET", "/api/v1/profiles/lookup?q=email:nobody@nowhere.invalid", nil)
	require.Equal(t, http.StatusNotFound, r.code)
	r = f.call(t, "support", "GET", "/api/v1/profiles/lookup?q=nocolon", nil)
	require.Equal(t, http.StatusBadRequest, r.code)

	var log []engine.AuditEntry
	f.call(t, "admin", "GET", "/api/v1/audit?limit=1000", nil).json(t, &log)
	views := map[string]bool{}
	for _, e := range log {
		if e.Action == "profile.view" && e.Actor == "t-support" {
			views[e.Target] = true
		}
	}
	require.True(t, views["customer_id:C***01"], "the audit log names the person only masked, so a later forget leaves nothing in clear")
	require.True(t, views["email:n***@n***.invalid"], "a look-up that found nobody is a view too")
}

// A subject access request and an erasure through the API: admins only,
// audited with the person masked; the export is a JSON attachment naming
// the person in clear, and after the forget it says they were forgotten.
func TestExportAndForget(t *testing.T) {
	f := demo(t)
	// each sync lists its destination's region and how many people may go there
	var syncs []engine.SyncStatus
	f.call(t, "marketer", "GET", "/api/v1/syncs", nil).json(t, &syncs)
	reach := map[string]string{}
	for _, s := range syncs {
		require.NotNil(t, s.AllowedProfiles, s.Name)
		reach[s.Name] = fmt.Sprintf("%s %v", s.Region, *s.AllowedProfiles > 0)
	}
	require.Equal(t, "eu true", reach["churn_risk_to_crm"])
	require.Equal(t, "us true", reach["leads_to_meta"])

	r := f.call(t, "admin", "GET", "/api/v1/profiles/export?identifier=customer_id:C100003", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	require.Regexp(t, `^attachment; filename="cohort-export-[^"]+\.json"$`, r.header.Get("Content-Disposition"))
	require.NotContains(t, r.header.Get("Content-Disposition"), "C100003", "the file name names the profile, not the person")
	var exp engine.ProfileExport
	r.json(t, &exp)
	require.False(t, exp.Suppressed)
	require.NotEmpty(t, exp.Traits)
	require.Contains(t, string(r.body), `"C100003"`, "the person's own identifiers in clear")
	r = f.call(t, "admin", "GET", "/api/v1/profiles/export?identifier=nocolon", nil)
	require.Equal(t, http.StatusBadRequest, r.code)
	r = f.call(t, "admin", "GET", "/api/v1/profiles/export?identifier=email:someone@nowhere.invalid", nil)
	require.Equal(t, http.StatusNotFound, r.code)

	r = f.call(t, "admin", "POST", "/api/v1/profiles/forget", map[string]string{"identifier": "customer_id:C100003"})
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var rep engine.ForgetReport
	r.json(t, &rep)
	require.True(t, rep.Done, string(r.body))
	require.Equal(t, "customer_id:C***03", rep.Identifier)
	require.Len(t, rep.Profiles, 1)
	require.NotContains(t, string(r.body), "C100003", "the report names the person masked")
	r = f.call(t, "admin", "POST", "/api/v1/profiles/forget", map[string]string{"identifier": "customer_id:C100003"})
	require.Equal(t, http.StatusOK, r.code, "idempotent")
	r = f.call(t, "admin", "POST", "/api/v1/profiles/forget", map[string]string{"id": "x"})
	require.Equal(t, http.StatusBadRequest, r.code)

	r = f.call(t, "admin", "GET", "/api/v1/profiles/export?identifier=customer_id:C100003", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	r.json(t, &exp)
	require.True(t, exp.Suppressed)
	require.Empty(t, exp.Identifiers)
	r = f.call(t, "support", "GET", "/api/v1/profiles/lookup?q=customer_id:C100003", nil)
	require.Equal(t, http.StatusNotFound, r.code)

	var log []engine.AuditEntry
	f.call(t, "admin", "GET", "/api/v1/audit?limit=1000", nil).json(t, &log)
	seen := map[string]bool{}
	for _, e := range log {
		if e.Actor == "t-admin" {
			seen[e.Action+" "+e.Target] = true
		}
		require.NotContains(t, e.Target+e.Detail, "C100003", "the audit log names the person only masked")
	}
	require.True(t, seen["profile.export customer_id:C***03"], "%v", seen)
	require.True(t, seen["profile.forget customer_id:C***03"], "%v", seen)
}

// Syncs: pause and resume show in the list; a run sends to the destination
// and appears in the history; the metrics report it.
func TestSyncsRunsAndMetrics(t *testing.T) {
	f := demo(t)
	r := f.call(t, "editor", "POST", "/api/v1/syncs/churn_risk_to_crm/pause", nil)
	require.Equal(t, http.StatusOK, r.code)
	paused := func() bool {
		var syncs []engine.SyncStatus
		f.call(t, "marketer", "GET", "/api/v1/syncs", nil).json(t, &syncs)
		for _, s := range syncs {
			if s.Name == "churn_risk_to_crm" {
				return s.Paused
			}
		}
		t.Fatal("sync not listed")
		return false
	}
	require.True(t, paused())
	f.call(t, "admin", "POST", "/api/v1/syncs/churn_risk_to_crm/resume", nil)
	require.False(t, paused())
	healthOf := func() (string, *time.Time) {
		var syncs []engine.SyncStatus
		f.call(t, "marketer", "GET", "/api/v1/syncs", nil).json(t, &syncs)
		for _, s := range syncs {
			if s.Name == "churn_risk_to_crm" {
				return s.Health, s.NextRun
			}
		}
		return "", nil
	}
	r = f.call(t, "admin", "POST", "/api/v1/syncs/nope/pause", nil)
	require.Equal(t, http.StatusNotFound, r.code)

	r = f.call(t, "marketer", "POST", "/api/v1/syncs/churn_risk_to_crm/run", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var res struct {
		Run   engine.SyncRun
		Added int64
	}
	r.json(t, &res)
	require.Equal(t, "succeeded", res.Run.Status, string(r.body))
	require.Greater(t, res.Added, int64(0))
	require.NotEmpty(t, f.hooked, "the webhook received the members")
	h, next := healthOf()
	require.Equal(t, "healthy", h)
	_ = next // the scheduler gives a next slot only once serve has seen the job

	var runs []engine.SyncRun
	f.call(t, "support", "GET", "/api/v1/syncs/churn_risk_to_crm/runs", nil).json(t, &runs)
	require.Equal(t, res.Run.ID, runs[0].ID)
	r = f.call(t, "support", "GET", "/api/v1/syncs/churn_risk_to_crm/runs/"+res.Run.ID+"/rejections", nil)
	require.Equal(t, http.StatusOK, r.code)
	require.JSONEq(t, `[]`, string(r.body))

	var wruns []engine.RunRecord
	f.call(t, "support", "GET", "/api/v1/runs", nil).json(t, &wruns)
	require.NotEmpty(t, wruns)
	r = f.call(t, "support", "GET", "/api/v1/runs/"+wruns[0].ID, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	r = f.call(t, "support", "GET", "/api/v1/runs/nope", nil)
	require.Equal(t, http.StatusNotFound, r.code)

	// /metrics: this machine without a token; elsewhere a token is needed
	local := func(req *http.Request) { req.RemoteAddr = "127.0.0.1:5000" }
	m := f.call(t, "", "GET", "/metrics", nil, local)
	require.Equal(t, http.StatusOK, m.code)
	require.Contains(t, string(m.body), fmt.Sprintf(`cohort_sync_rows_sent{sync="churn_risk_to_crm"} %d`, res.Added))
	require.Contains(t, string(m.body), `cohort_http_request_duration_seconds_count{method="POST",route="/api/v1/syncs/:name/run",status="200"}`)
	require.Contains(t, string(m.body), "cohort_run_duration_seconds")
	require.Equal(t, http.StatusUnauthorized, f.call(t, "", "GET", "/metrics", nil).code)
	require.Equal(t, http.StatusOK, f.call(t, "support", "GET", "/metrics", nil).code)
}

// A warehouse run from the API is recorded, audited, and refused to roles
// that may not run.
func TestTriggerRun(t *testing.T) {
	f := demo(t)
	r := f.call(t, "marketer", "POST", "/api/v1/runs", nil)
	require.Equal(t, http.StatusForbidden, r.code)
	r = f.call(t, "editor", "POST", "/api/v1/runs", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var run engine.RunRecord
	r.json(t, &run)
	require.Equal(t, "succeeded", run.Status)
	var hist []map[string]any
	f.call(t, "admin", "GET", "/api/v1/segments/vip/history", nil).json(t, &hist)
	require.NotEmpty(t, hist)

	// without waiting: 202 once it is recorded, then its progress until it ends
	r = f.call(t, "admin", "POST", "/api/v1/runs?wait=false", nil)
	require.Equal(t, http.StatusAccepted, r.code, string(r.body))
	r.json(t, &run)
	require.NotEqual(t, "", run.ID)
	require.Contains(t, []string{"running", "succeeded"}, run.Status)
	for deadline := time.Now().Add(2 * time.Minute); run.Status == "running"; {
		require.True(t, time.Now().Before(deadline), "the run did not end")
		time.Sleep(50 * time.Millisecond)
		f.call(t, "marketer", "GET", "/api/v1/runs/"+run.ID, nil).json(t, &run)
	}
	require.Equal(t, "succeeded", run.Status, run.Error)
	require.NotEmpty(t, run.Steps)
	// the run records its end just before it lets go of the project
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		l, err := f.svc.Store.Acquire(context.Background(), engine.LeaseKey(f.svc.Project.Name), "test", 0)
		if err == nil {
			require.NoError(t, l.Release(context.Background()))
			break
		}
		require.True(t, time.Now().Before(deadline), "the run kept the project: %v", err)
	}
}

// After a sync of a segment with a holdout: its lift with a series, for
// every role; 400 without a holdout; and the person's deliveries in the
// profile view.
func TestLiftAndDeliveries(t *testing.T) {
	f := demo(t)
	r := f.call(t, "editor", "POST", "/api/v1/syncs/churn_risk_to_crm/run", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var run struct{ Run engine.SyncRun }
	r.json(t, &run)

	since := now.AddDate(0, 0, -29).Format(time.DateOnly) // 30 days: a point every 3 days
	path := "/api/v1/segments/high_churn_risk/lift?metric=web_events.add_to_cart&since=" + since + "&points=10"
	for _, role := range roles {
		r = f.call(t, role, "GET", path, nil)
		require.Equal(t, http.StatusOK, r.code, "%s: %s", role, r.body)
	}
	require.Equal(t, http.StatusUnauthorized, f.call(t, "", "GET", path, nil).code)
	require.Equal(t, http.StatusForbidden, f.call(t, "norole", "GET", path, nil).code)
	var lift engine.LiftResult
	r.json(t, &lift)
	require.Equal(t, "rate", lift.Kind)
	require.Equal(t, since, lift.Since, "the day as given, in the project's timezone")
	require.Positive(t, lift.Holdout.Members)
	require.Len(t, lift.Series, 10)
	require.Equal(t, now.Format(time.DateOnly), lift.Series[9].Date)
	require.InDelta(t, *lift.Lift, *lift.Series[9].Lift, 1e-9, "today's point is the report")
	require.LessOrEqual(t, *lift.Series[9].Low, *lift.Series[9].Lift)

	r = f.call(t, "marketer", "GET", "/api/v1/segments/vip/lift?metric=email_opt_in", nil)
	require.Equal(t, http.StatusBadRequest, r.code)
	require.Contains(t, string(r.body), "no holdout")
	r = f.call(t, "marketer", "GET", "/api/v1/segments/high_churn_risk/lift?metric=nope", nil)
	require.Equal(t, http.StatusBadRequest, r.code)
	r = f.call(t, "marketer", "GET", "/api/v1/segments/high_churn_risk/lift?metric=email_opt_in&since=yesterday", nil)
	require.Equal(t, http.StatusBadRequest, r.code)
	require.Contains(t, string(r.body), "YYYY-MM-DD")
	r = f.call(t, "marketer", "GET", "/api/v1/segments/high_churn_risk/lift?metric=web_events&since=2099-01-01", nil)
	require.Equal(t, http.StatusBadRequest, r.code)
	require.Contains(t, string(r.body), "2099-01-01 is in the future")
	r = f.call(t, "marketer", "GET", "/api/v1/segments/nope/lift?metric=email_opt_in", nil)
	require.Equal(t, http.StatusNotFound, r.code)

	// a person the sync sent, and a row of theirs a later run had refused
	ctx := context.Background()
	wh, err := f.svc.ReadWarehouse(ctx)
	require.NoError(t, err)
	rows, err := wh.Query(ctx, `SELECT g.identifier_type, g.identifier_value, g.profile_id
FROM cohort.sync_churn_risk_to_crm_snapshot s JOIN cohort.identity_graph g ON g.profile_id = s.profile_id ORDER BY 3 LIMIT 1`)
	require.NoError(t, err)
	var typ, val, pid string
	require.True(t, rows.Next())
	require.NoError(t, rows.Scan(&typ, &val, &pid))
	rows.Close()
	require.NoError(t, f.svc.Store.AddRejections(ctx, f.svc.Project.Name, []engine.Rejection{{RunID: run.Run.ID, Sync: "churn_risk_to_crm",
		Key: "k", ProfileID: pid, Reason: "invalid e-mail", RejectedAt: now.Add(time.Minute)}}))
	var p engine.Person
	r = f.call(t, "support", "GET", "/api/v1/profiles/lookup?q="+typ+":"+url.QueryEscape(val), nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	r.json(t, &p)
	require.Len(t, p.Deliveries, 2, string(r.body))
	rej, sent := p.Deliveries[0], p.Deliveries[1] // newest first
	require.Contains(t, []string{"add", "update"}, rej.Action)
	require.Equal(t, engine.Delivery{Sync: "churn_risk_to_crm", Destination: "crm_webhook", Region: "eu", Status: "rejected",
		Key: rej.Key, Reason: "invalid e-mail", RunID: run.Run.ID, At: rej.At}, rej.Delivery)
	// sent by the sync's first run (this one found nothing new): an add
	var runs []engine.SyncRun
	f.call(t, "support", "GET", "/api/v1/syncs/churn_risk_to_crm/runs", nil).json(t, &runs)
	first := runs[len(runs)-1]
	require.Equal(t, engine.PersonDelivery{Delivery: engine.Delivery{Sync: "churn_risk_to_crm", Destination: "crm_webhook", Region: "eu",
		Status: "sent", Key: sent.Key, RunID: first.ID, At: &first.StartedAt}, Action: "add"}, sent)
	require.NotEmpty(t, sent.Key["email"], "support sees the match key as sent")
}

// A segment and a sync made in the UI: the sync is validated like a YAML
// one (422 with where and what), a warehouse run builds the segment, the
// sync runs and is listed as the UI's; only UI syncs can be deleted.
func TestSyncsFromTheUI(t *testing.T) {
	f := demo(t)
	seg := map[string]any{"name": "nl_campaign", "where": map[string]any{"trait": "country", "eq": "NL"}, "holdout": "20%"}
	r := f.call(t, "editor", "POST", "/api/v1/segments", seg)
	require.Equal(t, http.StatusCreated, r.code, string(r.body))
	def := map[string]any{"name": "nl_to_crm", "segment": "nl_campaign", "destination": "crm_webhook", "mode": "mirror",
		"match": map[string]string{"email": "email"}, "fields": map[string]string{"first_name": "first_name"}}

	for _, role := range []string{"marketer", "support", "norole"} {
		require.Equal(t, http.StatusForbidden, f.call(t, role, "POST", "/api/v1/syncs", def).code, role)
		require.Equal(t, http.StatusForbidden, f.call(t, role, "DELETE", "/api/v1/syncs/nl_to_crm", nil).code, role)
	}
	require.Equal(t, http.StatusUnauthorized, f.call(t, "", "POST", "/api/v1/syncs", def).code)

	external := map[string]any{"name": "nl_to_klaviyo", "segment": "nl_campaign", "destination": "klaviyo", "mode": "upsert",
		"match": map[string]string{"email": "email"}}
	r = f.call(t, "editor", "POST", "/api/v1/syncs", external)
	require.Equal(t, http.StatusUnprocessableEntity, r.code, string(r.body))
	var e struct {
		Error   string
		Details []struct {
			File      string
			Line, Col int
			Message   string
		}
	}
	r.json(t, &e)
	require.Equal(t, "the sync is not valid", e.Error)
	require.Contains(t, e.Details[0].Message, "has no purpose: name the consent purpose")
	require.Equal(t, "<unsaved>", e.Details[0].File)
	r = f.call(t, "editor", "POST", "/api/v1/syncs", `{"name": "x", "segment": "nl_campaign", "destination": "crm_webhook", "mode": "upsert", "match": {"email": "emial"}}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.code)
	r.json(t, &e)
	require.Equal(t, 1, e.Details[0].Line)
	require.Contains(t, e.Details[0].Message, `unknown trait "emial" (did you mean "email"?)`)
	r = f.call(t, "editor", "POST", "/api/v1/syncs", map[string]any{"name": "churn_risk_to_crm", "segment": "vip", "destination": "crm_webhook",
		"mode": "upsert", "match": map[string]string{"email": "email"}})
	require.Equal(t, http.StatusConflict, r.code, "a YAML sync's name")

	r = f.call(t, "editor", "POST", "/api/v1/syncs", def)
	require.Equal(t, http.StatusCreated, r.code, string(r.body))
	var st engine.SyncStatus
	r.json(t, &st)
	require.Equal(t, engine.SyncStatus{Name: "nl_to_crm", Segment: "nl_campaign", Destination: "crm_webhook", Type: "webhook", Mode: "mirror",
		Region: "eu", AllowedProfiles: st.AllowedProfiles, Source: "ui", UpdatedBy: "t-editor", UpdatedAt: st.UpdatedAt, Health: "never_run"}, st)
	require.NotNil(t, st.AllowedProfiles, "its reach is counted as a YAML sync's")
	require.Equal(t, http.StatusConflict, f.call(t, "admin", "POST", "/api/v1/syncs", def).code, "a name in use")
	require.Equal(t, http.StatusConflict, f.call(t, "editor", "DELETE", "/api/v1/segments/nl_campaign", nil).code, "a sync sends it")

	// a warehouse run builds the UI segment; the sync sends its members
	r = f.call(t, "editor", "POST", "/api/v1/runs", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var hist []engine.SegmentPoint
	f.call(t, "marketer", "GET", "/api/v1/segments/nl_campaign/history", nil).json(t, &hist)
	require.NotEmpty(t, hist, "the run built the segment saved from the UI")
	require.Positive(t, hist[len(hist)-1].Members)
	r = f.call(t, "marketer", "POST", "/api/v1/syncs/nl_to_crm/run", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	var res struct {
		Run   engine.SyncRun
		Added int64
	}
	r.json(t, &res)
	require.Equal(t, "succeeded", res.Run.Status, string(r.body))
	require.Positive(t, res.Added)
	require.Less(t, res.Added, hist[len(hist)-1].Members, "the holdout is kept out")
	r = f.call(t, "marketer", "GET", "/api/v1/segments/nl_campaign/lift?metric=email_opt_in", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))

	var syncs []engine.SyncStatus
	f.call(t, "support", "GET", "/api/v1/syncs", nil).json(t, &syncs)
	src := map[string]string{}
	for _, s := range syncs {
		src[s.Name] = s.Source
		require.Equal(t, s.Source == "yaml", s.ReadOnly, s.Name)
	}
	require.Equal(t, "ui", src["nl_to_crm"])
	require.Equal(t, "yaml", src["churn_risk_to_crm"])
	var cat engine.BuilderCatalog
	f.call(t, "marketer", "GET", "/api/v1/catalog", nil).json(t, &cat)
	require.Contains(t, cat.Syncs, "nl_to_crm")

	require.Equal(t, http.StatusConflict, f.call(t, "admin", "DELETE", "/api/v1/syncs/churn_risk_to_crm", nil).code, "YAML syncs are read-only")
	require.Equal(t, http.StatusNoContent, f.call(t, "admin", "DELETE", "/api/v1/syncs/nl_to_crm", nil).code)
	require.Equal(t, http.StatusNotFound, f.call(t, "admin", "DELETE", "/api/v1/syncs/nl_to_crm", nil).code)
	require.Equal(t, http.StatusNotFound, f.call(t, "admin", "POST", "/api/v1/syncs/nl_to_crm/run", nil).code)
	require.Equal(t, http.StatusNoContent, f.call(t, "editor", "DELETE", "/api/v1/segments/nl_campaign", nil).code)

	var log []engine.AuditEntry
	f.call(t, "admin", "GET", "/api/v1/audit?limit=1000", nil).json(t, &log)
	var seen []string
	for _, e := range log {
		if e.Target == "nl_to_crm" {
			seen = append(seen, e.Actor+" "+e.Action)
		}
	}
	sort.Strings(seen)
	require.Equal(t, []string{"t-admin sync.delete", "t-editor sync.create", "t-marketer sync.run"}, seen)
}

// Runs last so every other test has called its routes: each operation of
// the document was exercised.
func TestZZEveryDocumentedRouteIsTested(t *testing.T) {
	demo(t)
	loadSpec(t)
	var missing []string
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			if !called[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "operations of openapi.json no test called")
}
