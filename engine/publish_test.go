package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/models"
)

// tableByTable is a real dialect publishing as a warehouse whose DDL
// commits on its own must (Snowflake, BigQuery): one transaction per table.
type tableByTable struct{ dialects.Dialect }

func (d tableByTable) Capabilities() dialects.Capabilities {
	c := d.Dialect.Capabilities()
	c.AtomicPublish = false
	return c
}

func (d tableByTable) Publish(pairs []dialects.Replace) [][]string {
	var txs [][]string
	for _, p := range pairs {
		txs = append(txs, dialects.RenameInTransaction(d.Quote, []dialects.Replace{p})...)
	}
	return txs
}

type tableByTableWH struct{ dialects.Warehouse }

func (w tableByTableWH) Dialect() dialects.Dialect { return tableByTable{w.Warehouse.Dialect()} }

// A warehouse that cannot publish the set atomically publishes table after
// table; compile shows it, and a failure half way says that some tables
// may already be new instead of promising the previous ones.
func TestPublishTableByTable(t *testing.T) {
	ctx := context.Background()
	w := dialecttest.Open(t, "duckdb")
	wh := tableByTableWH{w.WH}
	p := &models.Project{Name: "t", Warehouse: models.WarehouseConfig{Schema: "out"}}
	parts := func(a, b string) []Part {
		return []Part{tablePart("a", "ta", "SELECT "+a+" AS v", false), tablePart("b", "tb", "SELECT "+b+" AS v", false)}
	}
	pl, err := Compile(p, wh.Dialect(), parts("1", "2"), Options{})
	require.NoError(t, err)
	sql := pl.SQL()
	require.Contains(t, sql, "-- ==== publish: replace the output tables one transaction after another ====")
	require.Equal(t, 2, strings.Count(sql, "BEGIN;"))
	_, err = Execute(ctx, wh, pl, nil)
	require.NoError(t, err)

	// tb's final name is taken by a view: the second transaction fails
	// after the first has published ta.
	require.NoError(t, w.WH.Exec(ctx, "DROP TABLE out.tb"))
	require.NoError(t, w.WH.Exec(ctx, "CREATE VIEW out.tb AS SELECT 2 AS v"))
	pl, err = Compile(p, wh.Dialect(), parts("10", "20"), Options{})
	require.NoError(t, err)
	_, err = Execute(ctx, wh, pl, nil)
	var se *StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, PublishStep, se.Step)
	require.True(t, se.Partial)
	require.Contains(t, err.Error(), "may already be the new run's")
	require.Equal(t, []int64{10}, readInts(t, w, `SELECT v FROM out.ta`))
	require.Equal(t, []int64{2}, readInts(t, w, `SELECT v FROM out.tb`))
}
