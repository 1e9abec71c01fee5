package segments_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/models"
)

var update = flag.Bool("update", false, "rewrite the golden SQL files under testdata")

// TestGoldenSQL compiles the profiles and segments steps of each
// testdata/<case> project for every dialect and compares the SQL with
// testdata/<case>/<dialect>.sql (-update rewrites them).
func TestGoldenSQL(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/cohort.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, file := range cases {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			p, err := models.Load(dir)
			require.NoError(t, err)
			require.NoError(t, models.Validate(p))
			for _, typ := range dialecttest.Types {
				drv, err := dialects.Lookup(typ)
				require.NoError(t, err)
				c := &plan.Context{
					Project: p, Dialect: drv.Dialect, Schema: p.Warehouse.Schema, Loc: p.Location(),
					Now: time.Date(2025, 6, 15, 12, 0, 0, 0, p.Location()), RunID: "golden", Building: map[string]bool{},
				}
				var sql string
				for _, part := range []func(*plan.Context) ([]plan.Step, error){profiles.Steps, segments.Steps} {
					steps, err := part(c)
					require.NoError(t, err)
					for _, s := range steps {
						for _, o := range s.Outputs() {
							c.Building[o] = true
						}
						sql += s.SQL()
					}
				}
				golden := filepath.Join(dir, typ+".sql")
				if *update {
					require.NoError(t, os.WriteFile(golden, []byte(sql), 0o644))
					continue
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err, "run go test ./engine/segments -run TestGoldenSQL -update")
				require.Equal(t, string(want), sql, "%s differs; review and rerun with -update", golden)
			}
		})
	}
}
