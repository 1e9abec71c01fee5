package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// person is a row of the test profiles table and its membership.
type person struct {
	id, email, name string
	ltv             float64
	optIn, member   bool
	holdout         bool
}

type world struct {
	t      *testing.T
	wh     dialects.Warehouse
	people []*person
}

func (w *world) load() {
	ctx := context.Background()
	d := w.wh.Dialect()
	q := func(t string) string { return d.Quote("cohort", t) }
	for _, s := range []string{d.CreateSchema("cohort"), d.DropTable(q("profiles")), d.DropTable(q("segment_memberships")),
		"CREATE TABLE " + q("profiles") + " (profile_id TEXT, email TEXT, first_name TEXT, ltv DOUBLE PRECISION, opt_in BOOLEAN)",
		"CREATE TABLE " + q("segment_memberships") + " (segment TEXT, profile_id TEXT, entered_at TIMESTAMP, holdout BOOLEAN, arm TEXT)"} {
		require.NoError(w.t, w.wh.Exec(ctx, s))
	}
	var prof, mem []string
	for _, p := range w.people {
		email := "NULL"
		if p.email != "" {
			email = literal(p.email)
		}
		prof = append(prof, fmt.Sprintf("(%s, %s, %s, %g, %t)", literal(p.id), email, literal(p.name), p.ltv, p.optIn))
		if p.member {
			mem = append(mem, fmt.Sprintf("('vip', %s, TIMESTAMP '2026-01-01 00:00:00', %t, NULL)", literal(p.id), p.holdout))
		}
		mem = append(mem, fmt.Sprintf("('other', %s, TIMESTAMP '2026-01-01 00:00:00', FALSE, NULL)", literal(p.id)))
	}
	require.NoError(w.t, w.wh.Exec(ctx, "INSERT INTO "+q("profiles")+" VALUES "+strings.Join(prof, ", ")))
	require.NoError(w.t, w.wh.Exec(ctx, "INSERT INTO "+q("segment_memberships")+" VALUES "+strings.Join(mem, ", ")))
}

// expected is the audience the destination should hold: members outside
// the holdout with consent and an e-mail, one profile per e-mail (the
// smallest id).
func (w *world) expected() map[string]map[string]any {
	out := map[string]map[string]any{}
	ids := map[string]string{}
	for _, p := range w.people {
		if !p.member || p.holdout || !p.optIn || p.email == "" {
			continue
		}
		if id, ok := ids[p.email]; ok && id < p.id {
			continue
		}
		ids[p.email] = p.id
		out[p.email] = map[string]any{"name": p.name, "ltv": p.ltv}
	}
	return out
}

func newWorld(t *testing.T, wh dialects.Warehouse) *world { return newWorldN(t, wh, 40) }

// forEachWarehouse runs f on every live warehouse, DuckDB opened as
// `cohort sync` opens its own (MemoryLimit, Threads, SmallMemory): the
// sync's statements are tested under the memory and the one thread they
// run with, where DuckDB plans and spills otherwise. (The dry run's sample
// that ran out of memory at 32 MB on the demo's 25 changes does not on
// these tests' projects: the script test in cmd/cohort keeps that case.)
func forEachWarehouse(t *testing.T, f func(t *testing.T, fw dialecttest.Fresh)) {
	dialecttest.ForEachWith(t, asSync, f)
}

// asSync is the configuration cohort sync opens an embedded warehouse with.
func asSync(c *dialects.Config) {
	c.MemoryLimit, c.Threads, c.SmallMemory = MemoryLimit, Threads, true
}

func newWorldN(t *testing.T, wh dialects.Warehouse, n int) *world {
	w := &world{t: t, wh: wh}
	for i := 0; i < n; i++ {
		p := &person{id: fmt.Sprintf("p_%03d", i), email: fmt.Sprintf("u%03d@shop.nl", i), name: fmt.Sprintf("Name %d", i),
			ltv: float64(i) * 10.5, optIn: i%10 != 3, member: i < 34 || i >= 40, holdout: i%12 == 5}
		if i == 7 {
			p.email = ""
		}
		if i == 9 { // shares u008's address: one of the two is sent
			p.email = "u008@shop.nl"
		}
		w.people = append(w.people, p)
	}
	return w
}

