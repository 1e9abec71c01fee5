package identity

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/models"
)

// TestProfileRowsPriority: a row takes the profile of its highest-priority
// identifier found in the graph, whether the identifiers before it are
// empty or missing from the graph, and even when a later identifier is in
// another profile; a row with none in the graph is left out.
func TestProfileRowsPriority(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		p := &models.Project{Name: "rows",
			Identity: models.Identity{Identifiers: []*models.IdentifierRule{{Type: "a"}, {Type: "b"}, {Type: "c"}}},
			Sources: []*models.Source{{Name: "s", Table: "raw.s",
				// the source lists them out of priority order
				Identifiers: []*models.SourceIdentifier{{Type: "c", Column: "c"}, {Type: "a", Column: "a"}, {Type: "b", Column: "b"}}}}}
		table(t, w.WH, "cohort.graph", []string{"identifier_type", "identifier_value", "profile_id"}, [][]any{
			{"a", "a1", "p1"}, {"b", "b2", "p2"}, {"c", "c3", "p3"}, {"b", "b4", "p4"}, {"c", "c4", "p5"},
		})
		table(t, w.WH, "raw.s", []string{"row", "a", "b", "c"}, [][]any{
			{"r1", "a1", "b2", "c3"}, // first found: a
			{"r2", "a9", "b2", "c3"}, // a missing: b
			{"r3", nil, "b2", "c3"},  // a empty: b
			{"r4", "a9", "b9", "c3"}, // a and b missing: c
			{"r5", nil, "b9", "c3"},  // a empty, b missing: c
			{"r6", "a9", "b4", "c4"}, // b and c in different profiles: b
			{"r7", "a9", "b9", "c9"}, // none found: left out
			{"r8", nil, nil, nil},    // no identifier: left out
			{"r9", "a1", nil, "c4"},  // a and c in different profiles: a
			{"r0", "", "  ", "c3"},   // blanks are empty: c
		})
		c := testContext(p, w.WH.Dialect(), testNow)
		d := w.WH.Dialect()
		got := dialecttest.Lines(t, w.WH, "SELECT r.row, r.profile_id FROM ("+ProfileRows(c, p.Sources[0], d.Quote("cohort", "graph"))+") r")
		require.Equal(t, []string{"r0|p3", "r1|p1", "r2|p2", "r3|p2", "r4|p3", "r5|p3", "r6|p4", "r9|p1"}, got)
	})
}
