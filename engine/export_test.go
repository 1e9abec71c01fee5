package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pgfake "github.com/cohort-cdp/cohort/engine/destinations/postgres/fake"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// dumpState is every row of every table of the project's SQLite state store.
func dumpState(t *testing.T, w *privacyWorld) string {
	db, err := sql.Open("sqlite", filepath.Join(w.svc.Project.Dir, "state.db"))
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Close())
	var b strings.Builder
	for _, tb := range tables {
		rows, err := db.Query(`SELECT * FROM "` + tb + `"`)
		require.NoError(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for i, v := range vals {
				if x, ok := v.([]byte); ok {
					vals[i] = string(x)
				}
			}
			fmt.Fprintf(&b, "%s %v\n", tb, vals)
		}
		require.NoError(t, rows.Close())
	}
	return b.String()
}

// A subject access request gathers the person's identifiers with their
// sources, traits, segments and their history, what each sync holds or
// refused of them, and the source rows holding them; once forgotten, the
// export says so and holds nothing else.
func TestExportProfile(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.us.Reject("anna@voorbeeld.nl")
	w.run(t)
	_, err := w.svc.Sync(ctx, SyncOptions{All: true})
	require.Error(t, err, "the US receiver refused anna: that sync is partial")

	exp, err := w.svc.ExportProfile(ctx, Ident{Type: "email", Value: " ANNA@voorbeeld.nl"})
	require.NoError(t, err)
	assert.False(t, exp.Suppressed)
	assert.NotEmpty(t, exp.ProfileID)
	ids := map[string][]string{}
	for _, x := range exp.Identifiers {
		ids[x.Type+":"+x.Value] = x.Sources
	}
	assert.Equal(t, map[string][]string{"customer_id:c4": {"customers"}, "email:anna@voorbeeld.nl": {"customers", "newsletter"}}, ids)
	traits := map[string]any{}
	for _, tv := range exp.Traits {
		traits[tv.Name] = tv.Value
	}
	assert.Equal(t, "Anna", traits["first_name"])
	require.Len(t, exp.Segments, 1)
	assert.Equal(t, "everyone", exp.Segments[0].Segment)
	require.Len(t, exp.SegmentHistory, 1)
	assert.Equal(t, "entered", exp.SegmentHistory[0].Change)
	require.Len(t, exp.Deliveries, 2, "%+v", exp.Deliveries)
	got := map[string]Delivery{}
	for _, d := range exp.Deliveries {
		got[d.Sync] = d
	}
	assert.Equal(t, "sent", got["to_eu"].Status)
	assert.Equal(t, "eu", got["to_eu"].Region)
	assert.Equal(t, map[string]string{"email": "anna@voorbeeld.nl"}, got["to_eu"].Key)
	assert.NotEmpty(t, got["to_eu"].RunID)
	require.NotNil(t, got["to_eu"].At)
	assert.Equal(t, "rejected", got["to_us"].Status)
	assert.Equal(t, "us", got["to_us"].Region)
	assert.NotEmpty(t, got["to_us"].Reason)
	assert.Equal(t, map[string]int64{"customers": 1, "newsletter": 1}, exp.SourceRows)

	_, err = w.svc.ExportProfile(ctx, Ident{Type: "email", Value: "nobody@voorbeeld.nl"})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = w.svc.ExportProfile(ctx, Ident{Type: "phone", Value: "1"})
	var unknown *UnknownError
	assert.ErrorAs(t, err, &unknown)

	require.Contains(t, dumpState(t, w), "anna@voorbeeld.nl", "the test must see anna's rejected row before forgetting her")
	rep, err := w.svc.Forget(ctx, Ident{Type: "customer_id", Value: "c4"}, ForgetOptions{})
	require.NoError(t, err)
	require.True(t, rep.Done)
	exp, err = w.svc.ExportProfile(ctx, Ident{Type: "email", Value: "anna@voorbeeld.nl"})
	require.NoError(t, err)
	assert.True(t, exp.Suppressed, "her other identifiers are forgotten too")
	assert.NotNil(t, exp.ForgottenAt)
	assert.Empty(t, exp.Identifiers)
	assert.Empty(t, exp.Deliveries)

	// after forget neither the state store nor the output schema holds her in clear
	assert.NotContains(t, strings.ToLower(dumpState(t, w)), "anna@voorbeeld.nl")
	assert.NotContains(t, strings.ToLower(dump(t, w, "cohort")), "anna@voorbeeld.nl")
}

