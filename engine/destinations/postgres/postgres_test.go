package postgres_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/postgres"
	"github.com/cohort-cdp/cohort/engine/destinations/postgres/fake"
)

func open(t *testing.T, f *fake.Server, cfg map[string]any) destinations.Destination {
	t.Helper()
	cfg["dsn"] = f.DSN()
	d, spec, err := destinations.Open(postgres.Type, destinations.Config{Name: "app_db", Values: cfg})
	require.NoError(t, err)
	assert.True(t, spec.Internal)
	t.Cleanup(func() { d.(io.Closer).Close() })
	return d
}

// columns is the table's columns with their types, as the server says.
func columns(t *testing.T, f *fake.Server, table string) map[string]string {
	c, err := pgx.Connect(context.Background(), f.DSN())
	require.NoError(t, err)
	defer c.Close(context.Background())
	rows, err := c.Query(context.Background(), `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1`, table)
	require.NoError(t, err)
	out := map[string]string{}
	for rows.Next() {
		var n, ty string
		require.NoError(t, rows.Scan(&n, &ty))
		out[n] = ty
	}
	return out
}

func rec(op destinations.Op, key string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: key + string(op), Op: op, ProfileID: "p-" + key, Key: map[string]string{"email": key}, Fields: fields}
}

func TestCreatesTheTableTypedFromTheValuesAndAddsColumns(t *testing.T) {
	f := fake.New(t, "audience", "email")
	d := open(t, f, map[string]any{"table": "audience", "column_types": map[string]any{"ltv": "numeric(12,2)"}})
	ctx := context.Background()
	signed := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC).Format(time.RFC3339)
	res, err := d.Write(ctx, &destinations.Batch{Mode: destinations.Upsert, Records: []destinations.Record{
		rec(destinations.Add, "ada@example.com", map[string]any{"first_name": "Ada", "orders": int64(3), "ltv": 120.5, "vip": true,
			"signed_up_at": signed, "birthday": "1990-07-04", "score": 0.75, "note": nil}),
	}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, map[string]string{"email": "text", "first_name": "text", "orders": "bigint", "ltv": "numeric", "vip": "boolean",
		"signed_up_at": "timestamp with time zone", "birthday": "date", "score": "double precision", "note": "text",
		"cohort_profile_id": "text", "cohort_synced_at": "timestamp with time zone"}, columns(t, f, "audience"))
	m := f.Members()["ada@example.com"]
	assert.Equal(t, "p-ada@example.com", m["cohort_profile_id"])
	assert.Equal(t, signed, m["signed_up_at"])

	// A field the mapping gained becomes a column; an update to NULL clears.
	_, err = d.Write(ctx, &destinations.Batch{Mode: destinations.Upsert, Records: []destinations.Record{
		rec(destinations.Update, "ada@example.com", map[string]any{"first_name": nil, "orders": int64(4), "tier": "gold"}),
	}})
	require.NoError(t, err)
	m = f.Members()["ada@example.com"]
	assert.Nil(t, m["first_name"])
	assert.Equal(t, int64(4), m["orders"])
	assert.Equal(t, "gold", m["tier"])
	assert.Equal(t, "text", columns(t, f, "audience")["tier"])
}

