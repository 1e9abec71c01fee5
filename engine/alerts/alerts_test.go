package alerts

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	_ "github.com/cohort-cdp/cohort/engine/destinations/webhook" // registers webhook
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/models"
)

func pct(p float64) *models.Percent { x := models.Percent(p); return &x }

func kinds(ns []destinations.Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Kind)
	}
	return out
}

func TestDecide(t *testing.T) {
	ok := Outcome{Sync: "s", Status: "succeeded", Added: 10, Sent: 10}
	failed := Outcome{Sync: "s", Status: "failed", Error: "HTTP 401: bad key"}
	undelivered := Outcome{Sync: "s", Status: "partial", Retry: 3, Sent: 7}
	rejecting := Outcome{Sync: "s", Status: "partial", Rejected: 6, Sent: 100, Reasons: []string{"invalid email"}}
	both := &models.Alert{Destination: "slack"}
	onlyFailure := &models.Alert{Destination: "slack", On: []string{"failure"}}
	strict := &models.Alert{Destination: "slack", RejectionRate: pct(0)}
	lenient := &models.Alert{Destination: "slack", RejectionRate: pct(10)}

	for _, c := range []struct {
		name      string
		a         *models.Alert
		prev, cur *Outcome
		want      []string
	}{
		{"no alert configured", nil, nil, &failed, nil},
		{"first failure", both, &ok, &failed, []string{"failure"}},
		{"first run fails", both, nil, &failed, []string{"failure"}},
		{"still failing: no repeat", both, &failed, &failed, nil},
		{"undelivered records count as failing", both, &ok, &undelivered, []string{"failure"}},
		{"recovered", both, &failed, &ok, []string{Recovered}},
		{"healthy", both, &ok, &ok, nil},
		{"6% rejected over the default 1%", both, &ok, &rejecting, []string{"rejections"}},
		{"6% under a 10% threshold", lenient, &ok, &rejecting, nil},
		{"0% threshold: any rejection", strict, &ok, &Outcome{Sync: "s", Rejected: 1, Sent: 1000}, []string{"rejections"}},
		{"rejections not wanted", onlyFailure, &ok, &rejecting, nil},
		{"nothing sent", strict, &ok, &Outcome{Sync: "s", Status: "succeeded"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, kinds(Decide(c.a, c.prev, *c.cur)))
		})
	}

	n := Decide(both, &ok, rejecting)[0]
	require.Equal(t, "sync s: 6.0% of records rejected (6 of 100, threshold 1%)", n.Title)
	require.Equal(t, "Reasons: invalid email", n.Text)
	require.Equal(t, "6", n.Fields["rejected"])
	f := Decide(both, nil, failed)[0]
	require.Equal(t, "sync s failed", f.Title)
	require.Equal(t, "HTTP 401: bad key", f.Text)
}

// plain is a destination that only takes records.
type plain struct{}

func (plain) Write(context.Context, *destinations.Batch) (destinations.Result, error) {
	return destinations.Result{}, nil
}

// Notices go out through the real webhook connector to its fake.
func TestSend(t *testing.T) {
	ctx := context.Background()
	f := fake.New(t)
	hook, _, err := destinations.Open("webhook", destinations.Config{Name: "ops_hook", Values: map[string]any{"url": f.URL(), "secret": fake.Secret}})
	require.NoError(t, err)
	ns := []destinations.Notice{{Kind: "failure", Title: "sync s failed"}, {Kind: "rejections", Title: "sync s: 6.0% of records rejected"}}
	require.NoError(t, Send(ctx, "ops_hook", hook, ns))
	require.Equal(t, 2, f.Counts().Notices)

	forged, _, err := destinations.Open("webhook", destinations.Config{Name: "ops_hook", Values: map[string]any{"url": f.URL(), "secret": "wrong"}})
	require.NoError(t, err)
	err = Send(ctx, "ops_hook", forged, ns)
	require.ErrorContains(t, err, `alert "sync s failed" through ops_hook: HTTP 401`)
	require.ErrorContains(t, err, `alert "sync s: 6.0% of records rejected" through ops_hook`, "every notice is tried")
	require.ErrorContains(t, Send(ctx, "klaviyo", plain{}, ns), "cannot carry alerts")
	require.NoError(t, Send(ctx, "klaviyo", plain{}, nil), "nothing to send needs no notifier")
}
