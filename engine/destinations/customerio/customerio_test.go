package customerio_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	_ "github.com/cohort-cdp/cohort/engine/destinations/customerio"
	"github.com/cohort-cdp/cohort/engine/destinations/customerio/fake"
	"github.com/cohort-cdp/cohort/engine/destinations/destinationstest"
)

func open(t *testing.T, f *fake.Server, region string, cfg map[string]any) destinations.Destination {
	t.Helper()
	values := map[string]any{"site_id": fake.SiteID, "api_key": fake.APIKey, "segment_id": 17, "endpoint": f.URL()}
	for k, v := range cfg {
		values[k] = v
	}
	d, _, err := destinations.Open("customer_io", destinations.Config{Name: "cio", Region: region, Values: values})
	require.NoError(t, err)
	return d
}

func rec(op destinations.Op, key map[string]string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: key["id"] + key["email"], Op: op, Key: key, Fields: fields}
}

func TestIdentifyThenAddToSegment(t *testing.T) {
	f := fake.New("eu", "17")
	defer f.Close()
	d := open(t, f, "eu", nil)
	signup := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	res, err := d.Write(context.Background(), &destinations.Batch{Segment: "vip", Records: []destinations.Record{
		rec(destinations.Add, map[string]string{"id": "cus_1", "email": "ada@example.com"},
			map[string]any{"first_name": "Ada", "created_at": signup.Format(time.RFC3339), "ltv": 310.5, "vip": true, "last_seen": signup}),
		rec(destinations.Add, map[string]string{"email": "bob@example.com"}, map[string]any{"first_name": "Bob", "nickname": nil}),
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"accepted", "accepted"}, destinationstest.Outcomes(res))
	assert.Equal(t, []string{
		"POST /api/v2/batch",
		"POST /api/v1/segments/17/add_customers?id_type=id",
		"POST /api/v1/segments/17/add_customers?id_type=email",
	}, f.Calls(), "one identify batch, then one segment call per id type")
	m := f.Members()
	require.Len(t, m, 2)
	assert.Equal(t, map[string]any{"email": "ada@example.com", "first_name": "Ada", "created_at": float64(signup.Unix()),
		"ltv": 310.5, "vip": true, "last_seen": float64(signup.Unix())}, m["cus_1"], "timestamps arrive as Unix seconds")
	assert.Equal(t, map[string]any{"first_name": "Bob"}, m["bob@example.com"])
}

func TestMirrorRemovesFromSegmentOnly(t *testing.T) {
	f := fake.New("us", "17")
	defer f.Close()
	d := open(t, f, "", nil)
	ctx := context.Background()
	_, err := d.Write(ctx, &destinations.Batch{Records: []destinations.Record{
		rec(destinations.Add, map[string]string{"id": "cus_1"}, nil), rec(destinations.Add, map[string]string{"id": "cus_2"}, nil)}})
	require.NoError(t, err)
	res, err := d.Write(ctx, &destinations.Batch{Mode: destinations.Mirror, Records: []destinations.Record{
		rec(destinations.Remove, map[string]string{"id": "cus_1"}, nil), rec(destinations.Remove, map[string]string{}, nil)}})
	require.NoError(t, err)
	assert.Equal(t, []string{"accepted", "rejected: no id or email to identify the person in Customer.io"}, destinationstest.Outcomes(res))
	assert.Equal(t, []string{"cus_2"}, keys(f.Members()))
	assert.Len(t, f.People(), 2, "leaving the segment keeps the person")
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRemovalWithoutSegmentIsAClearError(t *testing.T) {
	f := fake.New("us")
	defer f.Close()
	d := open(t, f, "", map[string]any{"segment_id": nil})
	_, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{
		rec(destinations.Remove, map[string]string{"id": "cus_1"}, nil)}})
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.False(t, e.Retryable)
	assert.Contains(t, e.Message, "destination cio has no segment_id")
	assert.Zero(t, f.Requests(), "nothing was sent")
	res, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{
		rec(destinations.Add, map[string]string{"id": "cus_1"}, nil)}})
	require.NoError(t, err, "without a segment, people are still identified")
	assert.Equal(t, []string{"accepted"}, destinationstest.Outcomes(res))
	assert.Equal(t, []string{"POST /api/v2/batch"}, f.Calls())
}

