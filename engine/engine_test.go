package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// tablePart stages one table from a query; fail makes its second statement fail.
func tablePart(name, table, query string, fail bool) Part {
	return Part{Name: name, Steps: func(c *plan.Context) ([]plan.Step, error) {
		st := []plan.Statement{{SQL: c.Dialect.CreateTableAs(c.Staged(table), query, false)}}
		if fail {
			st = append(st, plan.Statement{SQL: "SELECT no_such_column FROM " + c.Staged(table)})
		}
		return []plan.Step{&plan.SQLStep{StepName: name, Header: "test part " + name, Statements: st, Out: []string{table},
			Count: map[string]string{table: c.Staged(table)}}}, nil
	}}
}

func readInts(t *testing.T, w dialecttest.Fresh, q string) []int64 {
	t.Helper()
	rows, err := w.WH.Query(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestExecuteSwapsAtomicallyAndKeepsOldTablesOnFailure(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		p := &models.Project{Name: "t", Warehouse: models.WarehouseConfig{Schema: "out"}}
		good := []Part{tablePart("a", "ta", "SELECT 1 AS v", false), tablePart("b", "tb", "SELECT 2 AS v", false)}
		pl, err := Compile(p, w.WH.Dialect(), good, Options{})
		require.NoError(t, err)
		res, err := Execute(ctx, w.WH, pl, nil)
		require.NoError(t, err)
		require.Equal(t, int64(1), res.Steps[0].Rows["ta"])
		require.Equal(t, []int64{1}, readInts(t, w, `SELECT v FROM out.ta`))
		require.Equal(t, []int64{2}, readInts(t, w, `SELECT v FROM out.tb`))

		// A second run whose second part fails: neither table changes, and
		// nothing of the failed run is left behind.
		bad := []Part{tablePart("a", "ta", "SELECT 10 AS v", false), tablePart("b", "tb", "SELECT 20 AS v", true)}
		pl, err = Compile(p, w.WH.Dialect(), bad, Options{})
		require.NoError(t, err)
		_, err = Execute(ctx, w.WH, pl, nil)
		var se *StepError
		require.ErrorAs(t, err, &se)
		require.Equal(t, "b", se.Step)
		require.Contains(t, err.Error(), "previous output tables are unchanged")
		require.Equal(t, []int64{1}, readInts(t, w, `SELECT v FROM out.ta`))
		require.Equal(t, []int64{2}, readInts(t, w, `SELECT v FROM out.tb`))
		require.Equal(t, []int64{2}, readInts(t, w, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'out'`))

		// --only rebuilds one part and reads the rest as final.
		pl, err = Compile(p, w.WH.Dialect(), []Part{tablePart("a", "ta", "SELECT 5 AS v", false), tablePart("b", "tb", "SELECT 6 AS v", false)}, Options{Only: "b"})
		require.NoError(t, err)
		require.Equal(t, []string{"tb"}, pl.Outputs())
		require.Equal(t, `"out"."ta"`, pl.Ctx.Input("ta"))
		require.True(t, strings.HasPrefix(pl.Ctx.Input("tb"), `"out"."tb__stage_`))
		_, err = Execute(ctx, w.WH, pl, nil)
		require.NoError(t, err)
		require.Equal(t, []int64{1}, readInts(t, w, `SELECT v FROM out.ta`))
		require.Equal(t, []int64{6}, readInts(t, w, `SELECT v FROM out.tb`))

		_, err = Compile(p, w.WH.Dialect(), good, Options{Only: "nope"})
		require.ErrorContains(t, err, `unknown part (one of a, b)`)
	})
}

// demoProject writes the demo project into a temporary directory and
// loads it.
func demoProject(t *testing.T) *models.Project {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, WriteDemoProject(dir, false))
	p, err := models.LoadAndValidate(dir)
	require.NoError(t, err)
	return p
}