// Once someone is forgotten, cohort compile prints each source read
// without their rows, as the next run reads it: what runs is what prints.
func TestCompileShowsTheSuppressionFilter(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t)
	const filter = "without the rows of forgotten people"
	pl, err := w.svc.Compile(ctx, CompileOptions{})
	require.NoError(t, err)
	require.NotContains(t, pl.SQL(), filter, "nobody is forgotten yet")
	_, err = w.svc.Forget(ctx, Ident{Type: "customer_id", Value: "c2"}, ForgetOptions{})
	require.NoError(t, err)
	pl, err = w.svc.Compile(ctx, CompileOptions{Dialect: "postgres"})
	require.NoError(t, err)
	sql := pl.SQL()
	for _, src := range []string{"customers", "newsletter"} {
		assert.Contains(t, sql, "-- "+src+" "+filter)
	}
	assert.Contains(t, sql, `"cohort"."suppressions"`)
}

// retention.segment_history: the scheduler's pruning deletes the entries
// and exits older than it, and the segment's sizes over time still count
// back from its members now.
func TestRetentionPrunesSegmentHistory(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t) // day 0: four people enter "everyone"
	wh, err := w.svc.warehouse(ctx)
	require.NoError(t, err)
	require.NoError(t, wh.Exec(ctx, "UPDATE raw.customers SET email = NULL WHERE customer_id = 'c2'"))
	require.NoError(t, wh.Exec(ctx, "DELETE FROM raw.newsletter WHERE email = 'eva@voorbeeld.nl'"))
	w.now = w.now.Add(10 * 24 * time.Hour)
	w.run(t) // day 10: eva leaves

	w.svc.Project.Retention.SegmentHistory = models.Duration{D: 7 * 24 * time.Hour, Text: "7d"}
	require.NoError(t, w.svc.Prune(ctx, w.now.Add(24*time.Hour)))
	var n int64
	require.NoError(t, plan.QueryRow(ctx, wh, `SELECT count(*) FROM cohort.segment_history`, nil, &n))
	assert.EqualValues(t, 1, n, "the entries of day 0 are gone, the exit of day 10 stays")
	pts, err := w.svc.SegmentHistory(ctx, "everyone")
	require.NoError(t, err)
	require.Len(t, pts, 1)
	assert.EqualValues(t, 1, pts[0].Exited)
	assert.EqualValues(t, 3, pts[0].Members, "jan, piet and anna are still in")

	// without the setting, nothing of the warehouse is pruned
	w.svc.Project.Retention.SegmentHistory = models.Duration{}
	require.NoError(t, w.svc.Prune(ctx, w.now.Add(1000*24*time.Hour)))
	require.NoError(t, plan.QueryRow(ctx, wh, `SELECT count(*) FROM cohort.segment_history`, nil, &n))
	assert.EqualValues(t, 1, n)
}

