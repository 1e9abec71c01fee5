package braze_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/braze"
	"github.com/cohort-cdp/cohort/engine/destinations/braze/fake"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

func open(t *testing.T, f *fake.Server, cfg map[string]any) destinations.Destination {
	t.Helper()
	values := map[string]any{"api_key": fake.APIKey, "instance": "eu-01", "endpoint": f.URL()}
	for k, v := range cfg {
		values[k] = v
	}
	d, _, err := destinations.Open("braze", destinations.Config{Name: "braze", Values: values})
	require.NoError(t, err)
	return d
}

func add(id string, key map[string]string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: id, Op: destinations.Add, ProfileID: "p" + id, Key: key, Fields: fields}
}

func TestWriteCreatesProfilesWithAttributesMembershipAndGroups(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	d := open(t, f, map[string]any{"subscription_groups": []any{"sg_news"}})
	dob := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	b := &destinations.Batch{Sync: "vip_to_braze", Segment: "vip", Mode: destinations.Mirror, Records: []destinations.Record{
		add("1", map[string]string{"external_id": "cus_1", "email": "ada@example.com"},
			map[string]any{"first_name": "Ada", "dob": dob, "country": "nl", "ltv": 310.5, "orders": int64(4), "vip_since": dob}),
		add("2", map[string]string{"email": "bob@example.com"}, map[string]any{"first_name": "Bob"}),
		add("3", map[string]string{"phone": "+31 6 1234 5678"}, nil),
	}}
	res, err := d.Write(context.Background(), b)
	require.NoError(t, err)
	assert.Equal(t, []string{"accepted", "accepted", "accepted"}, destinationstest.Outcomes(res))

	users := f.Users()
	require.Len(t, users, 3)
	ada := users[0]
	assert.Equal(t, "cus_1", ada.ExternalID)
	assert.Equal(t, "ada@example.com", ada.Email)
	assert.Equal(t, map[string]any{"first_name": "Ada", "dob": "1990-05-17", "country": "NL", "ltv": 310.5,
		"orders": float64(4), "vip_since": "1990-05-17T00:00:00Z", "cohort_vip": true}, ada.Attributes)
	assert.Equal(t, map[string]string{"sg_news": "subscribed"}, ada.Groups)
	assert.Equal(t, "bob@example.com", users[1].Email, "an e-mail alone identifies (and creates) a profile")
	assert.Equal(t, "+31612345678", users[2].Phone, "phone is sent in E.164")
	assert.Len(t, f.Members(), 3)
	body := f.Bodies()[0]["attributes"].([]any)[0].(map[string]any)
	assert.NotContains(t, body, "_update_existing_only", "an add may create the profile")
}

