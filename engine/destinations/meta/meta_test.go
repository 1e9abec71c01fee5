package meta_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/meta"
	"github.com/cohort-cdp/cohort/engine/destinations/meta/fake"
)

var h = destinations.SHA256

func open(t *testing.T, f *fake.Server, over map[string]any) destinations.Destination {
	t.Helper()
	cfg := f.Config()
	for k, v := range over {
		cfg[k] = v
	}
	d, spec, err := destinations.Open(meta.Type, destinations.Config{Name: "meta", Values: cfg})
	require.NoError(t, err)
	assert.Equal(t, 10000, spec.Limits.BatchRecords)
	return d
}

func newFake(t *testing.T) *fake.Server {
	f := fake.New()
	t.Cleanup(f.Close)
	return f
}

func add(id, email string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: id, Op: destinations.Add, ProfileID: "p" + id, Key: map[string]string{"email": email}, Fields: fields}
}

func TestRowNormalizesAndHashesAsMetaDocuments(t *testing.T) {
	r := destinations.Record{Op: destinations.Add,
		Key: map[string]string{"email": "  Ada.Lovelace@Example.COM ", "phone": "+31 (0)6 1234 5678", "external_id": " C-17 "},
		Fields: map[string]any{"first_name": "Zoë-Anne", "last_name": "O'Neil", "gender": "Female", "birth_date": "1990-07-04",
			"city": "Den Haag", "state": "ZH", "zip": "12345-6789", "country": "NL"}}
	// "+31 (0)6 …" keeps the (0): digits only gives 310612345678, as Meta's own rule would.
	row, err := meta.Row(&r)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"EMAIL": h("ada.lovelace@example.com"), "PHONE": h("310612345678"), "EXTERN_ID": "C-17",
		"FN": h("zoëanne"), "LN": h("oneil"), "GEN": h("f"), "DOBY": h("1990"), "DOBM": h("07"), "DOBD": h("04"),
		"CT": h("denhaag"), "ST": h("zh"), "ZIP": h("12345"), "COUNTRY": h("nl"),
	}, row)

	r.Op, r.Fields = destinations.Remove, nil
	row, err = meta.Row(&r)
	require.NoError(t, err)
	assert.Len(t, row, 3, "a removal sends the match keys only")

	for _, c := range []struct {
		key, fields map[string]string
		err         string
	}{
		{map[string]string{"email": "not-an-address"}, nil, `email "not-an-address" is not an e-mail address`},
		{map[string]string{"phone": "0612345678"}, nil, `phone "0612345678" has no country code`},
		{map[string]string{"phone": "+31 6"}, nil, `is not a phone number with country code`},
		{map[string]string{"mobile_advertiser_id": "abc"}, nil, `is not a mobile advertiser id`},
		{map[string]string{"email": " "}, nil, `no e-mail, phone, external_id or mobile_advertiser_id to match on`},
		{map[string]string{"email": "a@b.nl"}, map[string]string{"country": "Netherlands"}, `country "Netherlands" is not a two-letter ISO 3166-1 country code`},
		{map[string]string{"email": "a@b.nl"}, map[string]string{"gender": "x"}, `gender "x" is not m or f`},
		{map[string]string{"email": "a@b.nl"}, map[string]string{"birth_date": "1990-13-01"}, `birth_date "1990-13-01" is not a date`},
	} {
		f := map[string]any{}
		for k, v := range c.fields {
			f[k] = v
		}
		_, err := meta.Row(&destinations.Record{Op: destinations.Add, Key: c.key, Fields: f})
		assert.ErrorContains(t, err, c.err)
	}
}

func TestWriteAddsUpdatesAndRemoves(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	ctx := context.Background()
	b := &destinations.Batch{Sync: "s", Mode: destinations.Mirror, IdempotencyKey: "k1", Records: []destinations.Record{
		add("1", "ada@example.com", map[string]any{"first_name": "Ada", "country": "nl"}),
		add("2", "bob@", nil),
		add("3", "cy@example.com", map[string]any{"first_name": nil}),
	}}
	res, err := d.Write(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, destinations.Rejected, res.Records[1].Outcome)
	assert.Equal(t, `email "bob@" is not an e-mail address`, res.Records[1].Reason)
	assert.Equal(t, destinations.Accepted, res.Records[2].Outcome)
	calls := f.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, 2, calls[0].Rows, "the invalid row is never sent")
	assert.Equal(t, []string{"EMAIL", "FN", "COUNTRY"}, calls[0].Schema)
	assert.Equal(t, true, calls[0].Session["last_batch_flag"])
	assert.Equal(t, map[string]map[string]any{
		h("ada@example.com"): {"EMAIL": h("ada@example.com"), "FN": h("ada"), "COUNTRY": h("nl")},
		h("cy@example.com"):  {"EMAIL": h("cy@example.com")},
	}, f.Members())

	// The same batch again is the same session: a resend, not a new upload.
	_, err = d.Write(ctx, b)
	require.NoError(t, err)
	assert.Len(t, f.Sessions(), 1)

	rm := &destinations.Batch{Sync: "s", Mode: destinations.Mirror, IdempotencyKey: "k2", Records: []destinations.Record{
		{ID: "4", Op: destinations.Remove, Key: map[string]string{"email": "ADA@example.com"}},
	}}
	res, err = d.Write(ctx, rm)
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, "DELETE", f.Calls()[2].Method)
	assert.NotContains(t, f.Members(), h("ada@example.com"))
	assert.Contains(t, f.Members(), h("cy@example.com"))
}