// Where each sync sends, and how many people may go there: the consent
// rule and transfer consent counted in the warehouse, and nobody forgotten.
func TestReachCountsWhoMayGoWhere(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	_, err := w.svc.openWarehouse(ctx, true)
	require.NoError(t, err)
	rs, err := w.svc.Reach(ctx, true)
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Nil(t, rs[0].Allowed)
	assert.Contains(t, rs[0].String(), "run `cohort run` first")

	w.run(t)
	count := func() map[string]string {
		rs, err := w.svc.Reach(ctx, true)
		require.NoError(t, err)
		out := map[string]string{}
		for _, r := range rs {
			out[r.Sync] = fmt.Sprintf("%s %v %d/%d", r.Region, r.OutsideEEA, *r.Allowed, *r.Members)
		}
		return out
	}
	// eva has no consent; piet has no transfer consent
	assert.Equal(t, map[string]string{"to_eu": "eu false 3/4", "to_us": "us true 2/4"}, count())
	rs, err = w.svc.Reach(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, "sync to_us → us_hook (region us, outside the EU/EEA): 2 of 4 members may go there: "+
		"consent for newsletter (email_opt_in) and consent to transfer outside the EU/EEA (transfer_consent), and a value to match on (email)", rs[1].String())
	syncs, err := w.svc.Syncs(ctx)
	require.NoError(t, err)
	require.NotNil(t, syncs[1].AllowedProfiles)
	assert.Equal(t, "us", syncs[1].Region)
	assert.EqualValues(t, 2, *syncs[1].AllowedProfiles, "the API lists the same count next to the sync")

	_, err = w.svc.Forget(ctx, Ident{Type: "customer_id", Value: "c1"}, ForgetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"to_eu": "eu false 2/3", "to_us": "us true 1/3"}, count(), "jan is forgotten")

	// a member without a value to match on is not sent, so not counted
	for _, sy := range w.svc.Project.Syncs {
		if sy.Name == "to_eu" {
			sy.Match = map[string]string{"email": "first_name"}
		}
	}
	wh, err := w.svc.warehouse(ctx)
	require.NoError(t, err)
	require.NoError(t, wh.Exec(ctx, "UPDATE raw.customers SET first_name = NULL WHERE customer_id = 'c4'"))
	w.run(t)
	assert.Equal(t, map[string]string{"to_eu": "eu false 1/3", "to_us": "us true 1/3"}, count(), "anna has no first name to match on")

	rs, err = w.svc.Reach(ctx, false)
	require.NoError(t, err)
	assert.Nil(t, rs[1].Allowed)
	assert.Contains(t, rs[1].String(), "(region us, outside the EU/EEA): not counted")
}

// What a project marks pii: true is masked by Redact in a profile, a
// preview's sample and a dry run's sample (the command line without
// --show-pii), and so is an e-mail address without pii: true: the e-mail
// identifier's columns are personal, and so the trait read from them.
// Other traits stay as they are.
func TestRedactMasksPIIColumns(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t)
	assert.Equal(t, map[string]bool{"first_name": true, "name": true, "email": true}, w.svc.PersonalKeys(),
		"the traits read from customers.first_name and the e-mail columns, and the sync field first_name fills")

	who, err := w.svc.Profile(ctx, Ident{Type: "customer_id", Value: "c1"})
	require.NoError(t, err)
	w.svc.Redact(who)
	traits := map[string]any{}
	for _, tv := range who.Profile.Traits {
		traits[tv.Name] = tv.Value
	}
	assert.Equal(t, "J***", traits["first_name"])
	assert.Equal(t, "j***@v***.nl", traits["email"], "an e-mail address, not marked pii")
	assert.Equal(t, true, traits["email_opt_in"])
	assert.Contains(t, who.String(), "customer_id:c1", "the identifier looked up")

	seg, err := w.svc.Segment("everyone")
	require.NoError(t, err)
	pv, err := w.svc.Preview(ctx, seg, PreviewOptions{Sample: 10, Traits: []string{"first_name", "email", "email_opt_in"}})
	require.NoError(t, err)
	require.NotEmpty(t, pv.Sample)
	w.svc.Redact(pv)
	for _, m := range pv.Sample {
		assert.Regexp(t, `^[A-Z]\*\*\*$`, m.Traits["first_name"])
		assert.Regexp(t, `^[a-z]\*\*\*@v\*\*\*\.nl$`, m.Traits["email"])
		assert.IsType(t, true, m.Traits["email_opt_in"])
	}

	res, err := w.svc.Sync(ctx, SyncOptions{Names: []string{"to_eu"}, DryRun: true, Sample: 10})
	require.NoError(t, err)
	require.NotEmpty(t, res[0].Sample)
	w.svc.Redact(res)
	for _, c := range res[0].Sample {
		assert.Regexp(t, `^[A-Z]\*\*\*$`, c.Fields["name"])
	}
}

