package plan_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// One interpreter runs a plan's nodes and one printer shows them: branches
// on a table's existence, loops until a table is empty, publish choices and
// Go phases, on every dialect.
func TestNodesRunAsPrinted(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		d := w.WH.Dialect()
		c := &plan.Context{Project: &models.Project{}, Dialect: d, Schema: "p"}
		require.NoError(t, w.WH.Exec(ctx, d.CreateSchema("p")))
		queue := c.Final("queue")
		var phases []string
		nodes := []plan.Node{
			plan.IfExists{Table: "queue",
				Then: []plan.Node{plan.Exec{Statement: plan.Statement{SQL: "DELETE FROM " + queue}}},
				Else: []plan.Node{plan.Exec{Statement: plan.Statement{SQL: d.CreateTableAs(queue, "SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3", false)}}}},
			plan.Loop{Doc: "take the smallest number out each round", Until: queue, Max: 10,
				Body: []plan.Node{
					plan.Exec{Statement: plan.Statement{SQL: "DELETE FROM " + queue + " WHERE n = (SELECT min(n) FROM " + queue + ")"}},
					plan.Go{Doc: "count the rounds", Run: func(context.Context, dialects.Warehouse) error {
						phases = append(phases, "round")
						return nil
					}},
				}},
			plan.IfExists{Table: "history",
				Then: []plan.Node{plan.Publish{Table: "history", Cols: "a", Append: true}},
				Else: []plan.Node{plan.Publish{Table: "history", Cols: "a"}}},
		}
		require.NoError(t, plan.Execute(ctx, w.WH, c, nodes, nil))
		require.Equal(t, []string{"round", "round", "round"}, phases, "the loop ran until the queue was empty")
		require.Empty(t, c.Appended, "no history yet: the staged table replaces it")

		// the second time the table exists: the other branch runs, and a loop
		// over an empty queue still runs its body once
		require.NoError(t, w.WH.Exec(ctx, d.CreateTableAs(c.Final("history"), "SELECT 1 AS a", false)))
		require.NoError(t, plan.Execute(ctx, w.WH, c, nodes, nil))
		require.Len(t, phases, 4)
		require.Contains(t, c.Appended, "history")

		// an in-place publish is data too: the last Publish node run for a
		// table decides, so a context reused by a rebuild forgets it
		apply := []string{"DELETE FROM " + c.Final("graph")}
		require.NoError(t, plan.Execute(ctx, w.WH, c, []plan.Node{plan.Publish{Table: "graph", Apply: apply}}, nil))
		require.Equal(t, apply, c.Replacements([]string{"graph"})[0].Apply)
		require.True(t, c.Replacements([]string{"graph"})[0].InPlace)
		require.Contains(t, plan.Print([]plan.Node{plan.Publish{Table: "graph", Apply: apply}}), "-- DELETE FROM "+c.Final("graph")+";")
		require.NoError(t, plan.Execute(ctx, w.WH, c, []plan.Node{plan.Publish{Table: "graph"}}, nil))
		require.False(t, c.Replacements([]string{"graph"})[0].InPlace)
		require.Empty(t, c.Replacements([]string{"graph"})[0].Apply)

		// a loop that never empties its table fails after Max rounds
		stuck := plan.Loop{Until: c.Final("history"), Max: 2, Body: []plan.Node{plan.Exec{Statement: plan.Statement{SQL: "SELECT 1"}}}}
		require.ErrorContains(t, plan.Execute(ctx, w.WH, c, []plan.Node{stuck}, nil), "after 2 rounds")

		printed := plan.Print(nodes)
		for _, want := range []string{"-- if queue exists", "-- otherwise (queue does not exist yet):", "-- take the smallest number out each round",
			"-- repeat until " + queue + " is empty, at most 10 rounds:", "-- in Go: count the rounds", "-- publish appends the staged rows to history"} {
			require.Contains(t, printed, want)
		}
		require.Equal(t, 3, strings.Count(printed, "DELETE FROM")+strings.Count(printed, "CREATE TABLE"))
	})
}