func TestRemovalClearsMembershipAndUnsubscribesWithoutCreating(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	d := open(t, f, map[string]any{"subscription_groups": []any{"sg_news"}})
	ctx := context.Background()
	_, err := d.Write(ctx, &destinations.Batch{Segment: "vip", Records: []destinations.Record{
		add("1", map[string]string{"external_id": "cus_1"}, map[string]any{"first_name": "Ada"})}})
	require.NoError(t, err)
	res, err := d.Write(ctx, &destinations.Batch{Segment: "vip", Mode: destinations.Mirror, Records: []destinations.Record{
		{ID: "r1", Op: destinations.Remove, Key: map[string]string{"external_id": "cus_1"}},
		{ID: "r2", Op: destinations.Remove, Key: map[string]string{"external_id": "never_seen"}},
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"accepted", "accepted"}, destinationstest.Outcomes(res))
	users := f.Users()
	require.Len(t, users, 1, "a removal never creates a profile")
	assert.Equal(t, false, users[0].Attributes["cohort_vip"])
	assert.Equal(t, "Ada", users[0].Attributes["first_name"], "removal leaves the other attributes alone")
	assert.Equal(t, map[string]string{"sg_news": "unsubscribed"}, users[0].Groups)
	assert.Empty(t, f.Members())
}

func TestPerRecordRejections(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	d := open(t, f, nil)
	f.Reject("cus_blocked")
	res, err := d.Write(context.Background(), &destinations.Batch{Segment: "vip", Records: []destinations.Record{
		add("1", map[string]string{"external_id": "cus_1"}, map[string]any{"first_name": "Ada"}),
		add("2", map[string]string{"external_id": ""}, nil),
		add("3", map[string]string{"external_id": "cus_3"}, map[string]any{"gender": "female"}),
		add("4", map[string]string{"external_id": "cus_blocked"}, nil),
		add("5", map[string]string{"external_id": "cus_5"}, map[string]any{"bio": strings.Repeat("x", 256)}),
		add("6", map[string]string{"external_id": "cus_6"}, map[string]any{"email_subscribe": "yes"}),
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"accepted",
		"rejected: no external_id, email or phone to identify the person in Braze",
		`rejected: field gender: "FEMALE" is not a Braze gender (M, F, O, N, P or U)`,
		"rejected: provided external_id is blacklisted and disallowed",
		"rejected: field bio: 256 characters; Braze holds at most 255 in a string attribute",
		`rejected: field email_subscribe: "yes" is not opted_in, subscribed or unsubscribed`,
	}, destinationstest.Outcomes(res))
	sent := f.Bodies()[0]["attributes"].([]any)
	assert.Len(t, sent, 2, "records rejected before sending are not sent")
}

func TestEveryObjectInvalidIs400WithPerRecordErrors(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	d := open(t, f, nil)
	f.Reject("cus_1")
	f.Reject("cus_2")
	res, err := d.Write(context.Background(), &destinations.Batch{Segment: "vip", Records: []destinations.Record{
		add("1", map[string]string{"external_id": "cus_1"}, nil),
		add("2", map[string]string{"external_id": "cus_2"}, nil),
	}})
	require.NoError(t, err, "Braze's 400 naming every object is per-record, not a failed run")
	assert.Equal(t, []string{
		"rejected: provided external_id is blacklisted and disallowed",
		"rejected: provided external_id is blacklisted and disallowed",
	}, destinationstest.Outcomes(res))
}

func TestNullRemovesAttribute(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	d := open(t, f, nil)
	ctx := context.Background()
	for _, v := range []any{"Ada", nil} {
		_, err := d.Write(ctx, &destinations.Batch{Segment: "vip", Records: []destinations.Record{
			{ID: "1", Op: destinations.Update, Key: map[string]string{"external_id": "cus_1"}, Fields: map[string]any{"first_name": v}}}})
		require.NoError(t, err)
	}
	assert.NotContains(t, f.Users()[0].Attributes, "first_name")
}

func TestKeyOfAnotherInstanceIs401(t *testing.T) {
	f := fake.New("us-03")
	defer f.Close()
	f.AddKey("eu-key", "eu-01", "users.track")
	d := open(t, f, map[string]any{"api_key": "eu-key", "instance": "us-03"})
	_, err := d.Write(context.Background(), &destinations.Batch{Segment: "vip", Records: []destinations.Record{
		add("1", map[string]string{"external_id": "cus_1"}, nil)}})
	e, ok := destinations.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, http.StatusUnauthorized, e.Status)
	assert.False(t, e.Retryable)
	assert.Contains(t, e.Message, "Invalid API Key")
	assert.Contains(t, e.Message, "check config.instance, now us-03")
	assert.ErrorContains(t, d.(destinations.Checker).Check(context.Background()), "401")
	assert.Equal(t, 0, len(f.Users()))
}

func TestCheck(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	assert.NoError(t, open(t, f, nil).(destinations.Checker).Check(context.Background()))
	assert.Empty(t, f.Users(), "the check writes nothing")
	f.AddKey("no-track", "eu-01", "users.delete")
	err := open(t, f, map[string]any{"api_key": "no-track"}).(destinations.Checker).Check(context.Background())
	assert.ErrorContains(t, err, "HTTP 403: Access Denied (the key lacks the permission for /users/track")
}

func TestRegionFollowsInstance(t *testing.T) {
	s, err := destinations.Lookup("braze")
	require.NoError(t, err)
	assert.Equal(t, "eu", s.RegionOf("", map[string]any{"instance": "eu-02"}))
	assert.Equal(t, "us", s.RegionOf("", map[string]any{"instance": "us-10"}))
	ps := s.CheckConfig("us", map[string]any{"api_key": "k", "instance": "eu-01"})
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error(), "region: Braze keeps this account's data in region eu")
	ps = s.CheckConfig("", map[string]any{"api_key": "k", "instance": "EU-01"})
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error(), `config.instance: "EU-01" is not one of us-01`)
}

func TestMappingChecks(t *testing.T) {
	ps := braze.Spec.CheckMapping(destinations.Mirror, map[string]string{"external_id": "customer_id"},
		map[string]string{"$revenue": "ltv", "dob": "first_name", "first_name": "first_name", "ltv": "ltv"},
		func(trait string) string { return map[string]string{"ltv": "number", "first_name": "text"}[trait] })
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	assert.Equal(t, []string{
		`fields.$revenue: Braze has no standard field "$revenue", and "$revenue" is not a valid custom field name (custom attribute names up to 255 characters, not starting with $ or a space)`,
		`fields.dob: Braze field dob holds a date; trait first_name is a text`,
	}, got)
}

