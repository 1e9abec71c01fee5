package destinations

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testSpec = Spec{
	Type: "tool", Title: "Tool", Region: "us", Regions: []string{"us", "eu"},
	Config: []ConfigField{
		{Name: "api_key", Type: ConfigString, Required: true, Secret: true, Description: "the API key"},
		{Name: "list_id", Type: ConfigString, Required: true, Description: "the list"},
		{Name: "double_opt_in", Type: ConfigBool, Default: false},
		{Name: "status", Type: ConfigString, Enum: []string{"subscribed", "pending"}, Default: "subscribed"},
	},
	Modes: []Mode{Upsert, Mirror}, CanDelete: true,
	Match:  []Field{{Name: "email", Type: String}, {Name: "phone", Type: String}},
	Fields: []Field{{Name: "first_name", Type: String}, {Name: "orders", Type: Integer}},
	Custom: &Custom{Pattern: `^[A-Z][A-Z0-9_]{0,9}$`, Description: "merge tags: up to 10 capitals"},
}

func TestCheckConfig(t *testing.T) {
	ps := testSpec.CheckConfig("mars", map[string]any{"api_key": 12.5, "status": "gone", "lsit_id": "x"})
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	assert.Equal(t, []string{
		`region: Tool has no region "mars" (one of us, eu)`,
		`config.list_id: Tool needs list_id: the list`,
		`config.status: "gone" is not one of subscribed, pending`,
		`config.lsit_id: Tool has no config key "lsit_id" (known: api_key, list_id, double_opt_in, status)`,
	}, got)
	for _, p := range ps {
		assert.NotContains(t, p.Msg, "12.5", "a secret is never printed back")
	}
	assert.Empty(t, testSpec.CheckConfig("EU", map[string]any{"api_key": "k", "list_id": "l"}))
}

func TestCheckMapping(t *testing.T) {
	types := map[string]string{"first_name": "text", "ltv": "number", "vip": "boolean"}
	ps := testSpec.CheckMapping(Insert, map[string]string{"mail": "email"},
		map[string]string{"first_name": "first_name", "orders": "ltv", "lowercase": "ltv", "VIP": "vip"},
		func(n string) string { return types[n] })
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	assert.Equal(t, []string{
		`mode: Tool does not support mode insert (supported: upsert, mirror)`,
		`match.mail: Tool cannot match on "mail" (one of email, phone)`,
		`fields.lowercase: Tool has no standard field "lowercase", and "lowercase" is not a valid custom field name (merge tags: up to 10 capitals)`,
		`fields.orders: Tool field orders holds a integer; trait ltv is a number`,
	}, got)
}

func TestOpenAppliesDefaults(t *testing.T) {
	var seen Config
	Register(Spec{Type: "test_open", Title: "T", Region: "eu", Config: []ConfigField{{Name: "a", Type: ConfigString, Default: "x"}}},
		func(c Config) (Destination, error) { seen = c; return nil, nil })
	_, s, err := Open("test_open", Config{Name: "d"})
	require.NoError(t, err)
	assert.Equal(t, "x", seen.String("a"))
	assert.Equal(t, "eu", seen.Region)
	assert.Equal(t, "T", s.Title)
	_, _, err = Open("test_open", Config{Name: "d", Values: map[string]any{"b": "y"}})
	assert.ErrorContains(t, err, `destination d: config.b: T has no config key "b"`)
	_, _, err = Open("nope", Config{})
	assert.ErrorContains(t, err, `unknown destination type "nope"`)
}

func TestCoerce(t *testing.T) {
	ts := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		v    any
		t    FieldType
		want any
		err  string
	}{
		{nil, String, nil, ""},
		{12.5, String, "12.5", ""},
		{ts, String, "2026-03-04T04:06:07Z", ""},
		{"3.25", Number, 3.25, ""},
		{int64(7), Integer, int64(7), ""},
		{7.5, Integer, nil, "not a whole number"},
		{"abc", Number, nil, `"abc" is not a number`},
		{"true", Boolean, true, ""},
		{ts, Date, "2026-03-04", ""},
		{"2026-01-02", Timestamp, "2026-01-02T00:00:00Z", ""},
		{true, Timestamp, nil, "cannot hold"},
	}
	for _, c := range cases {
		got, err := Coerce(c.v, c.t)
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, "%v as %s", c.v, c.t)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "%v as %s", c.v, c.t)
	}
}

func TestHashing(t *testing.T) {
	// Meta's and Google's documented example: the normalized address hashes to this.
	assert.Equal(t, SHA256("test@example.com"), SHA256(NormalizeEmail("  Test@Example.COM ")))
	assert.Equal(t, "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b", SHA256("test@example.com"))
	assert.True(t, IsSHA256(SHA256("x")))
	assert.False(t, IsSHA256("test@example.com"))
	assert.Equal(t, "31612345678", PhoneDigits("+31 6 1234 5678"))
	assert.Equal(t, "+31612345678", E164("+31 (6) 1234-5678"))
	assert.True(t, InEEA("EU"))
	assert.True(t, InEEA("eu-02"))
	assert.True(t, InEEA("nl"))
	assert.False(t, InEEA("us"))
	assert.False(t, InEEA("uk"))
}