func TestPerRecordErrors(t *testing.T) {
	f := fake.New("us", "17")
	defer f.Close()
	d := open(t, f, "", nil)
	f.Reject("cus_blocked")
	f.Reject("blocked@example.com")
	many := map[string]any{}
	for i := 0; i < 301; i++ {
		many["a"+strings.Repeat("x", i%5)+string(rune('A'+i%26))+string(rune('a'+i/26))] = i
	}
	res, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{
		rec(destinations.Add, map[string]string{"id": "cus_1"}, map[string]any{"bio": strings.Repeat("é", 501)}),
		rec(destinations.Add, map[string]string{"id": "cus_2"}, many),
		rec(destinations.Add, map[string]string{"id": "cus_blocked"}, nil),
		rec(destinations.Add, map[string]string{"id": "cus_3"}, map[string]any{"unsubscribed": "maybe"}),
		rec(destinations.Add, map[string]string{"email": "blocked@example.com"}, nil),
		rec(destinations.Add, map[string]string{"id": "cus_4"}, nil),
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"rejected: value for attribute 'bio' cannot be longer than 1000 bytes",
		"rejected: cannot identify more than 300 attributes in one request",
		"rejected: invalid: identifiers.id: this identifier is suppressed in the workspace",
		`rejected: attribute unsubscribed: "maybe" is not true or false`,
		"rejected: invalid: identifiers.email: this identifier is suppressed in the workspace",
		"accepted",
	}, destinationstest.Outcomes(res))
	assert.Equal(t, []string{"cus_4"}, keys(f.Members()), "only accepted people join the segment")
}

func TestFakeHoldsCustomerIOLimits(t *testing.T) {
	// The connector never sends these; the fake refuses them as Customer.io does.
	f := fake.New("us", "17")
	defer f.Close()
	c := &http.Client{}
	post := func(path, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, f.URL()+path, strings.NewReader(body))
		req.SetBasicAuth(fake.SiteID, fake.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		return resp.StatusCode, b.String()
	}
	ids := `"` + strings.Repeat(`x","`, 1000) + `x"`
	st, body := post("/api/v1/segments/17/add_customers?id_type=id", `{"ids":[`+ids+`]}`)
	assert.Equal(t, 400, st)
	assert.Contains(t, body, "between 1 and 1000")
	st, _ = post("/api/v1/segments/99/add_customers", `{"ids":["a"]}`)
	assert.Equal(t, 404, st)
	st, _ = post("/api/v2/batch", `{"batch":[{"type":"person","identifiers":{"id":"a"},"action":"identify","attributes":{"x":"`+strings.Repeat("y", 600<<10)+`"}}]}`)
	assert.Equal(t, 413, st)
	st, body = post("/api/v2/batch", `{"batch":[{"type":"person","identifiers":{"id":"a"},"action":"identify","attributes":{"x":"`+strings.Repeat("y", 33<<10)+`"}},{"type":"person","identifiers":{"id":"b","email":"b@x.nl"},"action":"identify"}]}`)
	assert.Equal(t, 207, st)
	assert.Contains(t, body, `"batch_index":0`)
	assert.Contains(t, body, "32kb")
	assert.Contains(t, body, `"batch_index":1`)
}

func TestBadCredentialsAndRegion(t *testing.T) {
	f := fake.New("eu", "17")
	defer f.Close()
	ctx := context.Background()
	assert.NoError(t, open(t, f, "eu", nil).(destinations.Checker).Check(ctx))
	err := open(t, f, "us", nil).(destinations.Checker).Check(ctx)
	assert.EqualError(t, err, "this Customer.io workspace keeps its data in region eu (https://track-eu.customer.io), not us: set region: eu")
	bad := open(t, f, "eu", map[string]any{"api_key": "wrong"})
	assert.ErrorContains(t, bad.(destinations.Checker).Check(ctx), "HTTP 401: Customer.io did not accept site_id and api_key (Unauthorized request)")
	_, err = bad.Write(ctx, &destinations.Batch{Records: []destinations.Record{rec(destinations.Add, map[string]string{"id": "a"}, nil)}})
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.Equal(t, 401, e.Status)
	assert.False(t, e.Retryable)
	_, _, err = destinations.Open("customer_io", destinations.Config{Name: "cio", Region: "ap",
		Values: map[string]any{"site_id": "s", "api_key": "k"}})
	assert.ErrorContains(t, err, `region: Customer.io has no region "ap" (one of us, eu)`)
}

func TestUnknownSegmentStopsTheRun(t *testing.T) {
	f := fake.New("us", "17")
	defer f.Close()
	d := open(t, f, "", map[string]any{"segment_id": "18"})
	_, err := d.Write(context.Background(), &destinations.Batch{Records: []destinations.Record{rec(destinations.Add, map[string]string{"id": "a"}, nil)}})
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.Equal(t, 404, e.Status)
	assert.Contains(t, e.Message, "segment 18 not found; it must exist and be a manual segment")
}

