package identity

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// incProject has every rule an increment must respect: a limit, exclusions,
// a junk-hub bound, normalization, and two timestamped sources.
func incProject() *models.Project {
	return &models.Project{
		Name: "inc",
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{
			{Type: "customer_id", Limit: 1},
			{Type: "email", Normalize: "email", Exclude: []string{`^test@`}},
			{Type: "anonymous_id", MaxLinks: 5},
		}},
		Sources: []*models.Source{
			{Name: "web", Kind: "events", Table: "raw.web", Timestamp: "ts", Identifiers: []*models.SourceIdentifier{
				{Type: "anonymous_id", Column: "anonymous_id"}, {Type: "customer_id", Column: "user_id"}, {Type: "email", Column: "email"}}},
			{Name: "crm", Table: "raw.crm", Timestamp: "ts", Identifiers: []*models.SourceIdentifier{
				{Type: "customer_id", Column: "customer_id"}, {Type: "email", Column: "email"}}},
		},
	}
}

// incData generates dirty rows of people: devices that log in, e-mails in
// other case, re-registrations (a second customer id: limit), test e-mails
// (exclude), a shared tablet (a junk hub) and an occasional foreign e-mail.
type incData struct {
	r        *rand.Rand
	people   int
	web, crm [][]any
	clock    time.Time
}

func (g *incData) tick() string {
	g.clock = g.clock.Add(time.Duration(1+g.r.Intn(90)) * time.Minute)
	return g.clock.Format("2006-01-02 15:04:05")
}

func (g *incData) add(webRows, crmRows int) {
	r := g.r
	maybe := func(p float64, v any) any {
		if r.Float64() < p {
			return v
		}
		return nil
	}
	for range webRows {
		p := r.Intn(g.people)
		anon := fmt.Sprintf("a%d_%d", p, r.Intn(3))
		if r.Float64() < 0.03 {
			anon = "tablet"
		}
		email := fmt.Sprintf("p%d@x.nl", p)
		switch x := r.Float64(); {
		case x < 0.03:
			email = "test@x.nl"
		case x < 0.05:
			email = fmt.Sprintf("p%d@x.nl", r.Intn(g.people))
		case x < 0.3:
			email = fmt.Sprintf(" P%d@X.nl", p)
		}
		user := fmt.Sprintf("c%d", p)
		if r.Float64() < 0.05 {
			user += "b"
		}
		g.web = append(g.web, []any{maybe(0.95, anon), maybe(0.3, user), maybe(0.3, email), g.tick()})
	}
	for range crmRows {
		p := r.Intn(g.people)
		user := fmt.Sprintf("c%d", p)
		if r.Float64() < 0.1 {
			user += "b"
		}
		g.crm = append(g.crm, []any{user, maybe(0.9, fmt.Sprintf("p%d@x.nl", p)), g.tick()})
	}
}

func (g *incData) load(t *testing.T, wh dialects.Warehouse) {
	table(t, wh, "raw.web", []string{"anonymous_id", "user_id", "email", "ts"}, g.web)
	table(t, wh, "raw.crm", []string{"customer_id", "email", "ts"}, g.crm)
}

// runIn runs identity into an output schema and swaps the tables in; it
// returns the step's detail lines.
func runIn(t *testing.T, wh dialects.Warehouse, p *models.Project, schema string, now time.Time, full bool) string {
	t.Helper()
	c := testContext(p, wh.Dialect(), now)
	c.Schema, c.FullRefresh = schema, full
	return strings.Join(runContext(t, wh, c, nil).Details, "\n")
}

// outputs reads every table identity keeps, but the internal component ids.
func outputs(t *testing.T, wh dialects.Warehouse, schema string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tbl := range []string{GraphTable, LineageTable, RejectionsTable, CutLinksTable, LinksTable, StateTable, KeysTable} {
		out[tbl] = dialecttest.Lines(t, wh, "SELECT * FROM "+schema+"."+tbl)
	}
	// each key's profile through its cluster (the clusters are internal; none where not keyed), and the profiles
	out[RootsTable] = dialecttest.Lines(t, wh, "SELECT k.key, p.profile_id FROM "+schema+"."+KeysTable+" k LEFT JOIN "+schema+"."+RootsTable+" r ON r.node = k.key\n"+
		"JOIN "+schema+"."+ProfilesTable+" p ON p.comp = coalesce(r.root, k.key)")
	out[ProfilesTable] = dialecttest.Lines(t, wh, "SELECT profile_id FROM "+schema+"."+ProfilesTable)
	// components: which profiles share one
	out[ComponentsTable] = dialecttest.Lines(t, wh, "SELECT a.profile_id, b.profile_id FROM "+schema+"."+ComponentsTable+" a JOIN "+schema+"."+ComponentsTable+" b ON a.component = b.component")
	return out
}