func project(url string, mode string) *models.Project {
	return &models.Project{
		Name:      "shop",
		Warehouse: models.WarehouseConfig{Schema: "cohort"},
		Destinations: []*models.Destination{{Name: "hook", Type: "webhook", Region: "eu",
			Config: map[string]any{"url": url, "secret": fake.Secret}}},
		Syncs: []*models.Sync{{Name: "vip_hook", Segment: "vip", Destination: "hook", Mode: mode,
			Match: map[string]string{"email": "email"}, Fields: map[string]string{"name": "first_name", "ltv": "ltv"}, Purpose: "marketing"}},
		Consent: &models.Consent{Purposes: []*models.Purpose{{Name: "marketing", Trait: "opt_in"}}},
	}
}

func members(f *fake.Fake) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, v := range f.Members() {
		out[k] = v
	}
	return out
}

func TestSyncRunsAgainstTheWarehouse(t *testing.T) {
	forEachWarehouse(t, func(t *testing.T, fw dialecttest.Fresh) {
		ctx := context.Background()
		w := newWorld(t, fw.WH)
		w.load()
		f := fake.New(t)
		store, err := state.Open(ctx, t.TempDir(), "state.db")
		require.NoError(t, err)
		defer store.Close()
		clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		// a few members per slice: the diff is computed in 6 or more slices of key hashes
		p := Params{Project: project(f.URL(), "mirror"), Sync: "vip_hook", Warehouse: fw.WH, Store: store, PageRows: 7, SliceRows: 6,
			Delivery: Options{Clock: clock}}
		run := func() *Result {
			t.Helper()
			res, err := Run(ctx, p)
			require.NoError(t, err)
			return res
		}

		// First run: everyone in the audience is added.
		want := w.expected()
		res := run()
		assert.Equal(t, Planned{Adds: int64(len(want))}, res.Planned)
		assert.Equal(t, state.Succeeded, res.Run.Status)
		assert.Equal(t, int64(len(want)), res.Run.Added)
		assert.Equal(t, jsonText(want), jsonText(members(f)))
		assert.Zero(t, f.Counts().Duplicates)

		// Nothing changed: nothing is sent.
		before := f.Requests()
		res = run()
		assert.Equal(t, Planned{}, res.Planned)
		assert.Equal(t, state.Succeeded, res.Run.Status)
		assert.Equal(t, before, f.Requests())

		// Changes: two renamed, one left, one withdrew consent, one left the
		// holdout... and two joined.
		w.people[0].name = "Renamed"
		w.people[1].ltv = 999
		w.people[2].member = false
		w.people[4].optIn = false
		w.people[34].member, w.people[35].member = true, true
		w.load()
		want = w.expected()

		// A dry run shows them and touches nothing.
		p.DryRun = true
		res, err = Run(ctx, p)
		require.NoError(t, err)
		p.DryRun = false
		assert.Equal(t, Planned{Adds: 2, Changes: 2, Removes: 2}, res.Planned)
		// each kind in turn, the first by key within it
		var ops []string
		for i, c := range res.Sample {
			ops = append(ops, c.Op)
			if i > 0 && c.Op == res.Sample[i-1].Op {
				assert.Less(t, res.Sample[i-1].key, c.key)
			}
		}
		assert.Equal(t, []string{"add", "add", "update", "update", "remove", "remove"}, ops)
		assert.Equal(t, before, f.Requests(), "a dry run sends nothing")
		runs, err := store.SyncRuns(ctx, "shop", "vip_hook", 10)
		require.NoError(t, err)
		assert.Len(t, runs, 2, "a dry run is not recorded")

		res = run()
		assert.Equal(t, Planned{Adds: 2, Changes: 2, Removes: 2}, res.Planned)
		assert.Equal(t, jsonText(want), jsonText(members(f)))

		// A rejected row: the run is partial, the reason recorded, and the
		// row is offered again on the next run.
		f.Reject("u036@shop.nl")
		w.people[36].member = true
		w.load()
		res, err = Run(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, state.Partial, res.Run.Status)
		assert.Equal(t, int64(1), res.Run.Rejected)
		rej, err := store.Rejections(ctx, res.Run.ID, 10)
		require.NoError(t, err)
		require.Len(t, rej, 1)
		assert.Equal(t, "u036@shop.nl", rej[0].Key)
		assert.Contains(t, rej[0].Reason, "block list")
		res, err = Run(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, Planned{Adds: 1}, res.Planned, "the rejected row is offered again")
		assert.Equal(t, state.Partial, res.Run.Status)

		// The destination goes down halfway: the run fails, what was
		// acknowledged stays acknowledged, and the next run sends only the rest.
		for i := 0; i < 40; i++ {
			w.people[i].ltv += 1
		}
		w.load()
		want = w.expected()
		delete(want, "u036@shop.nl")
		p.Delivery.CircuitFailures = 3
		p.Delivery.Limits = destinations.Limits{BatchRecords: 5, Concurrency: 1}
		writes := 0
		p.Delivery.BeforeWrite = func(*destinations.Batch) {
			if writes++; writes == 3 {
				f.Fail(100, 500)
			}
		}
		res, err = Run(ctx, p)
		require.ErrorContains(t, err, "failed 3 requests in a row")
		assert.Equal(t, state.Failed, res.Run.Status)
		total := res.Planned.Total()
		assert.Equal(t, int64(10), res.Run.Changed, "two batches of five went through")
		assert.Equal(t, total-10, res.Run.Pending, "the rest, the rejected row among them, waits")
		runs, err = store.SyncRuns(ctx, "shop", "vip_hook", 1)
		require.NoError(t, err)
		assert.Equal(t, state.Failed, runs[0].Status)
		assert.Contains(t, runs[0].Error, "HTTP 500")

		f.Recover()
		p.Delivery.BeforeWrite = nil
		res, err = Run(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, total-10, res.Planned.Total(), "only what was not acknowledged is sent again")
		got := members(f)
		delete(got, "u036@shop.nl")
		assert.Equal(t, jsonText(want), jsonText(got))
		assert.Zero(t, f.Counts().Duplicates, "no change was applied twice")
	})
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// In upsert mode leavers stay at the destination, but a person who withdrew
// consent is removed from it; insert mode sends no updates.
func TestUpsertRemovesOnlyWithdrawnConsent(t *testing.T) {
	forEachWarehouse(t, func(t *testing.T, fw dialecttest.Fresh) {
		ctx := context.Background()
		w := newWorld(t, fw.WH)
		w.load()
		f := fake.New(t)
		p := Params{Project: project(f.URL(), "upsert"), Sync: "vip_hook", Warehouse: fw.WH, Delivery: Options{Clock: NewManualClock(time.Now())}}
		_, err := Run(ctx, p)
		require.NoError(t, err)
		held := members(f)
		w.people[0].member = false // left: stays in upsert mode
		w.people[1].optIn = false  // withdrew: removed in every mode
		w.people[2].name = "New name"
		w.load()
		res, err := Run(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, Planned{Changes: 1, Removes: 1}, res.Planned)
		delete(held, w.people[1].email)
		held[w.people[2].email]["name"] = "New name"
		assert.Equal(t, jsonText(held), jsonText(members(f)))

		p.Project.Syncs[0].Mode = "insert"
		w.people[3].name = "Ignored in insert mode"
		w.people[34].member = true
		w.load()
		res, err = Run(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, Planned{Adds: 1}, res.Planned)
	})
}

// snapshot is what a sync's snapshot says the destination holds: key → hash.
func snapshot(t *testing.T, wh dialects.Warehouse, sync string) map[string]string {
	t.Helper()
	rows, err := wh.Query(context.Background(), "SELECT sync_key, sync_hash FROM "+wh.Dialect().Quote("cohort", SnapshotTable(sync)))
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, h string
		require.NoError(t, rows.Scan(&k, &h))
		out[k] = h
	}
	require.NoError(t, rows.Err())
	return out
}

