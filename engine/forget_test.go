package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// privacyProject has four people in a shop and a newsletter source, and
// one segment (everyone) synced to an EU webhook and to a US one.
//
//	jan  marketing yes, transfer yes   → both
//	eva  marketing no                  → neither
//	piet marketing yes, transfer no    → the EU one only
//	anna marketing yes, transfer yes   → both
const privacyModels = `
sources:
  - name: customers
    table: raw.customers
    primary_key: customer_id
    timestamp: updated_at
    identifiers:
      - {type: customer_id, column: customer_id}
      - {type: email, column: email}
    columns: [{name: first_name, pii: true}]
  - name: newsletter
    table: raw.newsletter
    timestamp: updated_at
    identifiers:
      - {type: email, column: email}
identity:
  identifiers:
    - {type: customer_id, limit: 1}
    - {type: email, normalize: email}
traits:
  - {name: email, from: customers.email, pick: latest, normalize: email}
  - {name: first_name, from: customers.first_name, pick: latest}
  - {name: email_opt_in, from: newsletter.opted_in, pick: latest}
  - {name: transfer_consent, from: newsletter.transfer, pick: latest}
segments:
  - name: everyone
    where: {trait: email, is_null: false}
destinations:
  - name: eu_hook
    type: webhook
    region: eu
    config: {url: "${EU_HOOK}", secret: "` + fake.Secret + `"}
  - name: us_hook
    type: webhook
    region: us
    config: {url: "${US_HOOK}", secret: "` + fake.Secret + `"}
syncs:
  - {name: to_eu, segment: everyone, destination: eu_hook, mode: upsert, match: {email: email}, fields: {name: first_name}, purpose: newsletter}
  - {name: to_us, segment: everyone, destination: us_hook, mode: mirror, match: {email: email}, fields: {name: first_name}, purpose: newsletter}
consent:
  purposes:
    - {name: newsletter, trait: email_opt_in}
  transfer_outside_eu: {trait: transfer_consent}
`

type privacyWorld struct {
	svc    *Service
	dir    string
	eu, us *fake.Fake
	logs   *bytes.Buffer
	now    time.Time
}

func newPrivacyWorld(t *testing.T) *privacyWorld { return newPrivacyWorldOn(t, "duckdb") }

// newPrivacyWorldOn is the privacy world in a warehouse of type typ
// (duckdb, or postgres in a database of the test's own).
func newPrivacyWorldOn(t *testing.T, typ string) *privacyWorld {
	ctx := context.Background()
	w := &privacyWorld{eu: fake.New(t), us: fake.New(t), logs: &bytes.Buffer{}, now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	t.Setenv("EU_HOOK", w.eu.URL())
	t.Setenv("US_HOOK", w.us.URL())
	warehouse := "{type: duckdb, path: wh.duckdb, schema: cohort}"
	if typ == "postgres" {
		warehouse = fmt.Sprintf("{type: postgres, dsn: %q, schema: cohort}", dialecttest.NewPostgresDB(t))
	}
	w.dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "cohort.yaml"), []byte("name: shop\nwarehouse: "+warehouse+"\nstate: state.db\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(w.dir, "models"), 0o755))
	w.load(t, privacyModels)
	t.Cleanup(func() { w.svc.Close() })
	wh, err := w.svc.openWarehouse(ctx, true)
	require.NoError(t, err)
	for _, st := range []string{
		"CREATE SCHEMA raw",
		`CREATE TABLE raw.customers AS SELECT * FROM (VALUES
		  ('c1', ' Jan@Voorbeeld.nl', 'Jan', TIMESTAMP '2026-11-01 10:00:00'),
		  ('c2', 'eva@voorbeeld.nl', 'Eva', TIMESTAMP '2026-11-01 10:00:00'),
		  ('c3', 'piet@voorbeeld.nl', 'Piet', TIMESTAMP '2026-11-01 10:00:00'),
		  ('c4', 'anna@voorbeeld.nl', 'Anna', TIMESTAMP '2026-11-01 10:00:00'))
		  AS t(customer_id, email, first_name, updated_at)`,
		`CREATE TABLE raw.newsletter AS SELECT * FROM (VALUES
		  ('jan@voorbeeld.nl', true, true, TIMESTAMP '2026-11-02 10:00:00'),
		  ('JAN@voorbeeld.nl ', true, true, TIMESTAMP '2026-11-02 10:00:00'),
		  ('eva@voorbeeld.nl', false, true, TIMESTAMP '2026-11-02 10:00:00'),
		  ('piet@voorbeeld.nl', true, false, TIMESTAMP '2026-11-02 10:00:00'),
		  ('anna@voorbeeld.nl', true, true, TIMESTAMP '2026-11-02 10:00:00'))
		  AS t(email, opted_in, transfer, updated_at)`,
	} {
		require.NoError(t, wh.Exec(ctx, st))
	}
	return w
}

// load writes models as the project's models/m.yaml and gives the world a
// service of the project as it now reads (the previous one closed), as the
// next command would see it.
func (w *privacyWorld) load(t *testing.T, yaml string) {
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "models", "m.yaml"), []byte(yaml), 0o644))
	p, err := models.LoadAndValidate(w.dir)
	require.NoError(t, err)
	if w.svc != nil {
		require.NoError(t, w.svc.Close())
	}
	w.svc = NewService(p, ServiceOptions{})
	w.svc.Clock = func() time.Time { w.now = w.now.Add(time.Second); return w.now }
	w.svc.Logger = slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// exec runs statements in the world's warehouse.