func TestDoClassifies(t *testing.T) {
	status, retry := 0, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Equal(t, "Bearer k", r.Header.Get("Authorization"))
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"message":"vendor says no"}`))
	}))
	defer srv.Close()
	call := func() (int, error) {
		s, _, err := Do(context.Background(), srv.Client(), Request{Method: "POST", URL: srv.URL, Body: map[string]int{"a": 1},
			Header: http.Header{"Authorization": {"Bearer k"}},
			Message: func(b []byte) string {
				if strings.Contains(string(b), "vendor") {
					return "vendor says no"
				}
				return ""
			}})
		return s, err
	}
	status = 200
	_, err := call()
	require.NoError(t, err)

	status, retry = 429, "7"
	_, err = call()
	e, ok := AsError(err)
	require.True(t, ok)
	assert.True(t, e.Retryable)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
	assert.Equal(t, "HTTP 429: vendor says no", e.Error())

	status, retry = 413, ""
	_, err = call()
	e, _ = AsError(err)
	assert.True(t, e.TooLarge)
	assert.False(t, e.Retryable)

	status = 401
	_, err = call()
	e, _ = AsError(err)
	assert.False(t, e.Retryable || e.TooLarge)

	status = 502
	_, err = call()
	e, _ = AsError(err)
	assert.True(t, e.Retryable)

	srv.Close()
	_, err = call()
	e, ok = AsError(err)
	require.True(t, ok)
	assert.True(t, e.Retryable)
	assert.Equal(t, 0, e.Status)
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}
	assert.Equal(t, 90*time.Second, RetryAfter(h, now))
	assert.Equal(t, time.Duration(0), RetryAfter(http.Header{"Retry-After": {"soon"}}, now))
}

func TestRegionFrom(t *testing.T) {
	s := Spec{Type: "inst", Title: "Inst", Region: "us", Regions: []string{"us", "eu"},
		Config: []ConfigField{{Name: "instance", Type: ConfigString}},
		RegionFrom: func(cfg map[string]any) string {
			if v, _ := cfg["instance"].(string); strings.HasPrefix(v, "eu-") {
				return "eu"
			}
			return "us"
		}}
	eu := map[string]any{"instance": "eu-01"}
	assert.Equal(t, "eu", s.RegionOf("", eu), "the instance decides when region: is absent")
	assert.Equal(t, "us", s.RegionOf("", map[string]any{"instance": "us-03"}))
	assert.Empty(t, s.CheckConfig("EU", eu))
	ps := s.CheckConfig("us", eu)
	require.Len(t, ps, 1)
	assert.Equal(t, "region", ps[0].Key)
	assert.Contains(t, ps[0].Msg, "region eu")

	Register(Spec{Type: "test_region_from", Title: "R", Region: "us", RegionFrom: s.RegionFrom, Config: s.Config},
		func(c Config) (Destination, error) { assert.Equal(t, "eu", c.Region); return nil, nil })
	_, _, err := Open("test_region_from", Config{Name: "d", Values: eu})
	require.NoError(t, err)
}

func TestMatchCustom(t *testing.T) {
	s := Spec{Title: "Table", Modes: []Mode{Upsert}, Match: []Field{{Name: "email", Type: String}},
		Custom: &Custom{Pattern: `^[a-z_][a-z0-9_]*$`, Description: "lower-case column names"}}
	none := func(string) string { return "" }
	assert.NotEmpty(t, s.CheckMapping(Upsert, map[string]string{"customer_id": "customer_id"}, nil, none), "without MatchCustom only the listed keys")
	s.MatchCustom = true
	assert.Empty(t, s.CheckMapping(Upsert, map[string]string{"customer_id": "customer_id"}, nil, none))
	ps := s.CheckMapping(Upsert, map[string]string{"Customer ID": "customer_id"}, nil, none)
	require.Len(t, ps, 1)
	assert.Equal(t, "match.Customer ID", ps[0].Key)
}

func TestDoDecodesOut(t *testing.T) {
	body := `{"id":"42"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) }))
	defer srv.Close()
	var out struct{ ID string }
	_, _, err := Do(context.Background(), srv.Client(), Request{Method: "GET", URL: srv.URL + "/things?x=1", Out: &out})
	require.NoError(t, err)
	assert.Equal(t, "42", out.ID)

	body = "<html>proxy error</html>"
	_, _, err = Do(context.Background(), srv.Client(), Request{Method: "GET", URL: srv.URL + "/things?x=1", Out: &out})
	e, ok := AsError(err)
	require.True(t, ok)
	assert.True(t, e.Retryable, "a half-understood answer is asked again")
	assert.Contains(t, e.Message, "the answer to GET /things is not the JSON expected")
}