func TestFailuresAreClassified(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	d := open(t, f, nil)
	b := &destinations.Batch{Segment: "vip", Records: []destinations.Record{add("1", map[string]string{"external_id": "cus_1"}, nil)}}
	f.Fail(1, http.StatusTooManyRequests)
	_, err := d.Write(context.Background(), b)
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.True(t, e.Retryable)
	assert.Equal(t, time.Second, e.RetryAfter)
	assert.Equal(t, "Rate Limited", e.Message)
	f.Fail(1, http.StatusInternalServerError)
	_, err = d.Write(context.Background(), b)
	e, _ = destinations.AsError(err)
	assert.True(t, e.Retryable)
	assert.Empty(t, f.Users(), "a failed request takes nothing")
	_, err = d.Write(context.Background(), b)
	require.NoError(t, err)
	assert.Equal(t, 3, f.Requests())
}

func TestSpecBatchFitsEveryAccount(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	f.MaxObjects = 50 // the MAU CY 24-25 packages
	d := open(t, f, nil)
	b := &destinations.Batch{Segment: "vip"}
	for i := 0; i < braze.Spec.Limits.BatchRecords; i++ {
		b.Records = append(b.Records, add("x", map[string]string{"external_id": "cus_" + string(rune('A'+i%26)) + string(rune('a'+i/26))}, nil))
	}
	res, err := d.Write(context.Background(), b)
	require.NoError(t, err)
	assert.Len(t, res.Records, 50)
	assert.Len(t, f.Members(), 50)
	b.Records = append(b.Records, b.Records[0])
	f.MaxObjects = 50
	_, err = d.Write(context.Background(), b)
	assert.ErrorContains(t, err, "HTTP 400: Max Input Length Exceeded", "the fake holds Braze's cap")
}

func TestErase(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	d := open(t, f, nil)
	ctx := context.Background()
	_, err := d.Write(ctx, &destinations.Batch{Segment: "vip", Records: []destinations.Record{
		add("1", map[string]string{"external_id": "cus_1", "email": "ada@example.com"}, nil),
		add("2", map[string]string{"email": "ada@example.com"}, nil), // updates cus_1: it has the address and an external id
		add("3", map[string]string{"email": "bob@example.com"}, nil),
		add("4", map[string]string{"phone": "+15550100"}, nil),
		add("5", map[string]string{"external_id": "cus_5"}, nil),
	}})
	require.NoError(t, err)
	require.Len(t, f.Users(), 4)
	res, err := d.(destinations.Eraser).Erase(ctx, &destinations.Batch{Records: []destinations.Record{
		{ID: "e1", Op: destinations.Remove, Key: map[string]string{"external_id": "cus_1", "email": "ada@example.com"}},
		{ID: "e2", Op: destinations.Remove, Key: map[string]string{"email": "bob@example.com"}},
		{ID: "e3", Op: destinations.Remove, Key: map[string]string{"phone": "+1 555 0100"}},
		{ID: "e4", Op: destinations.Remove, Key: map[string]string{}},
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"accepted", "accepted", "accepted", "rejected: no external_id, email or phone to find the person in Braze"}, destinationstest.Outcomes(res))
	assert.Equal(t, []string{"cus_1", "bob@example.com", "+15550100"}, f.Erased())
	left := f.Users()
	require.Len(t, left, 1)
	assert.Equal(t, "cus_5", left[0].ExternalID)

	f.AddKey("track-only", "eu-01", "users.track")
	_, err = open(t, f, map[string]any{"api_key": "track-only"}).(destinations.Eraser).Erase(ctx, &destinations.Batch{
		Records: []destinations.Record{{ID: "e5", Op: destinations.Remove, Key: map[string]string{"external_id": "cus_5"}}}})
	assert.ErrorContains(t, err, "HTTP 403: Access Denied (the key lacks the permission for /users/delete")
}

func TestRateLimitResetIsTheWaitWithoutRetryAfter(t *testing.T) {
	f := fake.New("eu-01")
	defer f.Close()
	f.ResetOnly = 30 * time.Second
	d := open(t, f, nil)
	f.Fail(1, http.StatusTooManyRequests)
	_, err := d.Write(context.Background(), &destinations.Batch{Segment: "vip", Records: []destinations.Record{
		add("1", map[string]string{"external_id": "cus_1"}, nil)}})
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.True(t, e.Retryable)
	// X-RateLimit-Reset has whole seconds: the wait is within a second of 30 s.
	assert.Greater(t, e.RetryAfter, 28*time.Second)
	assert.LessOrEqual(t, e.RetryAfter, 30*time.Second)
}
