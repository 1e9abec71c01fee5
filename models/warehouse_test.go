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

const kindsProject = `sources:
  - name: customers
    table: raw.customers
    primary_key: customer_id
    timestamp: updated_at
    identifiers: [{type: customer_id, column: customer_id}]
traits:
  - {name: city, from: customers.city, pick: latest}
  - {name: order_count, from: customers, aggregate: count}
  - {name: last_order_at, from: customers.updated_at, aggregate: max}
  - {name: big, sql: "CASE WHEN order_count >> 2 THEN 'x' ELS 'y' END"}
  - {name: after_big, sql: "big || 'z'"}
  - {name: fine, sql: "order_count * 2"}
  - {name: tier, sql: "CASE WHEN fine > 10 THEN 'gold' ELSE 'none' END"}
  - {name: keen, sql: "fine > 10"}
segments:
  - name: s
    where:
      all:
        - {trait: city, gte: 5}
        - {trait: order_count, eq: "abc"}
        - {trait: last_order_at, eq: "not a date"}
        - {trait: last_order_at, after: 30d}
        - {trait: fine, eq: "x"}
        - {trait: tier, eq: gold}
        - not: {trait: city, within: 3d}
  - name: e
    where:
      event: {source: customers, where: [{column: city, gte: 5}, {column: customer_id, eq: abc}, {column: customer_id, gte: 2}]}
consent:
  purposes:
    - {name: ads, trait: city}
    - {name: mail, trait: order_count}
    - {name: keen, trait: keen}
  transfer_outside_eu: {trait: tier}
`

// Validate with a warehouse catches what the run would reject: a sql trait
// the warehouse cannot parse or bind (at its sql, naming the trait; traits
// reading it are not reported again), and segment operands of another kind
// than their trait's (at the operand, with its path in the segment).
func TestCheckWarehouseKinds(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte("name: x\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "models"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "a.yaml"), []byte(kindsProject), 0o644))
	p, err := Load(dir)
	require.NoError(t, err)
	err = Validate(p)
	require.Error(t, err)
	require.Equal(t, `models/a.yaml:21:36: segment "s", where.all[1].eq: trait "order_count" holds numbers, and "abc" is not a number
models/a.yaml:33:27: consent purpose "mail": trait "order_count" holds numbers, and consent needs a boolean trait (true when the person agreed; a sql trait such as `+"`newsletter_status = 'subscribed'`"+` makes one)`, err.Error(),
		"offline, only the kinds the YAML tells")

	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		require.NoError(t, w.WH.Exec(ctx, "CREATE SCHEMA raw"))
		require.NoError(t, w.WH.Exec(ctx, "CREATE TABLE raw.customers (customer_id integer, city text, updated_at timestamp)"))
		err := CheckWarehouse(ctx, p, catalog{w.WH})
		require.Error(t, err)
		lines := strings.Split(err.Error(), "\n")
		require.Len(t, lines, 9, err.Error())
		assert.True(t, strings.HasPrefix(lines[0], `models/a.yaml:11:22: trait big: `), lines[0])
		consent := "consent needs a boolean trait (true when the person agreed; a sql trait such as `newsletter_status = 'subscribed'` makes one)"
		assert.Equal(t, []string{
			`models/a.yaml:20:30: segment "s", where.all[0].gte: trait "city" holds text, and 5 is not text: put it in quotes ("5")`,
			`models/a.yaml:22:38: segment "s", where.all[2].eq: trait "last_order_at" holds times, and "not a date" is not a date or time: write 2026-11-23 or 2026-11-23 10:00:00 (or use before, after, within)`,
			`models/a.yaml:24:29: segment "s", where.all[4].eq: trait "fine" holds numbers, and "x" is not a number`,
			`models/a.yaml:26:38: segment "s", where.all[6].not.within: trait "city" holds text, and within takes a time: compare it with eq, gt, lt ... instead`,
			`models/a.yaml:29:62: segment "e": column "city" of source "customers" holds text, and 5 is not text: put it in quotes ("5")`,
			`models/a.yaml:29:92: segment "e": column "customer_id" of source "customers" holds numbers, and "abc" is not a number`,
			`models/a.yaml:32:26: consent purpose "ads": trait "city" holds text, and ` + consent,
			`models/a.yaml:35:32: consent purpose "transfer_outside_eu": trait "tier" holds text, and ` + consent,
		}, lines[1:])

		// an unsaved segment (a preview from the UI or --definition): its
		// event columns checked as validate checks the saved ones
		draft, err := ParseSegment([]byte(`{"name": "draft", "where": {"event": {"source": "customers", "where": [
			{"column": "citty", "eq": "x"}, {"column": "customer_id", "eq": "abc"}]}}}`))
		require.NoError(t, err)
		err = CheckSegmentKinds(ctx, p, draft, catalog{w.WH}, "nowhere.profiles")
		require.Error(t, err)
		assert.Equal(t, []string{
			`<unsaved>:2:15: source "customers" has no column "citty" (did you mean "city"?)`,
			`<unsaved>:2:68: segment "draft": column "customer_id" of source "customers" holds numbers, and "abc" is not a number`,
		}, strings.Split(err.Error(), "\n"))
	})
}
