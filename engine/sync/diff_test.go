package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
)

// The late diff (a re-sync's: keys and hashes joined first, fields read
// after) gives the rows the whole diff gives, in every mode, after
// changes of every kind: fields changed, members who left or came, consent
// withdrawn, a key moved to another profile, a key now shared, a field now
// blank, a member now in the holdout, a member forgotten. The diff is the
// one Run builds (targetOf, target.diff).
func TestLateDiffEqualsTheWholeDiff(t *testing.T) {
	forEachWarehouse(t, func(t *testing.T, fw dialecttest.Fresh) {
		ctx := context.Background()
		for _, mode := range []string{"mirror", "upsert", "insert"} {
			w := newWorld(t, fw.WH)
			w.load()
			f := fake.New(t)
			p := Params{Project: project(f.URL(), mode), Sync: "vip_hook", Warehouse: fw.WH,
				Delivery: Options{Clock: NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}
			_, err := Run(ctx, p)
			require.NoError(t, err)

			w.people[0].name = "Renamed"
			w.people[1].ltv = 999
			w.people[2].member = false
			w.people[4].optIn = false
			w.people[6].name = ""                                 // a field now blank
			w.people[10].email = "moved@shop.nl"                  // the key moves
			w.people[11].email = "u012@shop.nl"                   // now shares u012's address
			w.people[13].holdout = true                           // now held out
			w.people[34].member, w.people[35].member = true, true // joined
			w.load()
			forget(t, fw.WH, w.people[15].id, w.people[15].email) // forgotten: suppressed

			tg, err := targetOf(p)
			require.NoError(t, err)
			x, err := tg.diff(ctx, fw.WH, "cohort")
			require.NoError(t, err)
			wholeSQL := x.query()
			x.late = true
			lateSQL := x.query()
			require.NotEqual(t, wholeSQL, lateSQL, "the two forms are different statements")
			if fw.Type == "postgres" {
				// no subquery run per row: once its rows outgrow work_mem,
				// PostgreSQL scans them again for every row (see query)
				for _, sql := range []string{wholeSQL, lateSQL} {
					plan := strings.Join(dialecttest.Lines(t, fw.WH, "EXPLAIN "+sql), "\n")
					require.NotContains(t, plan, "SubPlan", "mode %s:\n%s", mode, plan)
				}
			}
			whole := dialecttest.Lines(t, fw.WH, wholeSQL)
			require.Equal(t, whole, dialecttest.Lines(t, fw.WH, lateSQL), "mode %s", mode)
			// adds in every mode, updates but in insert, removals but in insert
			require.GreaterOrEqual(t, len(whole), map[string]int{"mirror": 8, "upsert": 6, "insert": 3}[mode], "mode %s: %v", mode, whole)
		}
	})
}

// forget puts the person with this profile and e-mail address on the
// suppression list, as `cohort forget` leaves it: the identifier's hash in
// suppressions, which the diff reads through identity_graph.
func forget(t *testing.T, wh dialects.Warehouse, profileID, email string) {
	ctx := context.Background()
	d := wh.Dialect()
	q := func(t string) string { return d.Quote("cohort", t) }
	for _, st := range []string{
		d.DropTable(q("identity_graph")), d.DropTable(q("suppressions")),
		"CREATE TABLE " + q("identity_graph") + " (profile_id TEXT, identifier_type TEXT, identifier_value TEXT)",
		"CREATE TABLE " + q("suppressions") + " (identifier_hash TEXT NOT NULL)",
		"INSERT INTO " + q("identity_graph") + " VALUES (" + literal(profileID) + ", 'email', " + literal(email) + ")",
		"INSERT INTO " + q("suppressions") + " SELECT " + d.SHA256Hex("'email:' || "+literal(email)),
	} {
		require.NoError(t, wh.Exec(ctx, st))
	}
}
