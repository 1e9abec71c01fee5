package engine

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// Lift, computed in the warehouse, equals the same figures computed in Go
// from the member rows, on both dialects: a rate of a boolean trait, a mean
// of a numeric one, and event conversions since entry or since a date. The
// holdout arm holds only the members the sync could have sent.
func TestLiftMatchesAGoComputation(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		f := fake.New(t)
		p := demoProject(t)
		p.Warehouse.Type = w.Type
		for _, dst := range p.Destinations {
			if dst.Name == "crm_webhook" { // the fake receiver, set here: t.Setenv cannot run in parallel tests
				dst.Config["url"], dst.Config["secret"] = f.URL(), fake.Secret
			}
		}
		p.Segment("high_churn_risk").Holdout = 30
		for _, sy := range p.Syncs {
			if sy.Name == "churn_risk_to_crm" { // a purpose, so that the holdout is compared only where it consented
				sy.Purpose = "marketing_email"
			}
		}
		svc := NewService(p, ServiceOptions{})
		svc.Warehouse = w.WH
		svc.Clock = func() time.Time { return now }
		defer svc.Close()
		_, err := svc.GenerateDemo(ctx, DemoOptions{Profiles: 600, Seed: 7, Now: now})
		require.NoError(t, err)
		_, err = svc.Run(ctx, RunOptions{})
		require.NoError(t, err)

		_, err = svc.Lift(ctx, "high_churn_risk", LiftOptions{Metric: "email_opt_in"})
		require.ErrorContains(t, err, "cohort sync", "nothing sent yet")
		_, err = svc.Lift(ctx, "vip", LiftOptions{Metric: "email_opt_in"})
		require.ErrorContains(t, err, "no holdout")

		_, err = svc.Sync(ctx, SyncOptions{Names: []string{"churn_risk_to_crm"}})
		require.NoError(t, err)

		wh, c, err := svc.reader(ctx)
		require.NoError(t, err)
		d := c.Dialect
		// the arms in Go: holdout members the sync could have sent (an
		// e-mail to match on and consent to its purpose), and members
		// whose profile is in the snapshot
		reachable := map[string]bool{}
		rows, err := wh.Query(ctx, "SELECT profile_id, email, email_opt_in FROM "+c.Final("profiles"))
		require.NoError(t, err)
		for rows.Next() {
			var id string
			var email *string
			var optIn *bool
			require.NoError(t, rows.Scan(&id, &email, &optIn))
			reachable[id] = email != nil && optIn != nil && *optIn
		}
		require.NoError(t, rows.Err())
		rows.Close()
		arm := map[string]string{}
		entered := map[string]time.Time{}
		sent := map[string]bool{}
		rows, err = wh.Query(ctx, "SELECT profile_id FROM "+c.Final(sync.SnapshotTable("churn_risk_to_crm")))
		require.NoError(t, err)
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			sent[id] = true
		}
		require.NoError(t, rows.Err())
		rows.Close()
		q, err := d.Placeholder().ReplacePlaceholders("SELECT profile_id, holdout, entered_at FROM " + c.Final("segment_memberships") + " WHERE segment = ?")
		require.NoError(t, err)
		rows, err = wh.Query(ctx, q, "high_churn_risk")
		require.NoError(t, err)
		for rows.Next() {
			var id string
			var h bool
			var at time.Time
			require.NoError(t, rows.Scan(&id, &h, &at))
			switch {
			case h && reachable[id]:
				arm[id] = "holdout"
			case sent[id]:
				arm[id] = "sent"
			}
			entered[id] = at
		}
		require.NoError(t, rows.Err())
		rows.Close()

		trait := func(expr string) map[string]*float64 {
			out := map[string]*float64{}
			rows, err := wh.Query(ctx, "SELECT profile_id, "+expr+" FROM "+c.Final("profiles"))
			require.NoError(t, err)
			defer rows.Close()
			for rows.Next() {
				var id string
				var v *float64
				require.NoError(t, rows.Scan(&id, &v))
				out[id] = v
			}
			require.NoError(t, rows.Err())
			return out
		}
		bools := trait("CASE WHEN email_opt_in THEN 1.0 ELSE 0.0 END") // NULL is not converted
		events := func(name string, since *time.Time, until ...time.Time) map[string]*float64 {
			src := p.Source("web_events")
			rows, err := wh.Query(ctx, "SELECT r.profile_id, r.occurred_at, r.event_name FROM ("+identity.ProfileRows(c, src, c.Final(identity.GraphTable))+") r")
			require.NoError(t, err)
			defer rows.Close()
			out := map[string]*float64{}
			for id := range arm {
				out[id] = new(float64)
			}
			for rows.Next() {
				var id, ev string
				var at time.Time
				require.NoError(t, rows.Scan(&id, &at, &ev))
				from, ok := entered[id]
				if since != nil { // a local time, as the naive timestamps are read
					from = wall(*since)
				}
				if ok && out[id] != nil && !at.Before(from) && (name == "" || ev == name) && (len(until) == 0 || at.Before(until[0])) {
					*out[id] = 1
				}
			}
			require.NoError(t, rows.Err())
			return out
		}
		since := now.AddDate(0, 0, -60)
		// --since starts at local midnight: a member whose last add_to_cart
		// was late in the evening (local) has not converted since the next day
		late := map[string]time.Time{}
		for id, last := range lastEvents(t, wh, c, p.Source("web_events"), "add_to_cart") {
			if _, ok := arm[id]; ok && last.Hour() >= 22 {
				late[id] = last
			}
		}
		require.NotEmpty(t, late, "the demo data has a member whose last add_to_cart was after 22:00")
		var evening time.Time
		for _, last := range late {
			evening = last
			break
		}
		nextDay := time.Date(evening.Year(), evening.Month(), evening.Day()+1, 0, 0, 0, 0, p.Location())
		for _, tc := range []struct {
			o      LiftOptions
			kind   string
			values map[string]*float64
		}{
			{LiftOptions{Metric: "email_opt_in"}, "rate", bools},
			{LiftOptions{Metric: "lifetime_value"}, "mean", trait("CAST(lifetime_value AS " + d.TypeName(dialects.Number) + ")")},
			{LiftOptions{Metric: "web_events"}, "rate", events("", nil)},
			{LiftOptions{Metric: "web_events.add_to_cart", Since: &since}, "rate", events("add_to_cart", &since)},
			{LiftOptions{Metric: "web_events.add_to_cart", Since: &nextDay}, "rate", events("add_to_cart", &nextDay)},
		} {
			got, err := svc.Lift(ctx, "high_churn_risk", tc.o)
			require.NoError(t, err, tc.o.Metric)
			want := goLift(arm, tc.values, tc.kind)
			require.Equal(t, tc.kind, got.Kind)
			require.Equal(t, want.Sent.Members, got.Sent.Members, tc.o.Metric)
			require.Equal(t, want.Holdout.Members, got.Holdout.Members, tc.o.Metric)
			require.Positive(t, got.Sent.Members)
			require.Positive(t, got.Holdout.Members)
			require.Equal(t, want.Sent.Measured, got.Sent.Measured, tc.o.Metric)
			require.InDelta(t, want.Sent.Value, got.Sent.Value, 1e-9, tc.o.Metric)
			require.InDelta(t, want.Holdout.Value, got.Holdout.Value, 1e-9, tc.o.Metric)
			for _, pair := range [][2]*float64{{want.Lift, got.Lift}, {want.Relative, got.Relative}, {want.Low, got.Low}, {want.High, got.High}} {
				require.Equal(t, pair[0] == nil, pair[1] == nil, tc.o.Metric)
				if pair[0] != nil {
					require.InDelta(t, *pair[0], *pair[1], 1e-9, tc.o.Metric)
				}
			}
			t.Logf("%s", got)

			// the series: today's point is the report's lift; an earlier
			// one counts the conversions before the end of its day
			tc.o.Points = 7
			got, err = svc.Lift(ctx, "high_churn_risk", tc.o)
			require.NoError(t, err, tc.o.Metric)
			require.NotEmpty(t, got.Series)
			last := got.Series[len(got.Series)-1]
			require.Equal(t, now.Format(time.DateOnly), last.Date)
			require.InDelta(t, *got.Lift, *last.Lift, 1e-9, tc.o.Metric)
			require.InDelta(t, *got.Low, *last.Low, 1e-9, tc.o.Metric)
			if tc.o.Since == nil { // a trait has no past values; members entered at today's run
				require.Len(t, got.Series, 1)
				continue
			}
			require.Len(t, got.Series, 7)
			for i := 1; i < len(got.Series); i++ {
				require.Less(t, got.Series[i-1].Date, got.Series[i].Date)
				require.LessOrEqual(t, got.Series[i-1].Sent, got.Series[i].Sent, "conversions only accumulate")
			}
			mid := got.Series[3]
			day, err := time.Parse(time.DateOnly, mid.Date)
			require.NoError(t, err)
			want = goLift(arm, events(strings.TrimPrefix(strings.TrimPrefix(tc.o.Metric, "web_events"), "."), tc.o.Since, day.AddDate(0, 0, 1)), "rate")
			require.InDelta(t, want.Sent.Value, mid.Sent, 1e-9, mid.Date)
			require.InDelta(t, want.Holdout.Value, mid.Holdout, 1e-9, mid.Date)
			require.InDelta(t, *want.Low, *mid.Low, 1e-9, mid.Date)
			require.InDelta(t, *want.High, *mid.High, 1e-9, mid.Date)
		}

		// --since is a day of the project's timezone (Europe/Amsterdam),
		// shown as given; a day after today is refused; an event no row
		// has is a warning, not a silent 0%
		day := time.Date(2026, 10, 1, 0, 0, 0, 0, p.Location())
		got, err := svc.Lift(ctx, "high_churn_risk", LiftOptions{Metric: "web_events.add_to_cart", Since: &day})
		require.NoError(t, err)
		require.Equal(t, "2026-10-01", got.Since)
		require.Contains(t, got.String(), "events since 2026-10-01\n")
		require.Empty(t, got.Warnings)
		tomorrow := time.Date(2026, 11, 24, 0, 0, 0, 0, p.Location())
		_, err = svc.Lift(ctx, "high_churn_risk", LiftOptions{Metric: "web_events", Since: &tomorrow})
		var unknown *UnknownError
		require.ErrorAs(t, err, &unknown)
		require.ErrorContains(t, err, "--since 2026-11-24 is in the future")
		got, err = svc.Lift(ctx, "high_churn_risk", LiftOptions{Metric: "web_events.nosuchevent"})
		require.NoError(t, err)
		require.Equal(t, []string{`no row of source web_events has event_name "nosuchevent": the metric counts no conversions; check the event's name`}, got.Warnings)
	})
}