func TestInvalidSamplesBecomeRejections(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	f.Reject(h("bad@example.com"))
	res, err := d.Write(context.Background(), &destinations.Batch{IdempotencyKey: "k", Records: []destinations.Record{
		add("1", "bad@example.com", map[string]any{"country": "nl"}),
		add("2", "good@example.com", map[string]any{"country": "nl"}),
	}})
	require.NoError(t, err)
	assert.Equal(t, destinations.RecordResult{Outcome: destinations.Rejected, Reason: "Meta: The data for this customer is invalid"}, res.Records[0])
	assert.Equal(t, destinations.Accepted, res.Records[1].Outcome, "a shared country hash does not reject its neighbours")
}

func TestErrorsAreClassified(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	ctx := context.Background()
	b := &destinations.Batch{IdempotencyKey: "k", Records: []destinations.Record{add("1", "ada@example.com", nil)}}

	f.Fail(1, 429)
	_, err := d.Write(ctx, b)
	e, ok := destinations.AsError(err)
	require.True(t, ok, "%v", err)
	assert.True(t, e.Retryable)
	assert.Equal(t, time.Second, e.RetryAfter)
	assert.Contains(t, e.Message, "code 80003")

	f.Fail(1, 503)
	_, err = d.Write(ctx, b)
	e, _ = destinations.AsError(err)
	assert.True(t, e.Retryable)

	f.Fail(1, 413)
	_, err = d.Write(ctx, b)
	e, _ = destinations.AsError(err)
	assert.True(t, e.TooLarge)

	assert.Equal(t, 3, f.Requests())
	assert.Empty(t, f.Members(), "failed requests changed nothing")

	wrong := open(t, f, map[string]any{"access_token": "expired"})
	_, err = wrong.Write(ctx, b)
	e, _ = destinations.AsError(err)
	require.NotNil(t, e)
	assert.False(t, e.Retryable)
	assert.Equal(t, "HTTP 401: Invalid OAuth access token - Cannot parse access token (code 190)", e.Error())

	f.Flag()
	_, err = d.Write(ctx, b)
	assert.ErrorContains(t, err, "Invalid parameter (code 100, subcode 1713230): Before updating user memberships")
}

// Meta throttles with HTTP 400 and an error code; the wait is in a header.
func TestThrottleByCodeWaitsAsTheUsageHeaderSays(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Business-Use-Case-Usage", `{"99":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":3}]}`)
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":{"message":"(#17) User request limit reached","type":"OAuthException","code":17,"error_subcode":2446079}}`))
	}))
	defer srv.Close()
	d, _, err := destinations.Open(meta.Type, destinations.Config{Values: map[string]any{"access_token": "t", "audience_id": "1", "endpoint": srv.URL}})
	require.NoError(t, err)
	_, err = d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{add("1", "a@b.nl", nil)}})
	e, _ := destinations.AsError(err)
	require.NotNil(t, e)
	assert.True(t, e.Retryable)
	assert.Equal(t, 3*time.Minute, e.RetryAfter)
}

func TestCheck(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	require.NoError(t, open(t, f, nil).(destinations.Checker).Check(ctx))
	err := open(t, f, map[string]any{"audience_id": "42"}).(destinations.Checker).Check(ctx)
	assert.ErrorContains(t, err, "Object with ID '42' does not exist")
	err = open(t, f, map[string]any{"access_token": "nope"}).(destinations.Checker).Check(ctx)
	assert.ErrorContains(t, err, "Invalid OAuth access token")
	f.Flag()
	err = open(t, f, nil).(destinations.Checker).Check(ctx)
	assert.ErrorContains(t, err, "is flagged and takes no uploads")

	f.Subtype = "LOOKALIKE"
	err = open(t, f, nil).(destinations.Checker).Check(ctx)
	assert.ErrorContains(t, err, "is a LOOKALIKE audience; people can be added only to a customer list")
}

func TestEraseRemovesFromTheAudience(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	ctx := context.Background()
	_, err := d.Write(ctx, &destinations.Batch{IdempotencyKey: "a", Records: []destinations.Record{add("1", "ada@example.com", nil)}})
	require.NoError(t, err)
	res, err := d.(destinations.Eraser).Erase(ctx, &destinations.Batch{IdempotencyKey: "e", Records: []destinations.Record{
		{ID: "e1", Op: destinations.Remove, Key: map[string]string{"email": "ada@example.com"}}}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Empty(t, f.Members())
	assert.Equal(t, []string{h("ada@example.com")}, f.Erased())
}
