package plan_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// One interpreter runs a plan's nodes and one printer shows them: branches
// on a table's existence and on Go conditions, loops over a rotating pair
// of tables up and down, retries, abandoned attempts, variables bound as
// arguments, publish choices and Go phases, on every dialect.
func TestNodesRunAsPrinted(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		d := w.WH.Dialect()
		c := &plan.Context{Project: &models.Project{}, Dialect: d, Schema: "p"}
		require.NoError(t, w.WH.Exec(ctx, d.CreateSchema("p")))
		queue, a, b := c.Final("queue"), c.Final("pair_a"), c.Final("pair_b")
		var phases []string
		count := func(table string) int64 {
			n, err := plan.CountRows(ctx, w.WH, table)
			require.NoError(t, err)
			return n
		}
		nodes := []plan.Node{
			plan.IfExists{Table: "queue",
				Then: []plan.Node{plan.Exec{Statement: plan.Statement{SQL: "DELETE FROM " + queue}}},
				Else: []plan.Node{plan.Exec{Statement: plan.Statement{SQL: d.CreateTableAs(queue, "SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3", false)}}}},
			// each round takes the smallest number out: round r reads {in}
			// (the queue, then the round before's output) and writes {out}
			plan.Loop{Doc: "take the smallest number out each round", Var: "r", First: queue, Pair: [2]string{a, b}, Max: 10,
				Progress: "round {r}: {rows} left", Rows: "number",
				Body: []plan.Node{
					plan.Exec{Statement: plan.Statement{SQL: d.DropTable("{out}")}},
					plan.Exec{Statement: plan.Statement{SQL: d.CreateTableAs("{out}", "SELECT n FROM {in} WHERE n > (SELECT min(n) FROM {in})", false)}},
					plan.Go{Doc: "count the rounds", Run: func(_ context.Context, r *plan.Run) error {
						phases = append(phases, "round "+r.Var("r"))
						return nil
					}},
				}},
			plan.IfExists{Table: "history",
				Then: []plan.Node{plan.Publish{Table: "history", Cols: "a", Append: true}},
				Else: []plan.Node{plan.Publish{Table: "history", Cols: "a"}}},
		}
		var said []string
		run, err := plan.Execute(ctx, w.WH, c, nodes, func(msg string) { said = append(said, msg) })
		require.NoError(t, err)
		require.Equal(t, []string{"round 1", "round 2", "round 3"}, phases, "the loop ran while its input had rows")
		require.Equal(t, []string{"round 1: 2 numbers left", "round 2: 1 number left", "round 3: 0 numbers left"}, said, "progress counts the rows left in words")
		require.Equal(t, 3, run.Int("r"), "after the loop its variable holds the rounds run")
		require.Equal(t, int64(0), count(a), "round 3 wrote the odd rounds' table last")
		require.Equal(t, int64(1), count(b), "round 2 wrote the even rounds' table")
		require.Equal(t, []plan.Publish{{Table: "history", Cols: "a"}}, run.Published, "no history yet: the staged table replaces it")
		require.False(t, c.Replacements([]string{"history"}, run.Published)[0].InPlace)
		require.Empty(t, c.Replacements([]string{"history"}, run.Published)[0].Apply)

		// the second time the tables exist: the other branches run, and a
		// loop whose first input is empty runs no round
		require.NoError(t, w.WH.Exec(ctx, d.CreateTableAs(c.Final("history"), "SELECT 1 AS a", false)))
		run, err = plan.Execute(ctx, w.WH, c, nodes, nil)
		require.NoError(t, err)
		require.Len(t, phases, 3)
		require.Equal(t, 0, run.Int("r"))
		require.Contains(t, c.Replacements([]string{"history"}, run.Published)[0].Apply[0], "INSERT INTO "+c.Final("history"))

		// an in-place publish is data too: the last Publish node run for a
		// table decides, and a run that reaches none replaces the table
		apply := []string{"DELETE FROM " + c.Final("graph")}
		pubs := []plan.Node{plan.Publish{Table: "graph"}, plan.Publish{Table: "graph", Apply: apply}}
		run, err = plan.Execute(ctx, w.WH, c, pubs, nil)
		require.NoError(t, err)
		require.Equal(t, apply, c.Replacements([]string{"graph"}, run.Published)[0].Apply)
		require.True(t, c.Replacements([]string{"graph"}, run.Published)[0].InPlace)
		require.False(t, c.Replacements([]string{"graph"}, nil)[0].InPlace)
		require.Contains(t, plan.Print(pubs), "-- DELETE FROM "+c.Final("graph")+";")
		require.Equal(t, []plan.Publish{{Table: "history", Cols: "a", Append: true}}, plan.Publishes(nodes), "compile prints every run but the first")

		// a counting-down loop ends in the odd rounds' table; a retry binds
		// each value until an attempt is not abandoned; a try runs its
		// otherwise when its body is abandoned, saying why
		var tried []string
		q := &plan.Builder{}
		q.W("DELETE FROM ", a, " WHERE CAST(n AS ", d.TypeName("text"), ") = ", q.Arg(plan.Var("salt")))
		rest := []plan.Node{
			plan.Set{Var: "top", Value: "3"},
			plan.Loop{Var: "i", Down: "top", First: queue, Pair: [2]string{a, b}, Body: []plan.Node{
				plan.Exec{Statement: plan.Statement{SQL: d.DropTable("{out}")}},
				plan.Exec{Statement: plan.Statement{SQL: d.CreateTableAs("{out}", "SELECT n FROM {in} UNION ALL SELECT {i} AS n", false)}},
			}},
			plan.Retry{Doc: "salted", Var: "salt", Values: []string{"", "1", "2"}, Body: []plan.Node{
				plan.Exec{Statement: q.Statement(d)},
				plan.Go{Doc: "record", Run: func(_ context.Context, r *plan.Run) error {
					tried = append(tried, r.Var("salt"))
					return nil
				}},
				plan.If{Doc: "the salt is empty", Cond: plan.VarIs("salt", ""), Then: []plan.Node{plan.Abandon{Why: "unsalted"}}},
			}},
			plan.Try{Doc: "the quick way", Body: []plan.Node{plan.Abandon{Why: "not today"}, plan.Set{Var: "way", Value: "quick"}},
				Otherwise: []plan.Node{plan.Set{Var: "way", Value: "slow"}}},
		}
		run, err = plan.Execute(ctx, w.WH, c, rest, nil)
		require.NoError(t, err)
		require.Equal(t, int64(2), count(a), "rounds 3 and 1 wrote the odd table, the last holding 3, 2 and 1; the retry deleted 1")
		require.Equal(t, []string{"", "1"}, tried)
		require.Equal(t, "1", run.Var("salt"))
		require.Equal(t, "slow", run.Var("way"))
		require.Equal(t, "not today", run.Why)

		// a loop that never empties its table fails after Max rounds
		stuck := plan.Loop{Var: "r", First: c.Final("history"), Pair: [2]string{a, b}, Max: 2,
			Body: []plan.Node{plan.Exec{Statement: plan.Statement{SQL: d.DropTable("{out}")}}, plan.Exec{Statement: plan.Statement{SQL: d.CreateTableAs("{out}", "SELECT a FROM {in}", false)}}}}
		_, err = plan.Execute(ctx, w.WH, c, []plan.Node{stuck}, nil)
		require.ErrorContains(t, err, "after 2 rounds")

		printed := plan.Print(append(nodes, rest...))
		for _, want := range []string{"-- if queue exists", "-- otherwise (queue does not exist yet):", "-- take the smallest number out each round",
			"-- repeat for {r} = 1, 2, ... while {in} has rows, at most 10 rounds, {in} being " + queue, "-- in Go: count the rounds",
			"-- publish appends the staged rows to history", "-- repeat for {i} from top down to 1", "-- try with salt = '', '1', '2' in turn",
			"-- if the salt is empty:", "-- abandon: unsalted", "-- try: the quick way", "-- if that was abandoned, instead:", "$1 = {salt}"} {
			require.Contains(t, printed, want)
		}
		require.Equal(t, 2, strings.Count(plan.Print(nodes), "CREATE TABLE"), "a loop body printed once")
	})
}

