package identity

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

func TestStableIdsMergeAndSplit(t *testing.T) {
	p := &models.Project{
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{{Type: "customer_id"}, {Type: "email", Normalize: "email"}, {Type: "anonymous_id"}}},
		Sources: []*models.Source{{Name: "crm", Table: "raw.crm", Identifiers: []*models.SourceIdentifier{
			{Type: "customer_id", Column: "c"}, {Type: "email", Column: "e"}, {Type: "anonymous_id", Column: "a"}}}},
	}
	cols := []string{"c", "e", "a"}
	base := [][]any{{"c1", nil, "a1"}, {nil, "e1", "a2"}, {"c9", "e9", nil}}
	pc1, pe1, pc9 := pid("customer_id", "c1"), pid("email", "e1"), pid("customer_id", "c9")
	lineage := "SELECT profile_id, merged_profile_id, merged_at FROM cohort.identity_lineage"
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		day1, day2, day3 := testNow, testNow.Add(24*time.Hour), testNow.Add(48*time.Hour)

		table(t, w.WH, "raw.crm", cols, base)
		runIdentity(t, w.WH, p, day1, nil)
		first := graphOf(t, w.WH)
		require.Equal(t, map[string]string{"customer_id:c1": pc1, "anonymous_id:a1": pc1, "email:e1": pe1, "anonymous_id:a2": pe1,
			"customer_id:c9": pc9, "email:e9": pc9}, first)
		require.Empty(t, dialecttest.Lines(t, w.WH, lineage))

		// a re-run on unchanged data gives identical ids
		runIdentity(t, w.WH, p, day1, nil)
		require.Equal(t, first, graphOf(t, w.WH))

		// a row links a1 and e1: the profiles merge, c1's survives, lineage records e1's
		table(t, w.WH, "raw.crm", cols, append(base, []any{nil, "E1 ", "a1"}))
		runIdentity(t, w.WH, p, day2, nil)
		g := graphOf(t, w.WH)
		for _, id := range []string{"customer_id:c1", "anonymous_id:a1", "email:e1", "anonymous_id:a2"} {
			require.Equal(t, pc1, g[id], id)
		}
		require.Equal(t, pc9, g["customer_id:c9"])
		require.Equal(t, []string{pc1 + "|" + pe1 + "|2026-11-24 10:00:00"}, dialecttest.Lines(t, w.WH, lineage))

		// the link goes away: the part holding the anchor keeps the id, the other part gets its own again
		table(t, w.WH, "raw.crm", cols, base)
		runIdentity(t, w.WH, p, day3, nil)
		require.Equal(t, first, graphOf(t, w.WH))
		require.Equal(t, []string{pc1 + "|" + pe1 + "|2026-11-24 10:00:00"}, dialecttest.Lines(t, w.WH, lineage), "lineage is kept")
	})
}

// TestBulkSettingsPutBack: a setting the run changes is set for the run and
// back to its default after it. DuckDB's preserve_insertion_order is
// database-wide; PostgreSQL's enable_hashagg is a session setting, made on the
// run's pinned connection only, so the pool's other connections never see it.
func TestBulkSettingsPutBack(t *testing.T) {
	for typ, setting := range map[string]string{"duckdb": "preserve_insertion_order", "postgres": "enable_hashagg"} {
		t.Run(typ, func(t *testing.T) { testBulkSettingPutBack(t, typ, setting) })
	}
}

func testBulkSettingPutBack(t *testing.T, typ, setting string) {
	w := dialecttest.Open(t, typ)
	p := &models.Project{
		Identity: models.Identity{Identifiers: []*models.IdentifierRule{{Type: "email", Normalize: "email"}, {Type: "anonymous_id"}}},
		Sources: []*models.Source{{Name: "web", Table: "raw.web", Identifiers: []*models.SourceIdentifier{
			{Type: "email", Column: "e"}, {Type: "anonymous_id", Column: "a"}}}},
	}
	table(t, w.WH, "raw.web", []string{"e", "a"}, [][]any{{"x@y.nl", "a1"}})
	readSetting := func(name string) string {
		var v string
		require.NoError(t, plan.QueryRow(context.Background(), w.WH, "SELECT CAST(current_setting('"+name+"') AS VARCHAR)", nil, &v))
		return strings.ToLower(v)
	}
	read := func() string { return readSetting(setting) }
	// DuckDB also leaves dictionary compression out of the run's writes
	compression := func() string {
		if typ != "duckdb" {
			return ""
		}
		return readSetting("disabled_compression_methods")
	}
	var compressionDuring string
	on := map[string]string{"duckdb": "true", "postgres": "on"}[typ]
	off := map[string]string{"duckdb": "false", "postgres": "off"}[typ]
	require.Equal(t, on, read())
	var during string
	var statements []string
	runIdentity(t, w.WH, p, testNow, func(s *Step) {
		s.c.Trace.Hook = func(sql string, _ time.Duration, _ float64) {
			statements = append(statements, sql)
			if during == "" && strings.Contains(sql, "_work_id_nodes_") {
				during = read()
				compressionDuring = compression()
			}
		}
	})
	ran := strings.Join(statements, "\n")
	require.True(t, strings.HasPrefix(ran, "SET "), "set before the run's statements")
	require.Contains(t, ran, "SET "+setting)
	if typ == "duckdb" {
		require.Equal(t, off, during, "database-wide: set for the run")
		require.Equal(t, "dictionary,dict_fsst", compressionDuring)
		require.Equal(t, "", compression(), "dictionary compression back for other writes")
	} else {
		require.Equal(t, on, during, "a session setting of the run's connection: the pool's others keep the default")
	}
	require.Equal(t, on, read())
}
