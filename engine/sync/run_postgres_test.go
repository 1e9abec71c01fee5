package sync

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	_ "github.com/cohort-cdp/cohort/engine/destinations/postgres" // registers postgres
	"github.com/cohort-cdp/cohort/engine/destinations/postgres/fake"
	"github.com/cohort-cdp/cohort/models"
)

// A sync from the embedded warehouse into a table of the company's own
// database: the values keep their types from trait to column, a mirror run
// deletes leavers, and the run releases its connections.
func TestSyncIntoAPostgresTable(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, dialecttest.OpenWith(t, "duckdb", asSync).WH)
	w.load()
	f := fake.New(t, "vip_customers", "email")
	proj := project("", "mirror")
	proj.Destinations = []*models.Destination{{Name: "app_db", Type: "postgres", Region: "eu", Config: map[string]any{"dsn": f.DSN(), "table": "vip_customers"}}}
	proj.Syncs[0].Destination = "app_db"
	p := Params{Project: proj, Sync: "vip_hook", Warehouse: w.wh, Delivery: Options{Clock: NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}

	table := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for k, m := range f.Members() {
			out[k] = map[string]any{"name": m["name"], "ltv": m["ltv"]}
		}
		return out
	}
	_, err := Run(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, jsonText(w.expected()), jsonText(table()))

	w.people[0].name = "Renamed"
	w.people[2].member = false
	w.load()
	_, err = Run(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, jsonText(w.expected()), jsonText(table()))
	assert.Contains(t, f.Erased(), "u002@shop.nl", "a leaver's row is deleted")

	c, err := pgx.Connect(ctx, f.DSN())
	require.NoError(t, err)
	defer c.Close(ctx)
	var ltvType string
	require.NoError(t, c.QueryRow(ctx, `SELECT data_type FROM information_schema.columns WHERE table_name = 'vip_customers' AND column_name = 'ltv'`).Scan(&ltvType))
	assert.Equal(t, "double precision", ltvType)
	var open int
	require.NoError(t, c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cohort'`).Scan(&open))
	assert.Zero(t, open, "the runs closed their connection pools")
}
