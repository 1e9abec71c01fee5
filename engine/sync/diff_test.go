package sync

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/consent"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
)

// The late diff (a re-sync's: keys and hashes joined first, fields read
// after) gives the rows the whole diff gives, in every mode, after
// changes of every kind: fields changed, members who left or came, consent
// withdrawn, a key moved to another profile, a key now shared, a field now
// blank, a member now in the holdout.
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

			s, dest, err := find(p.Project, p.Sync)
			require.NoError(t, err)
			spec, err := destinations.Lookup(dest.Type)
			require.NoError(t, err)
			rule, err := consent.For(p.Project, s, spec.RegionOf(dest.Region, dest.Config), spec.IsInternal(dest.Config))
			require.NoError(t, err)
			d := fw.WH.Dialect()
			x := diffSpec{d: d, schema: "cohort", sync: s, m: newMapping(s), consent: rule.Condition(d.Quote, "a"),
				mode: destinations.Mode(mode), canDelete: spec.CanDelete, held: heldSnapshot}
			wholeSQL := x.query()
			x.late = true
			lateSQL := x.query()
			require.NotEqual(t, wholeSQL, lateSQL, "the two forms are different statements")
			whole := dialecttest.Lines(t, fw.WH, wholeSQL)
			require.Equal(t, whole, dialecttest.Lines(t, fw.WH, lateSQL), "mode %s", mode)
			// adds in every mode, updates but in insert, removals but in insert
			require.GreaterOrEqual(t, len(whole), map[string]int{"mirror": 8, "upsert": 6, "insert": 3}[mode], "mode %s: %v", mode, whole)
		}
	})
}