func (w *privacyWorld) exec(t *testing.T, statements ...string) {
	ctx := context.Background()
	wh, err := w.svc.openWarehouse(ctx, false)
	require.NoError(t, err)
	for _, st := range statements {
		require.NoError(t, wh.Exec(ctx, st), st)
	}
}

func (w *privacyWorld) run(t *testing.T) {
	_, err := w.svc.Run(context.Background(), RunOptions{})
	require.NoError(t, err)
}

func (w *privacyWorld) sync(t *testing.T) []*sync.Result {
	res, err := w.svc.Sync(context.Background(), SyncOptions{All: true})
	require.NoError(t, err)
	return res
}

func members(f *fake.Fake) []string {
	var out []string
	for k := range f.Members() {
		out = append(out, k)
	}
	return out
}

// Consent and transfers: eva (no consent) reaches no destination; piet (no
// transfer consent) reaches the EU one and never the US one.
func TestConsentAndTransferDecideWhoIsSent(t *testing.T) {
	w := newPrivacyWorld(t)
	w.run(t)
	w.sync(t)
	assert.ElementsMatch(t, []string{"jan@voorbeeld.nl", "piet@voorbeeld.nl", "anna@voorbeeld.nl"}, members(w.eu))
	assert.ElementsMatch(t, []string{"jan@voorbeeld.nl", "anna@voorbeeld.nl"}, members(w.us))
}

// dump is every row of every table of a schema as text, and of the state
// store's tables holding keys.
func dump(t *testing.T, w *privacyWorld, schema string) string {
	ctx := context.Background()
	wh, err := w.svc.warehouse(ctx)
	require.NoError(t, err)
	tables, err := wh.Tables(ctx, schema, "")
	require.NoError(t, err)
	var b strings.Builder
	for _, tb := range tables {
		rows, err := wh.Query(ctx, "SELECT * FROM "+wh.Dialect().Quote(schema, tb.Name))
		require.NoError(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			fmt.Fprintf(&b, "%s %v\n", tb.Name, vals)
		}
		require.NoError(t, rows.Close())
	}
	return b.String()
}

func clearIn(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "jan@voorbeeld.nl") || strings.Contains(s, "'c1'") || strings.Contains(s, " c1 ") || strings.Contains(s, "[c1 ")
}

