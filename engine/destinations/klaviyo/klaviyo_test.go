package klaviyo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/klaviyo/fake"
)

func open(t *testing.T, f *fake.Fake, cfg map[string]any) *Destination {
	t.Helper()
	values := map[string]any{"api_key": fake.Key, "list_id": fake.ListID, "endpoint": f.URL()}
	for k, v := range cfg {
		values[k] = v
	}
	d, _, err := destinations.Open("klaviyo", destinations.Config{Name: "klaviyo", Values: values})
	require.NoError(t, err)
	k := d.(*Destination)
	k.poll = time.Millisecond
	return k
}

func add(email string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: "c-" + email, Op: destinations.Add, Key: map[string]string{"email": email}, Fields: fields}
}

func remove(email, ref string) destinations.Record {
	return destinations.Record{ID: "r-" + email, Op: destinations.Remove, Key: map[string]string{"email": email}, Ref: ref}
}

func write(t *testing.T, d destinations.Destination, recs ...destinations.Record) destinations.Result {
	t.Helper()
	res, err := d.Write(context.Background(), &destinations.Batch{Records: recs})
	require.NoError(t, err)
	require.Len(t, res.Records, len(recs))
	return res
}

func since(log []string, n int) []string {
	out := []string{}
	for _, l := range log[n:] {
		out = append(out, strings.SplitN(l, "?", 2)[0])
	}
	return out
}

func TestImportJobPolledUntilComplete(t *testing.T) {
	f := fake.New(t)
	f.PollsToComplete = 3
	d := open(t, f, nil)
	signup := time.Date(2025, 3, 9, 14, 0, 0, 0, time.UTC)
	res := write(t, d,
		add("Ada@Example.com", map[string]any{"first_name": "Ada", "city": "Gent", "latitude": 51.05, "ltv": 310.5, "vip": true, "signed_up_at": signup}),
		destinations.Record{ID: "c-bob", Op: destinations.Add, Key: map[string]string{"phone_number": "+31 6 1234 5678", "external_id": "cus_7"},
			Fields: map[string]any{"first_name": "Bob"}},
	)
	require.Equal(t, destinations.Accepted, res.Records[0].Outcome, res.Records[0].Reason)
	require.Equal(t, destinations.Accepted, res.Records[1].Outcome, res.Records[1].Reason)
	p := f.Profile("ada@example.com")
	require.NotNil(t, p)
	assert.Equal(t, p.ID, res.Records[0].Ref, "the import's profile id is kept")
	assert.Equal(t, map[string]any{"email": "ada@example.com", "first_name": "Ada", "location": map[string]any{"city": "Gent", "latitude": 51.05},
		"properties": map[string]any{"ltv": 310.5, "vip": true, "signed_up_at": "2025-03-09T14:00:00Z"}}, p.Attributes)
	assert.Len(t, f.Members(), 2)
	assert.Equal(t, []string{"POST /api/profile-bulk-import-jobs", "GET /api/profile-bulk-import-jobs/" + strings.TrimPrefix(f.Log[1], "GET /api/profile-bulk-import-jobs/"),
		f.Log[1], f.Log[1], "GET /api/profile-bulk-import-jobs/" + strings.TrimPrefix(f.Log[1], "GET /api/profile-bulk-import-jobs/") + "/profiles"}, since(f.Log, 0),
		"created, looked at until complete (3 looks), then its profiles read; no import errors to read")

	// An update sends only what changed; a NULL clears it.
	res = write(t, d, add("ada@example.com", map[string]any{"ltv": nil, "city": "Brussel"}))
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, map[string]any{"first_name": "Ada", "city": "Brussel", "latitude": 51.05, "vip": true, "signed_up_at": "2025-03-09T14:00:00Z"},
		f.Members()["ada@example.com"])
}