// Against a receiver that answers 429 with Retry-After, times out, or drops
// the connection after applying half a batch, every run ends with each
// change applied exactly once, the destination holding the audience, and a
// snapshot that says so: the next run finds nothing to send.
func TestSyncSurvivesAFlakyReceiver(t *testing.T) {
	forEachWarehouse(t, func(t *testing.T, fw dialecttest.Fresh) {
		ctx := context.Background()
		w := newWorld(t, fw.WH)
		w.load()
		f := fake.New(t)
		clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		p := Params{Project: project(f.URL(), "mirror"), Sync: "vip_hook", Warehouse: fw.WH,
			HTTP:     &http.Client{Timeout: 500 * time.Millisecond}, // a hanging receiver is given up quickly
			Delivery: Options{Clock: clock, Limits: destinations.Limits{BatchRecords: 4, Concurrency: 2}}}
		for i, c := range []struct {
			name   string
			break_ func()
		}{
			{"429 with Retry-After", func() { f.Fail(3, http.StatusTooManyRequests) }},
			{"503", func() { f.Fail(2, http.StatusServiceUnavailable) }},
			{"time-outs", func() { f.Timeout(2) }},
			{"crash mid-batch", func() { f.CrashMidBatch(3) }},
		} {
			// Everyone's ltv changes, one person leaves and one joins.
			for _, x := range w.people {
				x.ltv++
			}
			w.people[10+i].member = false
			w.people[34+i].member = true
			w.load()
			want := w.expected()
			before, naps := f.Counts(), len(clock.Naps())
			c.break_()
			res, err := Run(ctx, p)
			require.NoError(t, err, c.name)
			assert.Equal(t, state.Succeeded, res.Run.Status, c.name)
			assert.Positive(t, res.Stats.Retried, "%s: batches were sent again", c.name)
			assert.Greater(t, len(clock.Naps()), naps, "%s: the run backed off", c.name)

			got := f.Counts()
			applied := int64(got.Added-before.Added) + int64(got.Updated-before.Updated) + int64(got.Removed-before.Removed)
			assert.Equal(t, res.Planned.Total(), applied, "%s: every change applied once", c.name)
			assert.Equal(t, jsonText(want), jsonText(members(f)), c.name)
			snap := snapshot(t, fw.WH, "vip_hook")
			assert.Len(t, snap, len(want), c.name)
			for k := range want {
				assert.Contains(t, snap, k, c.name)
			}
			again, err := Run(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, Planned{}, again.Planned, "%s: the snapshot agrees with the destination", c.name)
		}
		naps := clock.Naps()
		assert.Contains(t, naps, time.Second, "a 429's Retry-After: 1 is waited for")
	})
}