func TestWritesAnExistingApplicationTable(t *testing.T) {
	f := fake.New(t, "app.customers", "customer_id")
	f.Exec(`CREATE SCHEMA app; CREATE TABLE app.customers (customer_id bigint PRIMARY KEY, segment_tier text CHECK (segment_tier <> 'banned'),
		cohort_profile_id text, cohort_synced_at timestamptz)`)
	f.Exec(`INSERT INTO app.customers VALUES (1, 'old', NULL, NULL)`)
	d := open(t, f, map[string]any{"table": "app.customers"})
	ctx := context.Background()
	r := func(id, tier string) destinations.Record {
		return destinations.Record{ID: id, Op: destinations.Add, ProfileID: "p" + id, Key: map[string]string{"customer_id": id},
			Fields: map[string]any{"segment_tier": tier}}
	}
	res, err := d.Write(ctx, &destinations.Batch{Mode: destinations.Insert, Records: []destinations.Record{r("1", "new"), r("2", "gold"), r("3", "banned"), r("x", "gold")}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, destinations.Accepted, res.Records[1].Outcome)
	assert.Equal(t, destinations.Rejected, res.Records[2].Outcome)
	assert.Contains(t, res.Records[2].Reason, `PostgreSQL: new row for relation "customers" violates check constraint "customers_segment_tier_check" (SQLSTATE 23514)`)
	assert.Equal(t, destinations.Rejected, res.Records[3].Outcome)
	assert.Contains(t, res.Records[3].Reason, `invalid input syntax for type bigint: "x" (SQLSTATE 22P02)`)
	ms := f.Members()
	assert.Equal(t, "old", ms["1"]["segment_tier"], "mode insert leaves existing rows alone")
	assert.Equal(t, "gold", ms["2"]["segment_tier"])
	assert.Len(t, ms, 2)

	res, err = d.Write(ctx, &destinations.Batch{Mode: destinations.Mirror, Records: []destinations.Record{
		{ID: "rm", Op: destinations.Remove, Key: map[string]string{"customer_id": "1"}}}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Equal(t, []string{"1"}, f.Erased())

	// A key the table does not have stops the run with what to do.
	_, err = d.Write(ctx, &destinations.Batch{Mode: destinations.Upsert, Records: []destinations.Record{rec(destinations.Add, "a@b.nl", nil)}})
	assert.ErrorContains(t, err, "table app.customers has no key column email")
}

func TestRemovalBeforeTheTableExistsTakesNobodyOut(t *testing.T) {
	f := fake.New(t, "audience", "email")
	d := open(t, f, map[string]any{"table": "audience"})
	res, err := d.Write(context.Background(), &destinations.Batch{Mode: destinations.Mirror, Records: []destinations.Record{rec(destinations.Remove, "a@b.nl", nil)}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Empty(t, f.Members())
}

func TestServerStatesAreClassified(t *testing.T) {
	f := fake.New(t, "audience", "email")
	d := open(t, f, map[string]any{"table": "audience"})
	ctx := context.Background()
	b := &destinations.Batch{Mode: destinations.Upsert, Records: []destinations.Record{rec(destinations.Add, "a@b.nl", map[string]any{"n": int64(1)})}}
	for _, c := range []struct {
		status          int
		retry, tooLarge bool
		wait            time.Duration
		msg             string
	}{
		{429, true, false, time.Second, "sorry, too many clients already (SQLSTATE 53300)"},
		{503, true, false, time.Second, "the database system is starting up (SQLSTATE 57P03)"},
		{500, true, false, 0, "internal error (SQLSTATE XX000)"},
		{413, false, true, 0, "statement is too large (SQLSTATE 54000)"},
		{403, false, false, 0, "permission denied for table (SQLSTATE 42501)"},
	} {
		f.Fail(1, c.status)
		_, err := d.Write(ctx, b)
		e, ok := destinations.AsError(err)
		require.True(t, ok, "%d: %v", c.status, err)
		assert.Equal(t, c.retry, e.Retryable, "%d", c.status)
		assert.Equal(t, c.tooLarge, e.TooLarge, "%d", c.status)
		assert.Equal(t, c.wait, e.RetryAfter, "%d", c.status)
		assert.Equal(t, c.msg, e.Message)
	}
	assert.Empty(t, f.Members(), "a failed statement wrote nothing")
	_, err := d.Write(ctx, b)
	require.NoError(t, err)
	assert.Len(t, f.Members(), 1)

	nowhere, _, err := destinations.Open(postgres.Type, destinations.Config{Values: map[string]any{"dsn": "postgres://postgres@127.0.0.1:1/x?connect_timeout=2", "table": "t"}})
	require.NoError(t, err)
	_, err = nowhere.Write(ctx, b)
	e, ok := destinations.AsError(err)
	require.True(t, ok, "%v", err)
	assert.True(t, e.Retryable, "no answer is worth another try")
}

func TestCheck(t *testing.T) {
	f := fake.New(t, "audience", "email")
	ctx := context.Background()
	require.NoError(t, open(t, f, map[string]any{"table": "audience"}).(destinations.Checker).Check(ctx))
	err := open(t, f, map[string]any{"table": "nowhere.audience"}).(destinations.Checker).Check(ctx)
	assert.ErrorContains(t, err, "PostgreSQL table nowhere.audience does not exist and the user may not create tables in schema nowhere")

	for _, bad := range []map[string]any{
		{"table": "Audience; DROP TABLE x"},
		{"table": "a", "column_types": map[string]any{"ltv": "numeric; DROP"}},
		{"table": "a", "dsn": "postgres://u:s3cret@host:notaport/db"},
	} {
		if bad["dsn"] == nil {
			bad["dsn"] = f.DSN()
		}
		_, _, err := destinations.Open(postgres.Type, destinations.Config{Name: "app_db", Values: bad})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "s3cret")
	}
}