// After forget, no output table, no later sync and no log line holds jan in
// clear, though the sources still do; the report says where.
func TestForgetErasesEverywhereAndForEver(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t)
	w.sync(t)
	require.Contains(t, members(w.eu), "jan@voorbeeld.nl")
	require.Contains(t, members(w.us), "jan@voorbeeld.nl")
	require.True(t, clearIn(dump(t, w, "cohort")), "the test must see jan before forgetting him")

	rep, err := w.svc.Forget(ctx, Ident{Type: "email", Value: "JAN@voorbeeld.nl"}, ForgetOptions{})
	require.NoError(t, err)
	assert.True(t, rep.Done)
	assert.Equal(t, "email:j***@v***.nl", rep.Identifier)
	assert.Len(t, rep.Profiles, 1)
	assert.Equal(t, 2, rep.Identifiers, "the profile's customer_id and e-mail (the requested one among them)")
	assert.Equal(t, map[string]int64{"customers": 1, "newsletter": 2}, rep.Sources)
	assert.Equal(t, int64(2), rep.Removed["identity_graph"], "his two identifiers, each counted once: %v", rep.Removed)
	statuses := map[string]string{}
	for _, e := range rep.Erasures {
		statuses[e.Sync] = e.Status
	}
	assert.Equal(t, map[string]string{"to_eu": sync.Erased, "to_us": sync.Erased}, statuses)
	assert.NotContains(t, members(w.eu), "jan@voorbeeld.nl")
	assert.NotContains(t, members(w.us), "jan@voorbeeld.nl")
	assert.Contains(t, w.eu.Erased(), "jan@voorbeeld.nl")
	assert.False(t, clearIn(dump(t, w, "cohort")), "no output table holds jan right after forget:\n%s", dump(t, w, "cohort"))

	// The sources still hold him; the next run and syncs leave him out.
	w.run(t)
	res := w.sync(t)
	for _, r := range res {
		assert.Zero(t, r.Planned.Total(), "%s: nothing changes for the others", r.Run.Sync)
	}
	assert.NotContains(t, members(w.eu), "jan@voorbeeld.nl")
	assert.ElementsMatch(t, []string{"piet@voorbeeld.nl", "anna@voorbeeld.nl"}, members(w.eu))
	assert.False(t, clearIn(dump(t, w, "cohort")), "no output table holds jan after the next run:\n%s", dump(t, w, "cohort"))
	_, err = w.svc.Profile(ctx, Ident{Type: "customer_id", Value: "c1"})
	require.Error(t, err, "his other identifiers are forgotten too")

	// Again: idempotent.
	rep, err = w.svc.Forget(ctx, Ident{Type: "email", Value: "jan@voorbeeld.nl"}, ForgetOptions{})
	require.NoError(t, err)
	assert.True(t, rep.Done)
	reqs, err := w.svc.Store.ForgetRequests(ctx, "shop", false)
	require.NoError(t, err)
	assert.Len(t, reqs, 1)
	assert.False(t, clearIn(w.logs.String()), "no log line holds jan:\n%s", w.logs.String())
	assert.False(t, clearIn(dump(t, w, "cohort")))
}

// A forget while a sync is sending waits for it, then erases what it sent.
func TestForgetDuringARunningSync(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t)
	sending, release := make(chan struct{}), make(chan struct{})
	var once stdsync.Once
	var wg stdsync.WaitGroup
	wg.Add(1)
	var syncErr error
	go func() {
		defer wg.Done()
		_, syncErr = w.svc.Sync(ctx, SyncOptions{Names: []string{"to_eu"}, Delivery: sync.Options{BeforeWrite: func(*destinations.Batch) {
			once.Do(func() { close(sending); <-release })
		}}})
	}()
	<-sending
	waited := make(chan struct{})
	var rep *ForgetReport
	var forgetErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		var o stdsync.Once
		rep, forgetErr = w.svc.Forget(ctx, Ident{Type: "customer_id", Value: "c1"}, ForgetOptions{Waiting: func(*state.HeldError) {
			o.Do(func() { close(waited) })
		}})
	}()
	<-waited // the forget waits for the sync's lease
	close(release)
	wg.Wait()
	require.NoError(t, syncErr)
	require.NoError(t, forgetErr)
	assert.True(t, rep.Done)
	assert.Contains(t, w.eu.Erased(), "jan@voorbeeld.nl", "the sync sent him before the forget got the lease")
	assert.NotContains(t, members(w.eu), "jan@voorbeeld.nl")
	w.sync(t)
	assert.NotContains(t, members(w.eu), "jan@voorbeeld.nl")
	assert.NotContains(t, members(w.us), "jan@voorbeeld.nl")
	assert.False(t, clearIn(dump(t, w, "cohort")))
}

