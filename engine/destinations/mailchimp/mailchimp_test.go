package mailchimp

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/mailchimp/fake"
)

func open(t *testing.T, f *fake.Fake, cfg map[string]any) destinations.Destination {
	t.Helper()
	values := map[string]any{"api_key": fake.Key, "audience_id": fake.ListID, "endpoint": f.URL()}
	for k, v := range cfg {
		values[k] = v
	}
	d, _, err := destinations.Open("mailchimp", destinations.Config{Name: "newsletter", Values: values})
	require.NoError(t, err)
	return d
}

func add(email string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: "c-" + email, Op: destinations.Add, Key: map[string]string{"email": email}, Fields: fields}
}

func remove(email string) destinations.Record {
	return destinations.Record{ID: "r-" + email, Op: destinations.Remove, Key: map[string]string{"email": email}}
}

func write(t *testing.T, d destinations.Destination, recs ...destinations.Record) destinations.Result {
	t.Helper()
	res, err := d.Write(context.Background(), &destinations.Batch{Records: recs})
	require.NoError(t, err)
	require.Len(t, res.Records, len(recs))
	return res
}

func TestDataCentreFromKey(t *testing.T) {
	dc, err := dataCentre("0123abcd-us6")
	require.NoError(t, err)
	assert.Equal(t, "us6", dc)
	_, err = dataCentre("0123abcd")
	assert.ErrorContains(t, err, "does not end in its data centre")
	d, err := Open(destinations.Config{Values: map[string]any{"api_key": "k-us21", "audience_id": "l", "on_remove": "archive"}})
	require.NoError(t, err)
	assert.Equal(t, "https://us21.api.mailchimp.com", d.(*Destination).c.base)
	assert.Equal(t, "62eeb292278cc15f5817cb78f7790b08", subscriberHash("Urist.McVankab@freddiesjokes.com"), "Mailchimp's documented example")
}

func TestSubscribeWithMergeFieldsByType(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	signup := time.Date(2025, 3, 9, 14, 0, 0, 0, time.UTC)
	res := write(t, d,
		add("ada@example.com", map[string]any{"FNAME": "Ada", "LTV": "310.5", "BIRTHDAY": "1815-12-10", "SIGNUP": signup, "vip": true, "language": "en"}),
		add("bob@example.com", map[string]any{"FNAME": "Bob", "LTV": int64(12), "status": "pending"}),
		add("eve@example", map[string]any{"FNAME": "Eve"}),
		add("cy@example.com", map[string]any{"LTV": "lots"}),
		add("dee@example.com", map[string]any{"status": "maybe"}),
	)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, fake.Hash("ada@example.com"), res.Records[0].Ref)
	assert.Equal(t, destinations.Accepted, res.Records[1].Outcome)
	assert.Equal(t, destinations.Rejected, res.Records[2].Outcome)
	assert.Equal(t, "eve@example looks fake or invalid, please enter a real email address.", res.Records[2].Reason)
	assert.Equal(t, destinations.Rejected, res.Records[3].Outcome)
	assert.Contains(t, res.Records[3].Reason, `merge field LTV (number): "lots" is not a number`)
	assert.Equal(t, destinations.Rejected, res.Records[4].Outcome)
	assert.Contains(t, res.Records[4].Reason, `status "maybe" is not one Mailchimp takes`)
	assert.Equal(t, map[string]map[string]any{
		"ada@example.com": {"FNAME": "Ada", "LTV": 310.5, "BIRTHDAY": "12/10", "SIGNUP": "2025-03-09", "vip": true, "language": "en"},
		"bob@example.com": {"FNAME": "Bob", "LTV": 12.0},
	}, f.Members())
	assert.Equal(t, "subscribed", f.Member("ada@example.com").Status)
	assert.Equal(t, "pending", f.Member("bob@example.com").Status)
	assert.Contains(t, f.Log, "POST /3.0/lists/"+fake.ListID+"?skip_merge_validation=true")

	// A null clears the merge field.
	write(t, d, add("ada@example.com", map[string]any{"LTV": nil}))
	assert.NotContains(t, f.Members()["ada@example.com"], "LTV")
}