// A step's cleanup ends its plan, and runs also when a statement failed:
// the scratch tables of a failed step do not outlive it.
func TestSQLStepCleanupRunsOnFailure(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		d := w.WH.Dialect()
		c := &plan.Context{Project: &models.Project{}, Dialect: d, Schema: "p"}
		require.NoError(t, w.WH.Exec(ctx, d.CreateSchema("p")))
		scratch := c.Final("scratch")
		for _, fail := range []bool{false, true} {
			step := &plan.SQLStep{StepName: "s", Ctx: c,
				Statements: []plan.Statement{{SQL: d.CreateTableAs(scratch, "SELECT 1 AS n", true)}},
				Cleanup:    []plan.Statement{{SQL: d.DropTable(scratch)}}}
			if fail {
				step.Statements = append(step.Statements, plan.Statement{SQL: "SELECT n FROM " + c.Final("missing")})
			}
			_, err := step.Run(ctx, w.WH, nil)
			require.Equal(t, fail, err != nil, "%v", err)
			_, err = plan.CountRows(ctx, w.WH, scratch)
			require.Error(t, err, "the cleanup dropped the scratch table (failed: %v)", fail)
			require.Contains(t, step.SQL(), d.DropTable(scratch), "the printed plan shows the cleanup")
		}
	})
}