// TestIncrementalEqualsRebuild appends rows day after day and checks that the
// incremental run gives, table for table, what a full rebuild gives.
func TestIncrementalEqualsRebuild(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		for seed := int64(1); seed <= 3; seed++ {
			g := &incData{r: rand.New(rand.NewSource(seed)), people: 60, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			p := incProject()
			rules := seed != 3
			if !rules { // without limit and max_links a previous profile is rebuilt from its identifiers alone
				p.Identity.Identifiers[0].Limit, p.Identity.Identifiers[2].MaxLinks = 0, 0
			}
			g.add(400, 60)
			g.load(t, w.WH)
			now := testNow
			inc, rebuilt := fmt.Sprint("increment", seed), fmt.Sprint("rebuilt", seed)
			for _, s := range []string{inc, rebuilt} {
				require.Contains(t, runIn(t, w.WH, p, s, now, false), "full rebuild: no previous run")
			}
			increments := 0
			for day := 1; day <= 6; day++ {
				g.add(5+g.r.Intn(40), g.r.Intn(6))
				g.load(t, w.WH)
				now = now.Add(24 * time.Hour)
				details := runIn(t, w.WH, p, inc, now, false)
				require.Contains(t, runIn(t, w.WH, p, rebuilt, now, true), "full rebuild: --full-refresh")
				if strings.Contains(details, "incremental:") {
					increments++
				} else {
					require.Contains(t, details, "junk hubs", "only a new junk hub may force a rebuild here")
				}
				got, want := outputs(t, w.WH, inc), outputs(t, w.WH, rebuilt)
				for tbl := range want {
					require.Equal(t, want[tbl], got[tbl], "seed %d day %d: %s differs\n%s", seed, day, tbl, details)
				}
				require.Equal(t, rules, len(want[CutLinksTable]) > 0, "the data exercise limits")
			}
			require.GreaterOrEqual(t, increments, 4, "most days extend the previous run")
			rej := strings.Join(outputs(t, w.WH, inc)[RejectionsTable], "\n")
			require.Contains(t, rej, "test@x.nl|exclude")
			if rules {
				require.Contains(t, rej, "tablet|max_links")
				require.Contains(t, rej, "|limit|")
			}
		}
	})
}

// TestIncrementalFallsBack: whatever an increment cannot be trusted with
// rebuilds, and says why.
func TestIncrementalFallsBack(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		g := &incData{r: rand.New(rand.NewSource(3)), people: 30, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		p := incProject()
		g.add(200, 30)
		g.load(t, w.WH)
		runIn(t, w.WH, p, "cohort", testNow, false)
		before := outputs(t, w.WH, "cohort")

		// nothing new: an increment with nothing to do changes nothing
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "incremental: 0 new rows, 0 previous profiles")
		require.Equal(t, before, outputs(t, w.WH, "cohort"))

		// rows arriving with the newest timestamp already read (a batch sharing one): an increment
		last := g.web[len(g.web)-1][3]
		g.web = append(g.web, []any{"same-second", "c1", nil, last}, []any{"a1_0", "c2", nil, last})
		g.load(t, w.WH)
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "incremental: 2 new rows")
		require.Contains(t, runIn(t, w.WH, p, "rebuilt", testNow, true), "full rebuild")
		require.Equal(t, outputs(t, w.WH, "rebuilt")[GraphTable], outputs(t, w.WH, "cohort")[GraphTable])

		// a row deleted
		web := g.web
		g.web = web[1:]
		g.load(t, w.WH)
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "full rebuild: source web: rows before the previous run's newest timestamp were added, changed or deleted (199 then, 198 now)")

		// a row at the newest timestamp deleted
		g.web = web[:len(web)-1]
		g.load(t, w.WH)
		runIn(t, w.WH, p, "cohort", testNow, false)
		g.web = web[:len(web)-2]
		g.load(t, w.WH)
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "full rebuild: source web: rows at the previous run's newest timestamp were deleted (2 then, 1 now)")

		// a row arriving late, with a timestamp before the newest one read
		g.web = append(web, []any{"late", "c1", nil, "2026-01-01 00:00:01"})
		g.load(t, w.WH)
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "full rebuild: source web: rows before")
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "incremental: 0 new rows")

		// a new identifier whose key an identifier read before has (an old key made to clash): rebuild, which salts the hash
		clash := w.WH.Dialect().Hash64("''", "'anonymous_id'", "':'", "'clash'")
		require.NoError(t, w.WH.Exec(context.Background(), "INSERT INTO cohort."+KeysTable+" (key) SELECT "+clash))
		g.web = append(g.web, []any{"clash", "c3", nil, "2026-06-01 00:00:00"})
		g.load(t, w.WH)
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "full rebuild: a new identifier shares a 64-bit key with another")
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "incremental: 0 new rows")
		var profiles int64
		require.NoError(t, plan.QueryRow(context.Background(), w.WH, "SELECT count(*) FROM cohort."+ProfilesTable, nil, &profiles))
		if profiles > 0 {
			// keyed: the key of an identifier of identity_graph, whose profile (resolved again) holds no identifier of that value
			clash := w.WH.Dialect().Hash64("''", "'anonymous_id'", "':'", "'clash2'")
			require.NoError(t, w.WH.Exec(context.Background(), "INSERT INTO cohort."+KeysTable+" (key) SELECT "+clash))
			require.NoError(t, w.WH.Exec(context.Background(), "INSERT INTO cohort."+RootsTable+" (node, root) SELECT "+clash+", min(comp) FROM cohort."+ProfilesTable))
			g.web = append(g.web, []any{"clash2", "c4", nil, "2026-06-02 00:00:00"})
			g.load(t, w.WH)
			require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "full rebuild: a new identifier shares a 64-bit key with another")
			require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "incremental: 0 new rows")
		}
		// a rule changed
		p.Identity.Identifiers[1].Exclude = append(p.Identity.Identifiers[1].Exclude, `^p1@`)
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "full rebuild: identity rules or sources, the people forgotten, or how this version of Cohort resolves identities changed since the previous run")

		// a source without a timestamp
		p.Sources[1].Timestamp = ""
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "full rebuild: source crm has no timestamp to tell new rows by")

		// an identifier crossing max_links takes links out of profiles: rebuild
		p = incProject()
		runIn(t, w.WH, p, "cohort", testNow, false)
		for i := range 6 {
			g.web = append(g.web, []any{"kiosk", fmt.Sprintf("c%d", i), nil, "2026-12-01 00:00:00"})
		}
		g.load(t, w.WH)
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow, false), "full rebuild: 1 identifier became junk hubs (max_links)")
		require.Contains(t, strings.Join(dialecttest.Lines(t, w.WH, "SELECT identifier_value, rule FROM cohort.identity_rejections"), "\n"), "kiosk|max_links")
	})
}

