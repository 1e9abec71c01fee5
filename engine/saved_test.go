package engine

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// A segment and a sync saved from the UI live as YAML ones do: a run
// builds the segment, the scheduler runs the sync after it (and forgets
// it once deleted), `cohort sync NAME` runs it, and both are validated
// with validate's messages.
func TestUISegmentsAndSyncsRunLikeYAMLOnes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 10, 0, 30, 0, time.UTC)
	hook := fake.New(t)
	t.Setenv("CRM_WEBHOOK_URL", hook.URL())
	t.Setenv("CRM_WEBHOOK_SECRET", fake.Secret)
	p := demoProject(t)
	gen := NewService(p, ServiceOptions{})
	_, err := gen.GenerateDemo(ctx, DemoOptions{Profiles: 150, Seed: 3, Now: t0})
	require.NoError(t, err)
	require.NoError(t, gen.Close())
	p.Schedule = models.Schedule{Cron: "0 * * * *"}
	for _, sy := range p.Syncs {
		sy.Schedule = models.Schedule{} // the YAML syncs run by hand only here
	}
	svc := NewService(p, ServiceOptions{})
	defer svc.Close()

	_, err = svc.SaveSegment(ctx, []byte(`{"name": "nl_ui", "where": {"trait": "country", "eq": "NL"}, "holdout": "20%"}`), "ann", true)
	require.NoError(t, err)

	// validated as validate does, with the position in the definition
	_, err = svc.SaveSync(ctx, []byte(`{"name": "nl_to_klaviyo", "segment": "nl_ui", "destination": "klaviyo", "mode": "upsert", "match": {"email": "email"}}`), "ann")
	require.ErrorContains(t, err, `<unsaved>:1:1: sync "nl_to_klaviyo": has no purpose`)
	_, err = svc.SaveSync(ctx, []byte(`{"name": "nl_to_crm", "segment": "nl_ui", "destination": "crm_webhook", "mode": "mirror",
  "match": {"email": "emial"}}`), "ann")
	require.ErrorContains(t, err, `<unsaved>:2:22: unknown trait "emial" (did you mean "email"?)`)
	_, err = svc.SaveSync(ctx, []byte(`{"name": "x", "segment": "nope", "destination": "crm_webhook", "mode": "sideways", "match": {"email": "email"}}`), "ann")
	require.ErrorContains(t, err, `unknown segment "nope"`)
	require.ErrorContains(t, err, `"sideways"`)
	var conflict *ConflictError
	_, err = svc.SaveSync(ctx, []byte(`{"name": "churn_risk_to_crm", "segment": "nl_ui", "destination": "crm_webhook", "mode": "upsert", "match": {"email": "email"}}`), "ann")
	require.ErrorAs(t, err, &conflict, "a YAML sync's name")

	def := []byte(`{"name": "nl_to_crm", "segment": "nl_ui", "destination": "crm_webhook", "mode": "mirror",
  "match": {"email": "email"}, "fields": {"first_name": "first_name"}, "schedule": {"after": "run"}}`)
	_, err = svc.SaveSync(ctx, def, "ann")
	require.NoError(t, err)
	_, err = svc.SaveSync(ctx, def, "bob")
	require.ErrorAs(t, err, &conflict, "a name in use")
	err = svc.DeleteSegment(ctx, "nl_ui")
	require.ErrorAs(t, err, &conflict, "a segment a sync sends")
	require.ErrorContains(t, err, "nl_to_crm")

	clock := &manualClock{now: t0}
	sched, err := svc.Scheduler(ctx, SchedulerOptions{Clock: clock, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	var names []string
	for _, j := range sched.Jobs() {
		names = append(names, j.Name)
	}
	require.Equal(t, []string{"run", "sync:nl_to_crm@run"}, names)
	sched.Tick(ctx)
	clock.set(t0.Add(time.Hour))
	sched.Tick(ctx) // the warehouse run, then the UI sync after it

	// the run built the UI segment, with its holdout
	wh, c, err := svc.reader(ctx)
	require.NoError(t, err)
	var members, held int64
	require.NoError(t, plan.QueryRow(ctx, wh, dialects.Bind(wh.Dialect(), `SELECT count(CASE WHEN NOT holdout THEN 1 END), count(CASE WHEN holdout THEN 1 END)
FROM `+c.Final(segments.MembershipsTable)+` WHERE segment = ?`), []any{"nl_ui"}, &members, &held))
	require.Positive(t, members)
	require.Positive(t, held)
	hist, err := svc.SegmentHistory(ctx, "nl_ui")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, members+held, hist[0].Members)

	h, err := svc.SyncHistory(ctx, "nl_to_crm", 10, 0)
	require.NoError(t, err)
	require.Len(t, h.Runs, 1, "the scheduler ran the UI sync after the run")
	require.Equal(t, state.Succeeded, h.Runs[0].Status, h.Runs[0].Error)
	sent := len(hook.Members())
	require.Positive(t, sent)
	require.LessOrEqual(t, int64(sent), members, "the holdout is not sent")

	res, err := svc.Sync(ctx, SyncOptions{Names: []string{"nl_to_crm"}}) // cohort sync nl_to_crm
	require.NoError(t, err)
	require.Zero(t, res[0].Planned.Total(), "nothing changed since")

	list, err := svc.Syncs(ctx)
	require.NoError(t, err)
	src := map[string]string{}
	for _, st := range list {
		src[st.Name] = st.Source
		if st.Name == "nl_to_crm" {
			require.Equal(t, "ann", st.UpdatedBy)
			require.False(t, st.ReadOnly)
			require.Equal(t, "after run", st.Schedule)
		}
	}
	require.Equal(t, "ui", src["nl_to_crm"])
	require.Equal(t, "yaml", src["churn_risk_to_crm"])

	require.ErrorAs(t, svc.DeleteSync(ctx, "churn_risk_to_crm"), &conflict, "YAML syncs are read-only")
	require.NoError(t, svc.DeleteSync(ctx, "nl_to_crm"))
	var unknown *UnknownError
	require.ErrorAs(t, svc.DeleteSync(ctx, "nl_to_crm"), &unknown)
	sched.Tick(ctx)
	require.Len(t, sched.Jobs(), 1, "the scheduler dropped the deleted sync")
	_, err = svc.Sync(ctx, SyncOptions{Names: []string{"nl_to_crm"}})
	require.ErrorAs(t, err, &unknown)
	require.NoError(t, svc.DeleteSegment(ctx, "nl_ui"), "no sync sends it any more")

	// the deleted sync's destination still holds the people it sent: a
	// forget asks it to erase them, and an export still shows them
	var typ, val, pid string
	require.NoError(t, plan.QueryRow(ctx, wh, `SELECT g.identifier_type, g.identifier_value, g.profile_id
FROM `+c.Final("sync_nl_to_crm_snapshot")+` s JOIN `+c.Final("identity_graph")+` g ON g.profile_id = s.profile_id ORDER BY 3, 1, 2 LIMIT 1`, nil, &typ, &val, &pid))
	holds, err := svc.Deliveries(ctx, pid)
	require.NoError(t, err)
	require.Len(t, holds, 1)
	require.Equal(t, "nl_to_crm", holds[0].Sync)
	rep, err := svc.Forget(ctx, Ident{Type: typ, Value: val}, ForgetOptions{})
	require.NoError(t, err)
	var erased []string
	for _, e := range rep.Erasures {
		erased = append(erased, e.Sync+" "+e.Status)
	}
	require.Contains(t, erased, "nl_to_crm erased", "%v", erased)
}
