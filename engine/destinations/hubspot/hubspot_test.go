package hubspot_test

import (
	"context"
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/hubspot"
	"github.com/cohort-cdp/cohort/engine/destinations/hubspot/fake"
	"github.com/cohort-cdp/cohort/engine/sync"
)

func open(t *testing.T, f *fake.Fake, cfg map[string]any) destinations.Destination {
	t.Helper()
	values := map[string]any{"access_token": fake.Token, "list_id": fake.ListID, "endpoint": f.URL()}
	for k, v := range cfg {
		values[k] = v
	}
	d, _, err := destinations.Open("hubspot", destinations.Config{Name: "crm", Values: values})
	require.NoError(t, err)
	return d
}

func add(email string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: "c-" + email, Op: destinations.Add, ProfileID: "p-" + email, Key: map[string]string{"email": email}, Fields: fields}
}

func remove(email, ref string) destinations.Record {
	return destinations.Record{ID: "r-" + email, Op: destinations.Remove, ProfileID: "p-" + email, Key: map[string]string{"email": email}, Ref: ref}
}

func write(t *testing.T, d destinations.Destination, recs ...destinations.Record) destinations.Result {
	t.Helper()
	res, err := d.Write(context.Background(), &destinations.Batch{Sync: "vip_to_hubspot", Mode: destinations.Mirror, Records: recs})
	require.NoError(t, err)
	require.Len(t, res.Records, len(recs))
	return res
}

func TestUpsertAddsToListWithStringValues(t *testing.T) {
	f := fake.New(t)
	f.Define("ltv", "vip")
	d := open(t, f, nil)
	res := write(t, d,
		add("ada@example.com", map[string]any{"firstname": "Ada", "ltv": 310.5, "vip": true, "date_of_birth": "1815-12-10"}),
		add("bob@example.com", map[string]any{"firstname": "Bob", "ltv": int64(12)}),
		add("not-an-address", map[string]any{"firstname": "X"}),
	)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, destinations.Accepted, res.Records[1].Outcome)
	assert.NotEmpty(t, res.Records[0].Ref)
	assert.NotEqual(t, res.Records[0].Ref, res.Records[1].Ref)
	assert.Equal(t, destinations.Rejected, res.Records[2].Outcome)
	assert.Contains(t, res.Records[2].Reason, `"not-an-address" is not an e-mail address`)
	assert.Equal(t, map[string]map[string]any{
		"ada@example.com": {"firstname": "Ada", "ltv": "310.5", "vip": "true", "date_of_birth": "1815-12-10"},
		"bob@example.com": {"firstname": "Bob", "ltv": "12"},
	}, f.Members())
	assert.Equal(t, []string{"PUT /crm/v3/lists/123/memberships/add"}, f.Log[len(f.Log)-1:])

	// An update keeps the id, a null clears the property.
	res = write(t, d, add("ada@example.com", map[string]any{"firstname": "Ada", "ltv": nil}))
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, map[string]any{"firstname": "Ada", "vip": "true", "date_of_birth": "1815-12-10"}, f.Members()["ada@example.com"])
}

func TestPerRecordErrorsCarryHubSpotsMessage(t *testing.T) {
	f := fake.New(t)
	f.Reject("eve@example.com")
	d := open(t, f, nil)
	res := write(t, d,
		add("ada@example.com", map[string]any{"firstname": "Ada"}),
		add("eve@example.com", map[string]any{"firstname": "Eve"}),
		add("bob@example.com", map[string]any{"shoe_size": "44"}),
		add("ada@example.com", map[string]any{"firstname": "Ada again"}),
	)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, destinations.Rejected, res.Records[1].Outcome)
	assert.Contains(t, res.Records[1].Reason, "Contact eve@example.com cannot be created")
	assert.Equal(t, destinations.Rejected, res.Records[2].Outcome)
	assert.Equal(t, `Property values were not valid: Property "shoe_size" does not exist`, res.Records[2].Reason)
	assert.Equal(t, destinations.Retry, res.Records[3].Outcome, "HubSpot refuses duplicate ids in a batch")
	assert.Equal(t, []string{"ada@example.com"}, keys(f.Members()))
}

