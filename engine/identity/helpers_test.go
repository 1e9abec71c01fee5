package identity

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// table creates schema.name with text columns (ts: timestamp) and inserts rows.
func table(t *testing.T, wh dialects.Warehouse, name string, cols []string, rows [][]any) {
	t.Helper()
	ctx := context.Background()
	d := wh.Dialect()
	schema, tbl := dialects.SplitTable(name)
	require.NoError(t, wh.Exec(ctx, d.CreateSchema(schema)))
	require.NoError(t, wh.Exec(ctx, d.DropTable(d.Quote(schema, tbl))))
	var defs []string
	for _, c := range cols {
		typ := d.TypeName(dialects.Text)
		if c == "ts" {
			typ = d.TypeName(dialects.Timestamp)
		}
		defs = append(defs, d.Quote(c)+" "+typ)
	}
	require.NoError(t, wh.Exec(ctx, "CREATE TABLE "+d.Quote(schema, tbl)+" ("+strings.Join(defs, ", ")+")"))
	for start := 0; start < len(rows); start += 400 {
		end := min(start+400, len(rows))
		q := &plan.Builder{}
		q.W("INSERT INTO ", d.Quote(schema, tbl), " VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				q.W(", ")
			}
			var ph []string
			for j, v := range rows[i] {
				if cols[j] == "ts" {
					ph = append(ph, "CAST("+q.Arg(v)+" AS "+d.TypeName(dialects.Timestamp)+")")
				} else {
					ph = append(ph, "CAST("+q.Arg(v)+" AS "+d.TypeName(dialects.Text)+")")
				}
			}
			q.W("(", strings.Join(ph, ", "), ")")
		}
		st := q.Statement(d)
		require.NoError(t, wh.Exec(ctx, st.SQL, st.Args...))
	}
}

// testContext is a run's context for the output schema "cohort".
func testContext(p *models.Project, d dialects.Dialect, now time.Time) *plan.Context {
	b := make([]byte, 4)
	rand.Read(b)
	c := &plan.Context{Project: p, Dialect: d, Schema: "cohort", Now: now, Loc: time.UTC,
		RunID: hex.EncodeToString(b), Building: map[string]bool{}}
	for _, o := range (&Step{}).Outputs() {
		c.Building[o] = true
	}
	return c
}

// runIdentity runs the identity steps and swaps the staged tables in, as the executor does.
func runIdentity(t *testing.T, wh dialects.Warehouse, p *models.Project, now time.Time, tune func(*Step)) plan.Stats {
	t.Helper()
	return runContext(t, wh, testContext(p, wh.Dialect(), now), tune)
}

// graphOf reads identity_graph as type:value → profile_id.
func graphOf(t *testing.T, wh dialects.Warehouse) map[string]string {
	t.Helper()
	rows, err := wh.Query(context.Background(), `SELECT identifier_type, identifier_value, profile_id FROM cohort.identity_graph`)
	require.NoError(t, err)
	defer rows.Close()
	g := map[string]string{}
	for rows.Next() {
		var typ, v, p string
		require.NoError(t, rows.Scan(&typ, &v, &p))
		_, dup := g[typ+":"+v]
		require.False(t, dup, "identifier %s:%s twice in identity_graph", typ, v)
		g[typ+":"+v] = p
	}
	require.NoError(t, rows.Err())
	return g
}

// pid is the profile id a cluster anchored at type:value gets.
func pid(typ, value string) string {
	h := md5.Sum([]byte(typ + ":" + value))
	return "p_" + hex.EncodeToString(h[:])[:16]
}

// partitionOf groups identifiers by profile, as sorted lists, sorted.
func partitionOf(g map[string]string) [][]string {
	by := map[string][]string{}
	for id, p := range g {
		by[p] = append(by[p], id)
	}
	var out [][]string
	for _, ids := range by {
		sort.Strings(ids)
		out = append(out, ids)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}