// A forget cut short after the suppression list was written is finished
// by the next sync: the person leaves the output and the destinations.
func TestForgetCutShortIsFinishedByTheNextSync(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t)
	w.sync(t)
	w.us.Fail(100, 503) // the US receiver is down: its erasure fails
	rep, err := w.svc.Forget(ctx, Ident{Type: "email", Value: "jan@voorbeeld.nl"}, ForgetOptions{Delivery: sync.Options{MaxAttempts: 1, Clock: sync.NewManualClock(time.Now())}})
	require.Error(t, err)
	assert.False(t, rep.Done)
	assert.NotContains(t, members(w.eu), "jan@voorbeeld.nl")
	assert.Contains(t, members(w.us), "jan@voorbeeld.nl")
	pending, err := w.svc.Store.ForgetRequests(ctx, "shop", true)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, state.ForgetOutput, pending[0].Step)

	w.us.Recover()
	w.sync(t)
	pending, err = w.svc.Store.ForgetRequests(ctx, "shop", true)
	require.NoError(t, err)
	assert.Empty(t, pending)
	assert.NotContains(t, members(w.us), "jan@voorbeeld.nl")
	assert.False(t, clearIn(dump(t, w, "cohort")), "%s", dump(t, w, "cohort"))
}

// statuses are what each sync's destination answered, by sync.
func statuses(es []state.Erasure) map[string]string {
	out := map[string]string{}
	for _, e := range es {
		out[e.Sync] = e.Status
	}
	return out
}

// Forgetting twice changes nothing: once the profile is gone (and a run
// has rebuilt identity without it), forgetting the same identifier again,
// or another of the person's, reports the same suppression list, the same
// sources still holding rows and the same answers of the destinations.
func TestForgetTwiceReportsTheSame(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	w.run(t)
	w.sync(t)
	first, err := w.svc.Forget(ctx, Ident{Type: "customer_id", Value: "c1"}, ForgetOptions{})
	require.NoError(t, err)
	require.True(t, first.Done)
	require.Equal(t, 2, first.Identifiers)
	require.Equal(t, map[string]int64{"customers": 1, "newsletter": 2}, first.Sources, "newsletter holds his e-mail only, which his profile gave")
	require.Equal(t, map[string]string{"to_eu": sync.Erased, "to_us": sync.Erased}, statuses(first.Erasures))
	w.run(t)

	for _, id := range []Ident{{Type: "customer_id", Value: "c1"}, {Type: "email", Value: "jan@voorbeeld.nl"}} {
		again, err := w.svc.Forget(ctx, id, ForgetOptions{})
		require.NoError(t, err, id.Type)
		assert.Equal(t, first.RequestID, again.RequestID, "%s: the request that suppressed it", id.Type)
		assert.Equal(t, first.Profiles, again.Profiles, id.Type)
		assert.Equal(t, first.Identifiers, again.Identifiers, id.Type)
		assert.Equal(t, first.Sources, again.Sources, id.Type)
		assert.Equal(t, statuses(first.Erasures), statuses(again.Erasures), "%s: the destinations erased him the first time", id.Type)
		assert.True(t, again.Done, id.Type)
	}
	reqs, err := w.svc.Store.ForgetRequests(ctx, "shop", false)
	require.NoError(t, err)
	assert.Len(t, reqs, 1)
}