func TestRemovalsByRefAndByEmail(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	res := write(t, d, add("ada@example.com", nil), add("bob@example.com", nil), add("cy@example.com", nil))
	adaID := res.Records[0].Ref
	res = write(t, d, remove("ada@example.com", adaID), remove("bob@example.com", ""), remove("nobody@example.com", ""))
	for _, r := range res.Records {
		assert.Equal(t, destinations.Accepted, r.Outcome)
	}
	assert.Equal(t, adaID, res.Records[0].Ref)
	assert.NotEmpty(t, res.Records[1].Ref, "bob's id was looked up by e-mail")
	assert.Equal(t, []string{"cy@example.com"}, keys(f.Members()))
	assert.NotNil(t, f.Contact("ada@example.com"), "leaving the list keeps the contact")
}

func TestMirrorWithoutListIsAConfigError(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, map[string]any{"list_id": nil})
	res := write(t, d, add("ada@example.com", map[string]any{"firstname": "Ada"}))
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
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
	for _, c := range []struct {
		status    int
		retryable bool
		after     time.Duration
		msg       string
	}{
		{429, true, time.Second, "You have reached your ten_secondly_rolling limit."},
		{503, true, time.Second, "SERVICE_UNAVAILABLE"},
		{500, true, 0, "internal error"},
		{403, false, 0, "MISSING_SCOPES: This app hasn't been granted all required scopes to make this call.: One or more of the following scopes are required."},
	} {
		f.Fail(1, c.status)
		_, err := d.Write(context.Background(), batch)
		e, ok := destinations.AsError(err)
		require.True(t, ok, "%d", c.status)
		assert.Equal(t, c.status, e.Status)
		assert.Equal(t, c.retryable, e.Retryable, "%d", c.status)
		assert.Equal(t, c.after, e.RetryAfter, "%d", c.status)
		assert.Contains(t, e.Message, c.msg)
	}
	f.Fail(1, 413)
	_, err := d.Write(context.Background(), batch)
	e, _ := destinations.AsError(err)
	assert.True(t, e.TooLarge)

	// The fake keeps HubSpot's cap: more than 100 inputs is refused whole.
	big := &destinations.Batch{}
	for i := 0; i < 101; i++ {
		big.Records = append(big.Records, add(fmt.Sprintf("p%d@example.com", i), nil))
	}
	_, err = d.Write(context.Background(), big)
	assert.ErrorContains(t, err, "HTTP 400: VALIDATION_ERROR: The maximum number of inputs supported in a batch is 100, but 101 were provided.")

	f.UseUpDailyLimit()
	_, err = d.Write(context.Background(), batch)
	e, _ = destinations.AsError(err)
	assert.False(t, e.Retryable, "the daily quota does not come back before midnight")
	assert.Contains(t, e.Message, "daily API limit is used up")
}

func TestWrongTokenIsRefused(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, map[string]any{"access_token": "pat-na1-wrong"})
	_, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{add("ada@example.com", nil)}})
	assert.ErrorContains(t, err, "HTTP 401: INVALID_AUTHENTICATION: Authentication credentials not found.")
	err = d.(destinations.Checker).Check(context.Background())
	assert.ErrorContains(t, err, "HubSpot refused the access token")
	assert.ErrorContains(t, err, "check config.access_token")
}

func TestCheck(t *testing.T) {
	f := fake.New(t)
	check := func(list any) error {
		return open(t, f, map[string]any{"list_id": list}).(destinations.Checker).Check(context.Background())
	}
	assert.NoError(t, check(fake.ListID))
	assert.NoError(t, check(nil))
	assert.ErrorContains(t, check("999"), "HubSpot has no list 999 (HTTP 404: OBJECT_NOT_FOUND: List does not exist with ID 999.): check config.list_id")
	assert.ErrorContains(t, check(fake.DynamicListID), `HubSpot list 124 ("Engaged (filters)") is a DYNAMIC list`)
}