// A dry run's sample masks the match key as it masks the fields: the
// e-mail address a destination matches on is personal data. A sync Redact
// does not find in the YAML (saved from the UI) has its whole sample masked.
func TestRedactMasksTheMatchKey(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t)
	res, err := w.svc.Sync(ctx, SyncOptions{Names: []string{"to_eu"}, DryRun: true, Sample: 10})
	require.NoError(t, err)
	require.NotEmpty(t, res[0].Sample)
	w.svc.Redact(res)
	for _, c := range res[0].Sample {
		assert.Regexp(t, `^[a-z]\*\*\*@v\*\*\*\.nl$`, c.Key["email"])
		assert.Regexp(t, `^[A-Z]\*\*\*$`, c.Fields["name"])
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "@voorbeeld.nl", "--json")

	saved := []*sync.Result{{Run: state.SyncRun{Sync: "from_the_ui"}, Sample: []sync.Change{
		{Op: "add", ProfileID: "p1", Key: map[string]string{"external_id": "c1"}, Fields: map[string]any{"tier": "gold"}}}}}
	w.svc.Redact(saved)
	assert.Equal(t, map[string]string{"external_id": "c***"}, saved[0].Sample[0].Key)
	assert.Equal(t, map[string]any{"tier": "g***"}, saved[0].Sample[0].Fields)
}

// A profile masks the identifiers that are personal data (the e-mail
// address here) but the one it was looked up by, however it was typed;
// a customer number stays readable. What a sync sent (the match key, the
// destination's reason) is masked too.
func TestRedactMasksIdentifiersButTheOneAsked(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t)
	w.sync(t)
	ids := func(p *Person) map[string]string {
		out := map[string]string{}
		for _, id := range p.Identity.Identifiers {
			out[id.Type] = id.Value
		}
		return out
	}

	who, err := w.svc.Profile(ctx, Ident{Type: "customer_id", Value: "c1"})
	require.NoError(t, err)
	require.NotEmpty(t, who.Deliveries)
	w.svc.Redact(who)
	assert.Equal(t, map[string]string{"customer_id": "c1", "email": "j***@v***.nl"}, ids(who))
	for _, d := range who.Deliveries {
		assert.Equal(t, map[string]string{"email": "j***@v***.nl"}, d.Key, d.Sync)
	}
	b, err := json.Marshal(who)
	require.NoError(t, err)
	assert.NotContains(t, strings.ToLower(string(b)), "jan@voorbeeld.nl")
	assert.NotContains(t, who.String(), "jan@voorbeeld.nl")

	who, err = w.svc.Profile(ctx, Ident{Type: "email", Value: " JAN@voorbeeld.nl"})
	require.NoError(t, err)
	w.svc.Redact(who)
	assert.Equal(t, map[string]string{"customer_id": "c1", "email": "jan@voorbeeld.nl"}, ids(who), "the address asked about")
}

// PostgreSQL quotes the row it refused ("Failing row contains
// (anna@voorbeeld.nl, Anna, ...)"): the reason is kept in the sync's run
// history masked, as a destination's other errors are, and still names the
// constraint.
func TestRejectionReasonNamesNobody(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	db := syncRefusingAnna(t, w)
	assert.Contains(t, db.Members(), "jan@voorbeeld.nl", "the others are written")

	h, err := w.svc.SyncHistory(ctx, "to_app", 1, 5)
	require.NoError(t, err)
	require.Len(t, h.Runs, 1)
	rs := h.Rejections[h.Runs[0].ID]
	require.Len(t, rs, 1)
	assert.Contains(t, rs[0].Reason, `violates check constraint "customers_name_check"`)
	assert.Contains(t, rs[0].Reason, "Failing row contains (a***@v***.nl, A***, ")
	kept := dumpState(t, w)
	assert.NotContains(t, kept, "Failing row contains (anna@")
	assert.NotContains(t, kept, "Anna,")
}

// syncRefusingAnna adds sync to_app, to a table of a PostgreSQL database
// whose check constraint refuses Anna's row, and runs it (partial).
func syncRefusingAnna(t *testing.T, w *privacyWorld) *pgfake.Server {
	db := pgfake.New(t, "crm.customers", "email")
	db.Exec(`CREATE SCHEMA crm; CREATE TABLE crm.customers (email text PRIMARY KEY, name text CHECK (name <> 'Anna'),
		cohort_profile_id text, cohort_synced_at timestamptz)`)
	w.svc.Project.Destinations = append(w.svc.Project.Destinations, &models.Destination{Name: "app_db", Type: "postgres", Region: "eu",
		Config: map[string]any{"dsn": db.DSN(), "table": "crm.customers"}})
	w.svc.Project.Syncs = append(w.svc.Project.Syncs, &models.Sync{Name: "to_app", Segment: "everyone", Destination: "app_db", Mode: "upsert",
		Match: map[string]string{"email": "email"}, Fields: map[string]string{"name": "first_name"}, Purpose: "newsletter"})
	w.run(t)
	_, err := w.svc.Sync(context.Background(), SyncOptions{Names: []string{"to_app"}})
	require.ErrorContains(t, err, "sync to_app partial")
	return db
}

