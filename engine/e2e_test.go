package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/demo"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// The demo project runs unchanged on every dialect and gives the same output:
// the same profile ids, traits and segment members.
func TestDemoRunsTheSameOnEveryDialect(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	require.NoError(t, demo.WriteProject(dir, demo.ProjectOptions{}))
	digests := map[string]map[string]string{}
	live := dialecttest.Live()
	// A slow test warehouse (the BigQuery emulator runs SQL over SQLite, whose
	// joins on computed values are nested loops: the profiles step's join of
	// web_events with identity_graph took over 30 minutes for 300 people) gets
	// a smaller demo, and every dialect the same one so that they compare.
	people := 300
	if slices.ContainsFunc(live, func(typ string) bool { return dialecttest.Slow(typ) != "" }) {
		people = 40
	}
	results := make(chan struct {
		typ string
		d   map[string]string
	}, len(live))
	t.Run("run", func(t *testing.T) {
		for _, typ := range dialecttest.Types { // one that is not live skips, saying how to run it
			t.Run(typ, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				w := dialecttest.Open(t, typ)
				p, err := models.Load(dir)
				require.NoError(t, err)
				require.NoError(t, models.Validate(p))
				_, err = demo.Generate(ctx, w.WH, demo.Options{Profiles: people, Seed: 7, Now: now})
				require.NoError(t, err)
				require.NoError(t, models.CheckWarehouse(ctx, p, Catalog(w.WH)))
				store, err := state.Open(ctx, t.TempDir(), "state.db")
				require.NoError(t, err)
				defer store.Close()

				res, err := Run(ctx, p, w.WH, store, DefaultParts, Options{Now: now})
				require.NoError(t, err)
				var names []string
				for _, st := range res.Steps {
					t.Logf("%s: step %s %.1fs", typ, st.Name, st.Seconds)
					names = append(names, st.Name)
					require.Empty(t, st.Error, st.Name)
				}
				want := []string{"identity", "identity_sources", "profiles", "segments", PublishStep}
				if identity.ProfileIdentifiersByProfile(w.WH.Dialect()) { // each profile's identifiers, for the look-up
					want = slices.Insert(want, 2, "profile_identifiers")
				}
				if _, ok := w.WH.Dialect().(dialects.Indexer); ok {
					want = append(want, IndexStep) // the published tables indexed for the profile look-up
				}
				require.Equal(t, want, names)
				runs, err := store.Runs(ctx, 5)
				require.NoError(t, err)
				require.Equal(t, state.Succeeded, runs[0].Status)

				pl, err := Compile(p, w.WH.Dialect(), nil, Options{Now: now})
				require.NoError(t, err)
				sum, err := Summarize(ctx, w.WH, pl.Ctx)
				require.NoError(t, err)
				require.Greater(t, sum.Profiles, int64(people/3))
				require.Greater(t, sum.Identifiers, sum.Profiles)
				nonEmpty := 0
				for _, s := range sum.Segments {
					if s.Members > 0 {
						nonEmpty++
					}
				}
				require.GreaterOrEqual(t, nonEmpty, len(sum.Segments)-2, "the demo's segments should mostly have members: %v", sum.Segments)

				// Golden-record e-mail and phone are normalized like their identifiers.
				require.Equal(t, "0 rows\n", digest(t, w.WH, `SELECT email FROM cohort.profiles WHERE email <> lower(trim(email))`))
				require.Equal(t, "0 rows\n", digest(t, w.WH, `SELECT phone FROM cohort.profiles WHERE phone NOT LIKE '+%'`))
				require.NotEqual(t, "0 rows\n", digest(t, w.WH, `SELECT phone FROM cohort.profiles WHERE phone LIKE '+31%'`))

				d := map[string]string{
					"identity_graph":      digest(t, w.WH, `SELECT profile_id || '|' || identifier_type || '|' || identifier_value FROM cohort.identity_graph`),
					"identity_rejections": digest(t, w.WH, `SELECT identifier_type || '|' || identifier_value || '|' || rule FROM cohort.identity_rejections`),
					"profiles":            digest(t, w.WH, `SELECT profile_id || '|' || coalesce(email, '') || '|' || coalesce(CAST(order_count AS VARCHAR), '') || '|' || coalesce(rfm, '') || '|' || coalesce(tier, '') FROM cohort.profiles`),
					"segment_memberships": digest(t, w.WH, `SELECT segment || '|' || profile_id || '|' || CAST(holdout AS VARCHAR) || '|' || coalesce(arm, '') FROM cohort.segment_memberships`),
				}
				results <- struct {
					typ string
					d   map[string]string
				}{typ, d}
				if why := dialecttest.Slow(typ); why != "" {
					t.Logf("%s: the second, failed, incremental and full-refresh runs are left out: %s", typ, why)
					return
				}

				// A second run on unchanged data keeps every profile id and records no change:
				// it stages no history row and appends none.
				history := digest(t, w.WH, `SELECT segment || '|' || profile_id || '|' || change FROM cohort.segment_history`)
				res, err = Run(ctx, p, w.WH, store, DefaultParts, Options{Now: now.Add(time.Minute)})
				require.NoError(t, err)
				seg := slices.IndexFunc(res.Steps, func(st state.StepRecord) bool { return st.Name == "segments" })
				require.NotEqual(t, -1, seg, "a segments step")
				require.Equal(t, int64(0), res.Steps[seg].Rows["segment_history"])
				require.Equal(t, history, digest(t, w.WH, `SELECT segment || '|' || profile_id || '|' || change FROM cohort.segment_history`))
				require.Equal(t, d["identity_graph"], digest(t, w.WH, `SELECT profile_id || '|' || identifier_type || '|' || identifier_value FROM cohort.identity_graph`))
				require.Equal(t, d["segment_memberships"], digest(t, w.WH, `SELECT segment || '|' || profile_id || '|' || CAST(holdout AS VARCHAR) || '|' || coalesce(arm, '') FROM cohort.segment_memberships`))

				// New web events arrive: new cookies of known visitors, and a cookie that logs in
				// as another customer. The incremental run gives what a full rebuild gives.
				appendWebEvents(t, w.WH)
				graph := `SELECT profile_id || '|' || identifier_type || '|' || identifier_value || '|' || CAST(first_seen_at AS VARCHAR) FROM cohort.identity_graph`
				before := digest(t, w.WH, graph)
				// An incremental run stages identity_graph as a view and applies its changes in
				// the swap: when a later step fails, the graph is as it was and nothing is left.
				_, err = Run(ctx, p, w.WH, store, []Part{DefaultParts[0], tablePart("boom", "boom", "SELECT 1 AS v", true)}, Options{Now: now.Add(2 * time.Minute)})
				require.ErrorContains(t, err, "step boom failed")
				require.Equal(t, before, digest(t, w.WH, graph))
				require.Equal(t, "0 rows\n", digest(t, w.WH, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'cohort' AND (table_name LIKE '%__stage_%' OR table_name LIKE '_work_%')`))
				res, err = Run(ctx, p, w.WH, store, DefaultParts, Options{Now: now.Add(2 * time.Minute)})
				require.NoError(t, err)
				require.Contains(t, strings.Join(res.Steps[0].Details, "\n"), "incremental: 30 new rows")
				outputs := func() map[string]string {
					return map[string]string{
						"identity_graph":      digest(t, w.WH, `SELECT profile_id || '|' || identifier_type || '|' || identifier_value || '|' || CAST(first_seen_at AS VARCHAR) || '|' || CAST(last_seen_at AS VARCHAR) FROM cohort.identity_graph`),
						"identity_rejections": digest(t, w.WH, `SELECT identifier_type || '|' || identifier_value || '|' || rule || '|' || detail FROM cohort.identity_rejections`),
						"identity_lineage":    digest(t, w.WH, `SELECT profile_id || '|' || merged_profile_id FROM cohort.identity_lineage`),
						"profiles":            digest(t, w.WH, `SELECT profile_id || '|' || coalesce(email, '') || '|' || coalesce(CAST(order_count AS VARCHAR), '') FROM cohort.profiles`),
					}
				}
				if identity.ProfileIdentifiersByProfile(w.WH.Dialect()) {
					outputs = func(all func() map[string]string) func() map[string]string {
						return func() map[string]string {
							m := all()
							// an incremental run writes what a rebuild writes here too
							m[identity.ProfileIdentifiersTable] = digest(t, w.WH, `SELECT profile_id || '|' || identifier_type || '|' || identifier_value || '|' || CAST(last_seen_at AS VARCHAR) || '|' || coalesce(array_to_string(list_sort(string_split(sources, ',')), ','), '') FROM cohort.`+identity.ProfileIdentifiersTable)
							return m
						}
					}(outputs)
				}
				inc := outputs()
				require.NotEqual(t, d["identity_graph"], inc["identity_graph"], "the new rows change the graph")
				res, err = Run(ctx, p, w.WH, store, DefaultParts, Options{Now: now.Add(2 * time.Minute), FullRefresh: true})
				require.NoError(t, err)
				require.Contains(t, strings.Join(res.Steps[0].Details, "\n"), "full rebuild: --full-refresh")
				require.Equal(t, inc, outputs())
			})
		}
	})
	close(results)
	for r := range results {
		digests[r.typ] = r.d
	}
	require.Len(t, digests, len(live))
	first := live[0]
	for table, want := range digests[first] {
		t.Logf("%s: %s", table, strings.SplitN(want, "\n", 2)[0])
		for _, typ := range live[1:] {
			require.Equal(t, want, digests[typ][table], "%s differs between %s and %s", table, first, typ)
		}
	}
}

// digest is an order-independent fingerprint of one text column: row count
// and sorted values. A CAST in q may name VARCHAR: it becomes the dialect's
// text type.
func digest(t *testing.T, wh dialects.Warehouse, q string) string {
	t.Helper()
	q = strings.ReplaceAll(q, " AS VARCHAR)", " AS "+wh.Dialect().TypeName(dialects.Text)+")")
	rows, err := wh.Query(context.Background(), q)
	require.NoError(t, err, q)
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		values = append(values, v+"\n")
	}
	require.NoError(t, rows.Err())
	sort.Strings(values)
	return fmt.Sprintf("%d rows\n%s", len(values), strings.Join(values, ""))
}

// appendWebEvents adds 30 web events newer than the demo's: copies of
// logged-in events, half of them with a new cookie, one by a known cookie
// logged in as customer C100002.
func appendWebEvents(t *testing.T, wh dialects.Warehouse) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE cohort_demo.web_new AS SELECT * FROM cohort_demo.web_events WHERE user_id IS NOT NULL ORDER BY occurred_at, anonymous_id LIMIT 30`,
		`UPDATE cohort_demo.web_new SET occurred_at = CAST('2027-01-01 00:00:00' AS TIMESTAMP)`,
		`UPDATE cohort_demo.web_new SET anonymous_id = anonymous_id || '-new' WHERE anonymous_id < (SELECT min(anonymous_id) FROM cohort_demo.web_new) || 'm'`,
		`UPDATE cohort_demo.web_new SET user_id = 'C100002' WHERE anonymous_id = (SELECT max(anonymous_id) FROM cohort_demo.web_new)`,
		`INSERT INTO cohort_demo.web_events SELECT * FROM cohort_demo.web_new`,
		`DROP TABLE cohort_demo.web_new`,
	} {
		require.NoError(t, wh.Exec(ctx, q), q)
	}
}