func TestUnknownMergeTagStopsTheSync(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	_, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{add("ada@example.com", map[string]any{"SHOESIZE": "44"})}})
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.False(t, e.Retryable)
	assert.Contains(t, e.Message, "Mailchimp audience 9e67587f52 has no merge field SHOESIZE (it has ADDRESS, BIRTHDAY, FNAME, LNAME, LTV, PHONE, SIGNUP)")
	assert.Empty(t, f.Members())
}

func TestOptedOutIsNotResubscribed(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	write(t, d, add("ada@example.com", map[string]any{"FNAME": "Ada"}))
	f.OptOut("ada@example.com")
	res := write(t, d, add("ada@example.com", map[string]any{"FNAME": "Ada L."}))
	assert.Equal(t, destinations.Rejected, res.Records[0].Outcome)
	assert.Contains(t, res.Records[0].Reason, "is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed")
	assert.Empty(t, f.Members())
}

func TestRemovalArchivesOrUnsubscribes(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	write(t, d, add("ada@example.com", nil), add("bob@example.com", nil), add("cy@example.com", nil))
	res := write(t, d, remove("ada@example.com"), remove("nobody@example.com"))
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, destinations.Accepted, res.Records[1].Outcome, "not a member: nothing to archive")
	assert.True(t, f.Member("ada@example.com").Archived)
	assert.Equal(t, []string{"bob@example.com", "cy@example.com"}, keys(f.Members()))

	// An archived member comes back on a later add.
	write(t, d, add("ada@example.com", nil))
	assert.False(t, f.Member("ada@example.com").Archived)

	u := open(t, f, map[string]any{"on_remove": "unsubscribe"})
	res = write(t, u, remove("bob@example.com"))
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, "unsubscribed", f.Member("bob@example.com").Status)
	assert.False(t, f.Member("bob@example.com").Archived)
	assert.Equal(t, []string{"ada@example.com", "cy@example.com"}, keys(f.Members()))
}

func TestEraseDeletesPermanently(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	write(t, d, add("ada@example.com", nil))
	res, err := d.(destinations.Eraser).Erase(context.Background(), &destinations.Batch{Records: []destinations.Record{remove("ada@example.com"), remove("never@example.com")}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, destinations.Accepted, res.Records[1].Outcome)
	assert.Equal(t, []string{"ada@example.com"}, f.Erased())
	assert.Nil(t, f.Member("ada@example.com"))
	res = write(t, d, add("ada@example.com", nil))
	assert.Equal(t, destinations.Rejected, res.Records[0].Outcome)
	assert.Contains(t, res.Records[0].Reason, "was permanently deleted and cannot be re-imported")
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
	assert.Equal(t, "HTTP 429: Too Many Requests: You have exceeded the limit of 10 simultaneous connections.", e.Error())

	f.FailBare(1, 403)
	_, err = d.Write(context.Background(), batch)
	e, _ = destinations.AsError(err)
	assert.True(t, e.Retryable, "a bare 403 is Mailchimp throttling")

	f.Fail(1, 403)
	_, err = d.Write(context.Background(), batch)
	e, _ = destinations.AsError(err)
	assert.False(t, e.Retryable)

	f.Fail(1, 500)
	_, err = d.Write(context.Background(), batch)
	e, _ = destinations.AsError(err)
	assert.True(t, e.Retryable)

	big := &destinations.Batch{}
	for i := 0; i <= fake.MaxMembers; i++ {
		big.Records = append(big.Records, add(fmt.Sprintf("p%d@example.com", i), nil))
	}
	_, err = d.Write(context.Background(), big)
	assert.ErrorContains(t, err, "HTTP 400: Invalid Resource: The resource submitted could not be validated. For field-specific details, see the 'errors' array.; members: Schema describes array, but more than 500 items were found")

	wrong := open(t, f, map[string]any{"api_key": "ffff-us6"})
	_, err = wrong.Write(context.Background(), batch)
	assert.ErrorContains(t, err, "HTTP 401: API Key Invalid")
}

func TestEleventhConnectionIsRefused(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, nil)
	write(t, d, add("first@example.com", nil)) // reads the merge fields once
	release := f.Hold()
	var wg sync.WaitGroup
	for i := 0; i < fake.MaxConnections; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{add(fmt.Sprintf("p%d@example.com", i), nil)}})
			assert.NoError(t, err)
		}(i)
	}
	for f.InFlight() < fake.MaxConnections {
		runtime.Gosched()
	}
	_, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{add("eleventh@example.com", nil)}})
	release()
	wg.Wait()
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.Equal(t, 429, e.Status)
	assert.True(t, e.Retryable)
	assert.Len(t, f.Members(), 1+fake.MaxConnections)
	assert.Less(t, Spec.Limits.Concurrency, fake.MaxConnections, "the spec leaves room for the account's other connections")
}