func TestImportErrorsRejectTheirRecords(t *testing.T) {
	f := fake.New(t)
	f.Reject("eve@example.com")
	d := open(t, f, nil)
	res := write(t, d,
		add("ada@example.com", map[string]any{"first_name": "Ada"}),
		add("not-an-address", nil),
		destinations.Record{ID: "p", Op: destinations.Add, Key: map[string]string{"email": "pat@example.com", "phone_number": "12"}},
		add("eve@example.com", nil),
		destinations.Record{ID: "none", Op: destinations.Add, Key: map[string]string{}},
		add("ada@example.com", map[string]any{"first_name": "Ada again"}),
	)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, destinations.RecordResult{Outcome: destinations.Rejected, Reason: "Invalid input. 'not-an-address' is not a valid email address. (/data/attributes/email)"}, res.Records[1])
	assert.Equal(t, destinations.RecordResult{Outcome: destinations.Rejected, Reason: "Invalid input. Invalid phone number format (/data/attributes/phone_number)"}, res.Records[2])
	assert.Equal(t, destinations.Rejected, res.Records[3].Outcome)
	assert.Equal(t, destinations.RecordResult{Outcome: destinations.Rejected, Reason: "no email, phone_number or external_id to identify the profile by"}, res.Records[4])
	assert.Equal(t, destinations.Retry, res.Records[5].Outcome, "one import per profile and job")
	assert.Equal(t, []string{"ada@example.com"}, keys(f.Members()))
}

func TestLargeJobReadsEveryPage(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	var recs []destinations.Record
	for i := 0; i < 1234; i++ {
		recs = append(recs, add(fmt.Sprintf("p%04d@example.com", i), map[string]any{"orders": int64(i)}))
	}
	res := write(t, d, recs...)
	refs := map[string]bool{}
	for i, r := range res.Records {
		require.Equal(t, destinations.Accepted, r.Outcome, "%d: %s", i, r.Reason)
		refs[r.Ref] = true
	}
	assert.Len(t, refs, 1234, "every record has its own profile id")
	pages := 0
	for _, l := range f.Log {
		if strings.Contains(l, "/profiles?") {
			pages++
		}
	}
	assert.Equal(t, 13, pages, "1,234 profiles in pages of 100")

	// Removing them all takes two calls of at most 1,000 ids.
	var rems []destinations.Record
	for i, r := range recs {
		rems = append(rems, remove(r.Key["email"], res.Records[i].Ref))
	}
	n := len(f.Log)
	write(t, d, rems...)
	assert.Equal(t, []string{"DELETE /api/lists/Xy12Ab/relationships/profiles", "DELETE /api/lists/Xy12Ab/relationships/profiles"}, since(f.Log, n))
	assert.Empty(t, f.Members())
}

func TestRemovalWithoutRefLooksUpTheProfile(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	res := write(t, d, add("ada@example.com", nil), add("bob@example.com", nil), add("cy@example.com", nil))
	res = write(t, d, remove("ada@example.com", res.Records[0].Ref), remove("bob@example.com", ""), remove("nobody@example.com", ""))
	for _, r := range res.Records {
		assert.Equal(t, destinations.Accepted, r.Outcome)
	}
	assert.Equal(t, f.Profile("bob@example.com").ID, res.Records[1].Ref)
	assert.Empty(t, res.Records[2].Ref)
	assert.Equal(t, []string{"cy@example.com"}, keys(f.Members()))
	assert.NotNil(t, f.Profile("ada@example.com"), "leaving the list keeps the profile")
	assert.Contains(t, f.Log[len(f.Log)-2], `GET /api/profiles?fields%5Bprofile%5D=email&filter=any%28email%2C%5B%22bob%40example.com%22%2C%22nobody%40example.com%22%5D%29`)
}

func TestWithoutListMirrorIsAConfigError(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, map[string]any{"list_id": nil})
	write(t, d, add("ada@example.com", nil))
	assert.NotNil(t, f.Profile("ada@example.com"))
	assert.Empty(t, f.Members())
	_, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{remove("ada@example.com", "")}})
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.False(t, e.Retryable)
	assert.Contains(t, e.Message, "no config.list_id")
}