// goLift is the lift report's arithmetic, in Go: per arm the mean of the
// values (NULL left out), the variance p(1-p) for a rate or the sample
// variance for a mean, and the normal 95% interval of the difference.
// wall is t's wall clock in its location as a UTC time: how the driver
// reads a timestamp without a zone.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// lastEvents is each profile's last event of that name in src (its
// timestamp as read, without a zone).
func lastEvents(t *testing.T, wh dialects.Warehouse, c *plan.Context, src *models.Source, name string) map[string]time.Time {
	rows, err := wh.Query(context.Background(), dialects.Bind(wh.Dialect(), "SELECT r.profile_id, max(r.occurred_at) FROM ("+
		identity.ProfileRows(c, src, c.Final(identity.GraphTable))+") r WHERE r.event_name = ? GROUP BY r.profile_id"), name)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at time.Time
		require.NoError(t, rows.Scan(&id, &at))
		out[id] = at
	}
	require.NoError(t, rows.Err())
	return out
}

func goLift(arm map[string]string, values map[string]*float64, kind string) LiftResult {
	var r LiftResult
	sums := map[string][]float64{}
	for id, a := range arm {
		x := &r.Sent
		if a == "holdout" {
			x = &r.Holdout
		}
		x.Members++
		if v := values[id]; v != nil {
			sums[a] = append(sums[a], *v)
		}
	}
	stat := func(xs []float64) (n, mean, v float64) {
		n = float64(len(xs))
		for _, x := range xs {
			mean += x
		}
		mean /= n
		for _, x := range xs {
			v += (x - mean) * (x - mean)
		}
		if kind == "rate" {
			v /= n
		} else {
			v /= n - 1
		}
		return n, mean, v
	}
	sn, sm, sv := stat(sums["sent"])
	hn, hm, hv := stat(sums["holdout"])
	r.Sent.Measured, r.Sent.Value = int64(sn), sm
	r.Holdout.Measured, r.Holdout.Value = int64(hn), hm
	lift := sm - hm
	se := math.Sqrt(sv/sn + hv/hn)
	lo, hi := lift-z95*se, lift+z95*se
	r.Lift, r.Low, r.High = &lift, &lo, &hi
	if hm != 0 {
		rel := lift / hm
		r.Relative = &rel
	}
	return r
}