// A match key several profiles share is sent once, for the smallest
// profile_id among the members who may be sent: a profile outside the
// segment or without consent that shares it changes nothing.
func TestSharedKeysSendTheSmallestEligibleMember(t *testing.T) {
	forEachWarehouse(t, func(t *testing.T, fw dialecttest.Fresh) {
		ctx := context.Background()
		w := newWorld(t, fw.WH)
		w.people[3].email = "u004@shop.nl"  // opted out, a smaller id than u004's
		w.people[35].email = "u010@shop.nl" // not a member
		w.load()
		f := fake.New(t)
		p := Params{Project: project(f.URL(), "mirror"), Sync: "vip_hook", Warehouse: fw.WH, PageRows: 7, SliceRows: 6}
		run := func() {
			t.Helper()
			_, err := Run(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, jsonText(w.expected()), jsonText(members(f)))
		}
		run()
		assert.Equal(t, "Name 4", members(f)["u004@shop.nl"]["name"])
		assert.Equal(t, "Name 10", members(f)["u010@shop.nl"]["name"])

		// The opted-out profile consents: it has the smaller id, so it is sent.
		w.people[3].optIn = true
		w.people[35].member = true
		w.load()
		run()
		assert.Equal(t, "Name 3", members(f)["u004@shop.nl"]["name"])
		assert.Equal(t, "Name 10", members(f)["u010@shop.nl"]["name"])
	})
}