func TestFailuresAreClassified(t *testing.T) {
	f := fake.New("us", "17")
	defer f.Close()
	d := open(t, f, "", nil)
	b := &destinations.Batch{Records: []destinations.Record{rec(destinations.Add, map[string]string{"id": "a"}, nil)}}
	f.Fail(1, http.StatusTooManyRequests)
	_, err := d.Write(context.Background(), b)
	e, _ := destinations.AsError(err)
	require.NotNil(t, e)
	assert.True(t, e.Retryable)
	assert.Equal(t, time.Second, e.RetryAfter)
	f.Fail(1, http.StatusBadGateway)
	_, err = d.Write(context.Background(), b)
	e, _ = destinations.AsError(err)
	require.NotNil(t, e)
	assert.True(t, e.Retryable)
	assert.Empty(t, f.People())
}

func TestErase(t *testing.T) {
	f := fake.New("us", "17")
	defer f.Close()
	d := open(t, f, "", nil)
	ctx := context.Background()
	_, err := d.Write(ctx, &destinations.Batch{Records: []destinations.Record{
		rec(destinations.Add, map[string]string{"id": "cus_1"}, nil),
		rec(destinations.Add, map[string]string{"email": "bob@example.com"}, nil),
		rec(destinations.Add, map[string]string{"id": "cus_3"}, nil)}})
	require.NoError(t, err)
	res, err := d.(destinations.Eraser).Erase(ctx, &destinations.Batch{Records: []destinations.Record{
		rec(destinations.Remove, map[string]string{"id": "cus_1", "email": "ada@example.com"}, nil),
		rec(destinations.Remove, map[string]string{"email": "bob@example.com"}, nil)}})
	require.NoError(t, err)
	assert.Equal(t, []string{"accepted", "accepted"}, destinationstest.Outcomes(res))
	assert.Equal(t, []string{"cus_1", "bob@example.com"}, f.Erased())
	assert.Equal(t, []string{"cus_3"}, keys(f.Members()))
	assert.Len(t, f.People(), 1)
}

func TestCheckLooksSegmentUpWithAppKey(t *testing.T) {
	f := fake.New("us", "17")
	defer f.Close()
	f.AddDynamic("21")
	ctx := context.Background()
	check := func(cfg map[string]any) error { return open(t, f, "", cfg).(destinations.Checker).Check(ctx) }
	assert.NoError(t, check(map[string]any{"app_api_key": fake.AppKey}))
	assert.NoError(t, check(map[string]any{"segment_id": "18"}), "without an App key the segment cannot be looked up")
	assert.ErrorContains(t, check(map[string]any{"segment_id": "18", "app_api_key": fake.AppKey}),
		"config.segment_id: Customer.io has no segment 18 in this workspace (HTTP 404: segment not found)")
	assert.EqualError(t, check(map[string]any{"segment_id": "21", "app_api_key": fake.AppKey}),
		"config.segment_id: segment 21 (Segment 21) is a dynamic segment; Customer.io lets the API change manual segments only: create a manual one")
	assert.ErrorContains(t, check(map[string]any{"app_api_key": "nope"}), "config.app_api_key: Customer.io did not accept the App API key")
	assert.Zero(t, f.Requests(), "a check is no data request")

	_, err := open(t, f, "", map[string]any{"segment_id": "21"}).Write(ctx, &destinations.Batch{Records: []destinations.Record{
		rec(destinations.Add, map[string]string{"id": "a"}, nil)}})
	assert.ErrorContains(t, err, "HTTP 400: segment 21 is data-driven", "the fake refuses to change a data-driven segment")
}

func TestOversizeBatchIsTooLargeBeforeSending(t *testing.T) {
	f := fake.New("us", "17")
	defer f.Close()
	d := open(t, f, "", nil)
	b := &destinations.Batch{}
	for i := 0; i < 1000; i++ {
		b.Records = append(b.Records, rec(destinations.Add, map[string]string{"id": fmt.Sprintf("cus_%04d", i)},
			map[string]any{"bio": strings.Repeat("b", 600)}))
	}
	_, err := d.Write(context.Background(), b)
	e, ok := destinations.AsError(err)
	require.True(t, ok, "%v", err)
	assert.True(t, e.TooLarge, "the engine halves the batch")
	assert.Zero(t, f.Requests(), "nothing is sent that Customer.io would refuse")
	res, err := d.Write(context.Background(), &destinations.Batch{Records: b.Records[:500]})
	require.NoError(t, err)
	assert.Len(t, res.Records, 500)
	assert.Len(t, f.Members(), 500)
}