func TestCheck(t *testing.T) {
	f := fake.New(t)
	assert.NoError(t, open(t, f, nil).(destinations.Checker).Check(context.Background()))
	err := open(t, f, map[string]any{"audience_id": "nope"}).(destinations.Checker).Check(context.Background())
	assert.ErrorContains(t, err, "Mailchimp has no audience nope (HTTP 404: Resource Not Found: The requested resource could not be found.): check config.audience_id")
	err = open(t, f, map[string]any{"api_key": "bad-us6"}).(destinations.Checker).Check(context.Background())
	assert.ErrorContains(t, err, "Mailchimp refused the API key")
}

func TestSpecMapping(t *testing.T) {
	ps := Spec.CheckMapping(destinations.Mirror, map[string]string{"email": "email"},
		map[string]string{"FNAME": "first_name", "LIFETIMEVALUE": "ltv", "vip": "vip"}, func(string) string { return "" })
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error(), `fields.LIFETIMEVALUE: Mailchimp has no standard field "LIFETIMEVALUE", and "LIFETIMEVALUE" is not a valid custom field name (a merge tag of the audience: up to 10 capital letters`)
	assert.Len(t, Spec.CheckConfig("", map[string]any{"api_key": "k-us6", "audience_id": "l", "on_remove": "delete"}), 1)
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// With a tag, syncs share one audience: each keeps its tag on its members,
// and a removal takes only that tag off.
func TestTagsLetSyncsShareAnAudience(t *testing.T) {
	f := fake.New(t)
	d := open(t, f, map[string]any{"tag": "cohort {segment}"})
	send := func(segment string, recs ...destinations.Record) {
		t.Helper()
		res, err := d.Write(context.Background(), &destinations.Batch{Segment: segment, Records: recs})
		require.NoError(t, err)
		for _, r := range res.Records {
			require.Equal(t, destinations.Accepted, r.Outcome, r.Reason)
		}
	}
	send("vip", add("ada@example.com", nil), add("bob@example.com", nil))
	send("lapsed", add("ada@example.com", nil), add("cy@example.com", nil))
	assert.Equal(t, []string{"ada@example.com", "bob@example.com"}, f.Tagged("cohort vip"))
	assert.Equal(t, []string{"ada@example.com", "cy@example.com"}, f.Tagged("cohort lapsed"))

	send("vip", remove("ada@example.com"))
	assert.Equal(t, []string{"bob@example.com"}, f.Tagged("cohort vip"))
	assert.Equal(t, []string{"ada@example.com", "cy@example.com"}, f.Tagged("cohort lapsed"), "the other sync's tag stays")
	assert.False(t, f.Member("ada@example.com").Archived, "untag leaves the member in the audience")

	// Another destination on the same audience finds the tags Mailchimp has.
	n := len(f.Log)
	send2 := open(t, f, map[string]any{"tag": "cohort {segment}"})
	_, err := send2.Write(context.Background(), &destinations.Batch{Segment: "vip", Records: []destinations.Record{add("dee@example.com", nil)}})
	require.NoError(t, err)
	for _, l := range f.Log[n:] {
		assert.NotEqual(t, "POST /3.0/lists/"+fake.ListID+"/segments", l, "no second tag of the same name")
	}
	assert.Equal(t, []string{"bob@example.com", "dee@example.com"}, f.Tagged("cohort vip"))

	_, _, err = destinations.Open("mailchimp", destinations.Config{Values: map[string]any{"api_key": fake.Key, "audience_id": fake.ListID, "on_remove": "untag"}})
	assert.ErrorContains(t, err, "config.on_remove untag needs config.tag")
}