func TestEraseDeletesAndBlocks(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	res := write(t, d, add("ada@example.com", nil), add("bob@example.com", nil))
	bobID := res.Records[1].Ref
	er := d.(destinations.Eraser)
	res, err := er.Erase(context.Background(), &destinations.Batch{Records: []destinations.Record{
		remove("ada@example.com", ""), remove("never@example.com", ""), {ID: "x", Op: destinations.Remove, Ref: bobID}, {ID: "y", Op: destinations.Remove},
	}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, destinations.Accepted, res.Records[1].Outcome)
	assert.Equal(t, destinations.Accepted, res.Records[2].Outcome)
	assert.Equal(t, destinations.Rejected, res.Records[3].Outcome)
	assert.Equal(t, []string{"ada@example.com", "never@example.com", "bob@example.com"}, f.Erased())
	assert.Empty(t, f.Members())
	assert.Nil(t, f.Contact("ada@example.com"))

	res = write(t, d, add("ada@example.com", nil))
	assert.Equal(t, destinations.Rejected, res.Records[0].Outcome, "HubSpot blocks an erased address")

	f.Fail(1, 429)
	_, err = er.Erase(context.Background(), &destinations.Batch{Records: []destinations.Record{remove("cy@example.com", "")}})
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.True(t, e.Retryable)
}

func TestSpecMapping(t *testing.T) {
	s, err := destinations.Lookup("hubspot")
	require.NoError(t, err)
	types := map[string]string{"ltv": "number", "name": "text"}
	ps := s.CheckMapping(destinations.Mirror, map[string]string{"email": "email"},
		map[string]string{"firstname": "name", "ltv": "ltv", "LifetimeValue": "ltv"}, func(n string) string { return types[n] })
	require.Len(t, ps, 1)
	assert.Equal(t, `fields.LifetimeValue: HubSpot has no standard field "LifetimeValue", and "LifetimeValue" is not a valid custom field name `+
		`(a contact property's internal name: lower-case letters, digits and _, starting with a letter; create the property in HubSpot first)`, ps[0].Error())
	assert.NotEmpty(t, s.CheckMapping(destinations.Upsert, map[string]string{"phone": "phone"}, nil, func(string) string { return "" }))
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Where HubSpot refuses a whole batch over one contact's values, the
// connector asks for halves, and the sync engine's halving finds the
// contact: the others arrive, that one is rejected with HubSpot's words.
func TestWholeBatchRefusalIsHalvedToTheContact(t *testing.T) {
	f := fake.New(t)
	f.AllOrNothing = true
	d := open(t, f, nil)
	var recs []destinations.Record
	for i := 0; i < 8; i++ {
		stage := "customer"
		if i == 5 {
			stage = "vip"
		}
		recs = append(recs, add(fmt.Sprintf("p%d@example.com", i), map[string]any{"lifecyclestage": stage}))
	}
	_, err := d.Write(context.Background(), &destinations.Batch{Records: recs})
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.True(t, e.TooLarge)
	assert.Contains(t, e.Message, "sending it in halves to find which")

	var acks []sync.Ack
	next := 0
	st, err := sync.Deliver(context.Background(), d, sync.Options{Sync: "s", Mode: destinations.Upsert, Limits: hubspot.Spec.Limits,
		Clock: sync.NewManualClock(time.Now())},
		func() (*destinations.Record, error) {
			if next == len(recs) {
				return nil, io.EOF
			}
			next++
			return &recs[next-1], nil
		},
		func(a []sync.Ack) error { acks = append(acks, a...); return nil })
	require.NoError(t, err)
	assert.Equal(t, int64(7), st.Added)
	assert.Equal(t, int64(1), st.Rejected)
	for _, a := range acks {
		if a.Outcome == destinations.Rejected {
			assert.Equal(t, "p5@example.com", a.Record.Key["email"])
			assert.Equal(t, "VALIDATION_ERROR: Property values were not valid: vip was not one of the allowed options: "+
				"[subscriber lead marketingqualifiedlead salesqualifiedlead opportunity customer evangelist other]", a.Reason)
		}
	}
	assert.Len(t, f.Members(), 7)

	// An unknown property would fail every half: the run stops instead.
	_, err = d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{
		add("a@example.com", map[string]any{"shoe_size": "44"}), add("b@example.com", nil)}})
	e, _ = destinations.AsError(err)
	require.NotNil(t, e)
	assert.False(t, e.TooLarge || e.Retryable)
}