// A forget before any run finds no profile, so only the identifier asked
// for is suppressed: the report says so, in text and JSON, instead of
// claiming the person is excluded, for the next run still makes a profile
// of their other identifiers. Forgetting the identifier again after that
// run finds no profile either (the run read none of the rows holding it),
// so the report sends the user to the other identifiers.
func TestForgetWithoutAProfileSaysOnlyTheIdentifierIsSuppressed(t *testing.T) {
	ctx := context.Background()
	w := newPrivacyWorld(t)
	// his customer id in a source of its own, without his e-mail
	w.exec(t, `CREATE TABLE raw.orders AS SELECT * FROM (VALUES ('c1', 'o1', TIMESTAMP '2026-11-03 10:00:00')) AS t(customer_id, order_id, ordered_at)`)
	w.load(t, strings.Replace(privacyModels, "sources:\n", `sources:
  - name: orders
    table: raw.orders
    timestamp: ordered_at
    identifiers:
      - {type: customer_id, column: customer_id}
`, 1))

	for _, when := range []string{"before any run", "after a run"} {
		rep, err := w.svc.Forget(ctx, Ident{Type: "email", Value: "jan@voorbeeld.nl"}, ForgetOptions{})
		require.NoError(t, err, when)
		assert.True(t, rep.Done, "%s: nothing is pending", when)
		assert.Empty(t, rep.Profiles, when)
		assert.Equal(t, 1, rep.Identifiers, when)
		text := rep.String()
		assert.NotContains(t, text, "exclude this person", when)
		assert.Contains(t, text, "no profile holds it, so only this identifier is suppressed", when)
		assert.Contains(t, text, "forget each of them", when)
		js, err := json.Marshal(rep)
		require.NoError(t, err)
		assert.Contains(t, string(js), `"identifier_only":true`, when)

		w.run(t)
		p, err := w.svc.Profile(ctx, Ident{Type: "customer_id", Value: "c1"})
		require.NoError(t, err, "%s: his customer id is still a profile", when)
		assert.NotEmpty(t, p.Identity.Identifiers)
	}

	// forgetting the customer id too takes him out
	rep, err := w.svc.Forget(ctx, Ident{Type: "customer_id", Value: "c1"}, ForgetOptions{})
	require.NoError(t, err)
	assert.Len(t, rep.Profiles, 1)
	assert.Contains(t, rep.String(), "done: later runs and syncs exclude this person")
	js, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"identifier_only":false`)
}

// A sync removed from the YAML sent people all the same: forget deletes the
// person's keys from its leftover snapshot, and since its destination can no
// longer be asked to erase them, the report says so and what to do, and is
// not done (exit 1). Other people's rows stay for their own forget; one
// whose profile id there is stale is still found by the key.
func TestForgetReachesASyncRemovedFromTheProject(t *testing.T) {
	for _, typ := range []string{"duckdb", "postgres"} {
		t.Run(typ, func(t *testing.T) { // not parallel: the world sets the fakes' URLs in the environment
			ctx := context.Background()
			w := newPrivacyWorldOn(t, typ)
			w.run(t)
			w.sync(t)
			require.ElementsMatch(t, []string{"jan@voorbeeld.nl", "anna@voorbeeld.nl"}, members(w.us))
			toUS := "  - {name: to_us, segment: everyone, destination: us_hook, mode: mirror, match: {email: email}, fields: {name: first_name}, purpose: newsletter}\n"
			require.Contains(t, privacyModels, toUS)
			w.load(t, strings.Replace(privacyModels, toUS, "", 1))

			for i := 0; i < 2; i++ { // forgetting twice says the same
				rep, err := w.svc.Forget(ctx, Ident{Type: "email", Value: "jan@voorbeeld.nl"}, ForgetOptions{})
				require.Error(t, err, "an erasure Cohort could not ask for is not done")
				assert.Contains(t, err.Error(), "to_us")
				assert.False(t, rep.Done)
				require.Equal(t, map[string]string{"to_eu": sync.Erased, "to_us": sync.NotInProject}, statuses(rep.Erasures))
				for _, e := range rep.Erasures {
					if e.Sync == "to_us" {
						assert.Equal(t, "us_hook", e.Destination, "from the sync's last run")
						assert.Equal(t, int64(1), e.Records)
						assert.Contains(t, e.Detail, "no longer in the project")
						assert.Contains(t, e.Detail, "by hand")
					}
				}
				text := rep.String()
				assert.Contains(t, text, "sync to_us")
				assert.Contains(t, text, "NOT finished")
				assert.NotContains(t, text, "done:")
			}
			assert.Contains(t, members(w.us), "jan@voorbeeld.nl", "nobody asked us_hook to erase him")
			assert.Empty(t, w.us.Erased())
			out := dump(t, w, "cohort")
			assert.False(t, clearIn(out), "no output table holds jan, the removed sync's snapshot neither:\n%s", out)
			assert.Contains(t, out, "anna@voorbeeld.nl", "the others' keys stay, for their own forget")
			pending, err := w.svc.Store.ForgetRequests(ctx, "shop", true)
			require.NoError(t, err)
			assert.Empty(t, pending, "nothing is left that a later run could finish")

			// anna's profile id in the leftover snapshot is from before a merge
			w.exec(t, "UPDATE cohort.sync_to_us_snapshot SET profile_id = 'p_stale' WHERE sync_key = 'anna@voorbeeld.nl'")
			rep, err := w.svc.Forget(ctx, Ident{Type: "customer_id", Value: "c4"}, ForgetOptions{})
			require.Error(t, err)
			assert.Equal(t, sync.NotInProject, statuses(rep.Erasures)["to_us"])
			assert.NotContains(t, dump(t, w, "cohort"), "anna@voorbeeld.nl")
		})
	}
}
