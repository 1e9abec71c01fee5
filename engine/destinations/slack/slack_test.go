package slack_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	_ "github.com/cohort-cdp/cohort/engine/destinations/slack"
	"github.com/cohort-cdp/cohort/engine/destinations/slack/fake"
)

func open(t *testing.T, f *fake.Server, webhook string) destinations.Destination {
	t.Helper()
	d, _, err := destinations.Open("slack", destinations.Config{Name: "alerts",
		Values: map[string]any{"webhook_url": webhook, "endpoint": f.URL()}})
	require.NoError(t, err)
	return d
}

func rec(op destinations.Op, email string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: email, Op: op, ProfileID: "p-" + email, Key: map[string]string{"email": email}, Fields: fields}
}

func TestDigestListsNewAndChangedMembers(t *testing.T) {
	f := fake.New()
	defer f.Close()
	d := open(t, f, fake.WebhookURL)
	res, err := d.Write(context.Background(), &destinations.Batch{Sync: "vip_to_slack", Segment: "vip", Mode: destinations.Upsert,
		Records: []destinations.Record{
			rec(destinations.Add, "ada@example.com", map[string]any{"first_name": "Ada", "ltv": 310.5, "company": "<Lovelace & Co>"}),
			rec(destinations.Add, "bob@example.com", map[string]any{"first_name": "Bob", "vip": true, "orders": int64(3)}),
			rec(destinations.Add, "cy@example.com", nil),
			rec(destinations.Update, "dan@example.com", map[string]any{"first_name": "Dan"}),
		}})
	require.NoError(t, err)
	assert.Len(t, res.Records, 4)
	for _, r := range res.Records {
		assert.Equal(t, destinations.Accepted, r.Outcome)
	}
	posts := f.Posts()
	require.Len(t, posts, 1, "one message per batch")
	p := posts[0]
	assert.Equal(t, "segment vip: 3 new members, 1 changed", p.Text)
	assert.Equal(t, "header", p.Blocks[0].Type)
	assert.Equal(t, "segment vip: 3 new members, 1 changed", p.Blocks[0].Text.Text)
	assert.Equal(t, "*New members*\n"+
		"• ada@example.com — company: &lt;Lovelace &amp; Co&gt; · first_name: Ada · ltv: 310.5\n"+
		"• bob@example.com — first_name: Bob · orders: 3 · vip: true\n"+
		"• cy@example.com", p.Blocks[1].Text.Text)
	assert.Equal(t, "*Changed*\n• dan@example.com — first_name: Dan", p.Blocks[2].Text.Text)
	assert.Equal(t, "sync vip_to_slack", p.Blocks[3].Elements[0].Text)
	assert.Equal(t, map[string]any{"company": "<Lovelace & Co>", "first_name": "Ada", "ltv": "310.5"}, f.Members()["ada@example.com"])
	assert.Len(t, f.Members(), 4)
}

func TestDigestStaysWithinSlackLimits(t *testing.T) {
	f := fake.New()
	defer f.Close()
	d := open(t, f, fake.WebhookURL)
	b := &destinations.Batch{Segment: strings.Repeat("s", 200), Mode: destinations.Insert}
	spec, _ := destinations.Lookup("slack")
	for i := 0; i < spec.Limits.BatchRecords; i++ {
		b.Records = append(b.Records, rec(destinations.Add, fmt.Sprintf("p%02d@example.com", i),
			map[string]any{"note": strings.Repeat("é", 1000)}))
	}
	_, err := d.Write(context.Background(), b)
	require.NoError(t, err, "the fake refuses what Slack refuses (invalid_blocks)")
	p := f.Posts()[0]
	assert.LessOrEqual(t, len(p.Blocks), 50)
	assert.Equal(t, 150, utf8.RuneCountInString(p.Blocks[0].Text.Text))
	lines := 0
	for _, bl := range p.Blocks[1:] {
		if bl.Text == nil {
			continue
		}
		assert.LessOrEqual(t, utf8.RuneCountInString(bl.Text.Text), 3000)
		for _, l := range strings.Split(bl.Text.Text, "\n") {
			if strings.HasPrefix(l, "• ") {
				lines++
				assert.Equal(t, 300, utf8.RuneCountInString(l))
				assert.True(t, strings.HasSuffix(l, "…"))
			}
		}
	}
	assert.Equal(t, 50, lines, "every member is listed")
}

