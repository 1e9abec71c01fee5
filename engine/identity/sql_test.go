package identity

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	_ "github.com/cohort-cdp/cohort/dialects/duckdb"
	_ "github.com/cohort-cdp/cohort/dialects/postgres"
)

// TestSQLReadable: compile output names the YAML it came from, shows each
// statement of the plan once with how its loops repeat and its Go phases,
// and binds every rule value.
func TestSQLReadable(t *testing.T) {
	for _, name := range dialects.Names() {
		drv, err := dialects.Lookup(name)
		require.NoError(t, err)
		steps, err := Steps(testContext(shopProject(), drv.Dialect, testNow))
		require.NoError(t, err)
		require.Len(t, steps, 1)
		sql := steps[0].SQL()
		for _, want := range []string{
			"-- identity resolution\n",
			"--   identifier email (<unsaved>): normalize email, exclude ^test@ | @example\\.com$, limit 3",
			"--   source web (<unsaved>): anonymous_id as anonymous_id, user_id as customer_id",
			"-- connected components: in round {r} every node takes the smallest key",
			"-- repeat for {r} = 1, 2, ... while {in} has rows, at most 10000 rounds",
			"-- each node takes the smallest key among itself and its neighbours",
			"-- roots: from the last round's moves to the first",
			"-- repeat for {i} from r down to 1",
			"-- junk hubs: identifiers linked to more distinct identifiers than max_links allows",
			"-- in Go: the links of those clusters are rebuilt",
			"$1 = '^test@'",
		} {
			require.Contains(t, sql, want, name)
		}
		require.Contains(t, strings.ToLower(sql), "identity_graph__stage_", name) // Snowflake writes names in upper case
		require.NotContains(t, sql, "RECURSIVE", name)
		require.NotContains(t, sql, "'^test@' THEN", "patterns are bound, never pasted")
		require.Equal(t, []string{GraphTable, LineageTable, RejectionsTable, CutLinksTable, LinksTable, ComponentsTable, StateTable, KeysTable, RootsTable, ProfilesTable}, steps[0].Outputs())
		require.True(t, strings.HasPrefix(steps[0].Name(), "identity"))
	}
}
