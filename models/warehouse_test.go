package models

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const checkProject = `sources:
  - name: customers
    table: raw.customers
    primary_key: customer_id
    timestamp: updated_at
    event: kind
    identifiers:
      - {type: email, column: emial}
      - {type: customer_id, column: customer_id}
  - name: missing
    table: raw.nope
    identifiers: [{type: email, column: email}]
  - name: query
    sql: SELECT customer_id AS id, email FROM raw.customers
    identifiers: [{type: email, column: email}, {type: customer_id, column: customer_id}]
  - name: broken
    sql: SELECT nope FROM raw.customers
    identifiers: [{type: email, column: nope}]
traits:
  - {name: ltv, from: customers.total, aggregate: sum}
  - {name: first_seen, from: [customers.updated_at, missing.x], pick: priority}
  - {name: rfm, model: rfm, source: customers, amount: amount}
segments:
  - name: s
    where:
      event:
        source: customers
        where:
          - {column: email, starts_with: a}
          - not: {column: emali, eq: x}
`

func TestCheckWarehouse(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte("name: x\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "models"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "a.yaml"), []byte(checkProject), 0o644))
	p, err := Load(dir)
	require.NoError(t, err)

	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		require.NoError(t, w.WH.Exec(ctx, "CREATE SCHEMA raw"))
		require.NoError(t, w.WH.Exec(ctx, "CREATE TABLE raw.customers (customer_id integer, email text, updated_at timestamp, total double precision)"))
		err := CheckWarehouse(ctx, p, catalog{w.WH})
		var list ErrorList
		require.True(t, errors.As(err, &list), "%v", err)
		lines := strings.Split(err.Error(), "\n")
		require.Len(t, lines, 7, err.Error())
		assert.Equal(t, []string{
			`models/a.yaml:6:12: source "customers" has no column "kind" (known: customer_id, email, updated_at, total)`,
			`models/a.yaml:8:31: source "customers" has no column "emial" (did you mean "email"?)`,
			`models/a.yaml:11:12: table raw.nope of source "missing" does not exist in the warehouse`,
			`models/a.yaml:15:77: source "query" has no column "customer_id" (known: id, email)`,
		}, lines[:4])
		assert.True(t, strings.HasPrefix(lines[4], `models/a.yaml:17:10: the sql of source "broken" does not run: `), lines[4])
		assert.Equal(t, []string{
			`models/a.yaml:22:56: source "customers" has no column "amount" (known: customer_id, email, updated_at, total)`,
			`models/a.yaml:30:27: source "customers" has no column "emali" (did you mean "email"?)`,
		}, lines[5:7])

		require.NoError(t, w.WH.Exec(ctx, "ALTER TABLE raw.customers ADD COLUMN kind text"))
		require.NoError(t, w.WH.Exec(ctx, "ALTER TABLE raw.customers ADD COLUMN amount double precision"))
		err = CheckWarehouse(ctx, p, catalog{w.WH})
		assert.NotContains(t, err.Error(), `"kind"`)
		assert.NotContains(t, err.Error(), `"amount"`)
	})
}