func TestNothingToListPostsNothing(t *testing.T) {
	f := fake.New()
	defer f.Close()
	d := open(t, f, fake.WebhookURL)
	res, err := d.Write(context.Background(), &destinations.Batch{Segment: "vip", Records: []destinations.Record{
		rec(destinations.Remove, "ada@example.com", nil)}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Zero(t, f.Requests())
}

func TestNotify(t *testing.T) {
	f := fake.New()
	defer f.Close()
	d := open(t, f, fake.WebhookURL)
	fields := map[string]string{}
	for i := 0; i < 12; i++ {
		fields[fmt.Sprintf("f%02d", i)] = "v"
	}
	err := d.(destinations.Notifier).Notify(context.Background(), destinations.Notice{
		Kind: "failure", Title: "sync vip_to_braze failed", Text: "HTTP 401: <Invalid API Key> " + strings.Repeat("x", 5000),
		Fields: fields, URL: "https://cohort.example.com/runs/42"})
	require.NoError(t, err)
	p := f.Posts()[0]
	assert.Equal(t, ":red_circle: sync vip_to_braze failed", p.Text)
	assert.Equal(t, "sync vip_to_braze failed", p.Blocks[0].Text.Text)
	assert.True(t, strings.HasPrefix(p.Blocks[1].Text.Text, "HTTP 401: &lt;Invalid API Key&gt; xxx"))
	assert.Equal(t, 3000, utf8.RuneCountInString(p.Blocks[1].Text.Text))
	assert.Len(t, p.Blocks[2].Fields, 10, "Slack shows at most 10 fields")
	assert.Equal(t, "*f00*\nv", p.Blocks[2].Fields[0].Text)
	assert.Equal(t, "<https://cohort.example.com/runs/42|Open the run>", p.Blocks[3].Elements[0].Text)
	assert.Empty(t, f.Members(), "an alert lists nobody")
}

func TestWebhookErrors(t *testing.T) {
	f := fake.New()
	defer f.Close()
	ctx := context.Background()
	b := &destinations.Batch{Segment: "vip", Records: []destinations.Record{rec(destinations.Add, "ada@example.com", nil)}}
	d := open(t, f, fake.WebhookURL)

	f.Fail(1, http.StatusTooManyRequests)
	_, err := d.Write(ctx, b)
	e, ok := destinations.AsError(err)
	require.True(t, ok)
	assert.True(t, e.Retryable)
	assert.Equal(t, time.Second, e.RetryAfter)

	wrong := strings.TrimSuffix(fake.WebhookURL, "a") + "b"
	_, err = open(t, f, wrong).Write(ctx, b)
	assert.EqualError(t, err, "HTTP 403: invalid_token: the webhook URL is not valid: check config.webhook_url")

	for code, status := range map[string]int{"no_service": 404, "channel_is_archived": 410} {
		f.Disable(code)
		_, err = d.Write(ctx, b)
		e, ok = destinations.AsError(err)
		require.True(t, ok)
		assert.Equal(t, status, e.Status)
		assert.False(t, e.Retryable, code)
		assert.True(t, strings.HasPrefix(e.Message, code+": "), e.Message)
	}
	assert.Empty(t, f.Posts())
}

func TestBadWebhookURLIsNotPrinted(t *testing.T) {
	_, _, err := destinations.Open("slack", destinations.Config{Name: "alerts",
		Values: map[string]any{"webhook_url": "https://example.com/secret-token"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config.webhook_url: not a Slack incoming webhook URL")
	assert.NotContains(t, err.Error(), "secret-token")
}

func TestFakeRefusesWhatSlackRefuses(t *testing.T) {
	f := fake.New()
	defer f.Close()
	post := func(body string) (int, string) {
		resp, err := http.Post(f.URL()+fake.Path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	blocks := strings.Repeat(`{"type":"divider"},`, 51)
	for body, want := range map[string]string{
		`{"blocks":[` + strings.TrimSuffix(blocks, ",") + `]}`:                                                  "invalid_blocks",
		`{"blocks":[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) + `"}}]}`: "invalid_blocks",
		`{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("s", 3001) + `"}}]}`:   "invalid_blocks",
		`{"unfurl_links":false}`: "no_text",
		`{"text":`:               "invalid_payload",
	} {
		st, got := post(body)
		assert.Equal(t, 400, st, want)
		assert.Equal(t, want, got)
	}
	st, got := post(`{"text":"hello"}`)
	assert.Equal(t, 200, st)
	assert.Equal(t, "ok", got)
}