func TestWholeRequestFailures(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	batch := &destinations.Batch{Records: []destinations.Record{add("ada@example.com", nil)}}
	f.Fail(1, 429)
	_, err := d.Write(context.Background(), batch)
	e, _ := destinations.AsError(err)
	require.NotNil(t, e)
	assert.True(t, e.Retryable)
	assert.Equal(t, time.Second, e.RetryAfter)
	assert.Equal(t, "HTTP 429: Request was throttled. Request was throttled. Expected available in 1 second.", e.Error())

	f.Fail(1, 413)
	_, err = d.Write(context.Background(), batch)
	e, _ = destinations.AsError(err)
	assert.True(t, e.TooLarge)

	wrong := open(t, f, map[string]any{"api_key": "pk_wrong"})
	_, err = wrong.Write(context.Background(), batch)
	assert.ErrorContains(t, err, "HTTP 401: Authentication credentials were not provided. Missing or invalid private key.")

	future := open(t, f, map[string]any{"revision": "2099-01-01"})
	_, err = future.Write(context.Background(), batch)
	assert.ErrorContains(t, err, `HTTP 400: Invalid input. Invalid revision "2099-01-01".`)
	assert.ErrorContains(t, future.Check(context.Background()), "check config.revision")
}

func TestEraseByOneIdentifier(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	res := write(t, d, add("ada@example.com", nil), add("bob@example.com", nil),
		destinations.Record{ID: "c", Op: destinations.Add, Key: map[string]string{"phone_number": "+32470123456"}})
	cy := res.Records[2].Ref
	res, err := d.Erase(context.Background(), &destinations.Batch{Records: []destinations.Record{
		remove("ada@example.com", ""),
		{ID: "b", Op: destinations.Remove, Key: map[string]string{}, Ref: res.Records[1].Ref},
		{ID: "c", Op: destinations.Remove, Key: map[string]string{"phone_number": "+32470123456"}, Ref: cy},
		{ID: "d", Op: destinations.Remove, Key: map[string]string{}},
	}})
	require.NoError(t, err)
	assert.Equal(t, []destinations.Outcome{destinations.Accepted, destinations.Accepted, destinations.Accepted, destinations.Rejected},
		[]destinations.Outcome{res.Records[0].Outcome, res.Records[1].Outcome, res.Records[2].Outcome, res.Records[3].Outcome})
	assert.Equal(t, []string{"ada@example.com", f.Erased()[1], "+32470123456"}, f.Erased())
	assert.Empty(t, f.Members())
}

func TestCheck(t *testing.T) {
	f := fake.New(t)
	assert.NoError(t, open(t, f, nil).Check(context.Background()))
	assert.NoError(t, open(t, f, map[string]any{"list_id": nil}).Check(context.Background()))
	assert.ErrorContains(t, open(t, f, map[string]any{"list_id": "Nope12"}).Check(context.Background()),
		"Klaviyo has no list Nope12 (HTTP 404: Not found. A list with id Nope12 does not exist.): check config.list_id")
	assert.ErrorContains(t, open(t, f, map[string]any{"api_key": "pk_x"}).Check(context.Background()), "Klaviyo refused the API key")
}

func TestSpecMapping(t *testing.T) {
	ps := Spec.CheckMapping(destinations.Mirror, map[string]string{"email": "email", "phone_number": "phone"},
		map[string]string{"first_name": "first_name", "Lifetime Value": "ltv", "$email": "email"}, func(string) string { return "" })
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error(), `fields.$email: Klaviyo has no standard field "$email"`)
	assert.NotEmpty(t, Spec.CheckConfig("eu", map[string]any{"api_key": "pk"}), "Klaviyo has no EU hosting")
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