// TestIncrementalKeepsIds: an increment that merges two profiles keeps the
// anchor's id and records the absorbed one in the lineage, like a rebuild.
func TestIncrementalKeepsIds(t *testing.T) {
	p := &models.Project{
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{{Type: "customer_id"}, {Type: "email", Normalize: "email"}, {Type: "anonymous_id"}}},
		Sources: []*models.Source{{Name: "crm", Table: "raw.crm", Timestamp: "ts", Identifiers: []*models.SourceIdentifier{
			{Type: "customer_id", Column: "c"}, {Type: "email", Column: "e"}, {Type: "anonymous_id", Column: "a"}}}},
	}
	cols := []string{"c", "e", "a", "ts"}
	base := [][]any{{"c1", nil, "a1", "2026-01-01 00:00:00"}, {nil, "e1", "a2", "2026-01-02 00:00:00"}, {"c9", "e9", nil, "2026-01-03 00:00:00"}}
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		table(t, w.WH, "raw.crm", cols, base)
		runIn(t, w.WH, p, "cohort", testNow, false)
		table(t, w.WH, "raw.crm", cols, append(base, []any{nil, "E1 ", "a1", "2026-01-04 00:00:00"}))
		require.Contains(t, runIn(t, w.WH, p, "cohort", testNow.Add(24*time.Hour), false), "incremental: 1 new row, 2 previous profiles resolved again")
		g := graphOf(t, w.WH)
		pc1 := pid("customer_id", "c1")
		for _, id := range []string{"customer_id:c1", "anonymous_id:a1", "email:e1", "anonymous_id:a2"} {
			require.Equal(t, pc1, g[id], id)
		}
		require.Equal(t, pid("customer_id", "c9"), g["customer_id:c9"])
		require.Equal(t, []string{pc1 + "|" + pid("email", "e1") + "|2026-11-24 10:00:00"},
			dialecttest.Lines(t, w.WH, "SELECT profile_id, merged_profile_id, merged_at FROM cohort.identity_lineage"))
		require.Equal(t, []string{"2026-01-01 00:00:00|2026-01-04 00:00:00"},
			dialecttest.Lines(t, w.WH, "SELECT first_seen_at, last_seen_at FROM cohort.identity_graph WHERE identifier_value = 'a1'"))
	})
}

// runContext runs identity with a prepared context and swaps its tables in.
func runContext(t *testing.T, wh dialects.Warehouse, c *plan.Context, tune func(*Step)) plan.Stats {
	t.Helper()
	ctx := context.Background()
	d := wh.Dialect()
	steps, err := Steps(c)
	require.NoError(t, err)
	var stats plan.Stats
	var pubs []plan.Publish
	for _, s := range steps {
		if tune != nil {
			tune(s.(*Step))
		}
		stats, err = s.Run(ctx, wh, nil)
		require.NoError(t, err)
		pubs = append(pubs, stats.Publish...)
	}
	var outs []string
	for _, s := range steps {
		outs = append(outs, s.Outputs()...)
	}
	require.NoError(t, dialects.Publish(ctx, wh, c.Replacements(outs, pubs)))
	// nothing of the run is left behind
	var left int64
	require.NoError(t, plan.QueryRow(ctx, wh, dialects.Bind(d, "SELECT count(*) FROM information_schema.tables WHERE strpos(table_name, ?) > 0"), []any{c.RunID}, &left))
	require.Zero(t, left, "work or staged tables left behind")
	return stats
}