// The run history's rejected rows are masked by Redact (cohort sync history
// without --show-pii): the match key, kept in clear for erasure and access
// requests, and the reason, masked again to no effect.
func TestRedactMasksRejectedRows(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	syncRefusingAnna(t, w)
	h, err := w.svc.SyncHistory(ctx, "to_app", 1, 5)
	require.NoError(t, err)
	rs := h.Rejections[h.Runs[0].ID]
	require.Len(t, rs, 1)
	require.Equal(t, "anna@voorbeeld.nl", rs[0].Key, "kept in clear")
	reason := rs[0].Reason
	w.svc.Redact(h)
	assert.Equal(t, "a***@v***.nl", rs[0].Key)
	assert.Equal(t, reason, rs[0].Reason)

	h = &SyncHistory{Rejections: map[string][]state.Rejection{"r1": {{Sync: "from_the_ui", Key: "c1" + sync.KeySep + "+31612345678", Reason: "jan@kpn.nl is blocked"}}}}
	w.svc.Redact(h)
	assert.Equal(t, state.Rejection{Sync: "from_the_ui", Key: "c***" + sync.KeySep + "+***78", Reason: "j***@k***.nl is blocked"}, h.Rejections["r1"][0],
		"a sync not in the YAML: every value of its key, and a reason kept before reasons were masked")
}

// A destination's refusal that quotes a person (an e-mail in its error
// body) is kept in the sync's run history masked, and returned masked.
func TestSyncRunErrorNamesNobody(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		http.Error(rw, `{"error":"this key may not send to jan@voorbeeld.nl"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	w.svc.Project.Destination("eu_hook").Config["url"] = srv.URL
	w.run(t)
	_, err := w.svc.Sync(ctx, SyncOptions{Names: []string{"to_eu"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "j***@v***.nl", "the error the caller prints or logs")
	assert.NotContains(t, err.Error(), "jan@voorbeeld.nl")
	runs, err := w.svc.Store.SyncRuns(ctx, "shop", "to_eu", 1)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Contains(t, runs[0].Error, "HTTP 401")
	assert.Contains(t, runs[0].Error, "j***@v***.nl")
	assert.NotContains(t, strings.ToLower(dumpState(t, w)), "jan@voorbeeld.nl")
}

// validate --strict reads each source's primary_key: a key two rows hold,
// or a row without one, is a warning at the source's line.
func TestKeyWarnings(t *testing.T) {
	for _, typ := range []string{"duckdb", "postgres"} {
		t.Run(typ, func(t *testing.T) {
			ctx := context.Background()
			w := newPrivacyWorldOn(t, typ)
			warnings, err := w.svc.KeyWarnings(ctx)
			require.NoError(t, err)
			assert.Empty(t, warnings, "four customers, four keys")

			wh, err := w.svc.warehouse(ctx)
			require.NoError(t, err)
			require.NoError(t, wh.Exec(ctx, `INSERT INTO raw.customers VALUES
			  ('c2', 'eva@voorbeeld.nl', 'Eva', TIMESTAMP '2026-11-03 10:00:00'),
			  ('c2', 'eva@voorbeeld.nl', 'Eva', TIMESTAMP '2026-11-04 10:00:00'),
			  (NULL, 'kees@voorbeeld.nl', 'Kees', TIMESTAMP '2026-11-04 10:00:00')`))
			warnings, err = w.svc.KeyWarnings(ctx)
			require.NoError(t, err)
			assert.Equal(t, []string{"models/m.yaml:3:5: source customers: primary_key customer_id is not a key: " +
				"2 of 7 rows repeat a key another row holds, and 1 of 7 rows have no key; each row still counts as evidence"}, warnings)
		})
	}
}
