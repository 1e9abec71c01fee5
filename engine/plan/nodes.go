package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
)

// Node is a part of a step's plan: plain data that Execute runs and Print
// shows, so that `cohort compile` prints what a run executes and the golden
// files test it. A step built of nodes decides nothing while it runs: its
// branches and loops are nodes too.
type Node interface{ node() }

// Exec runs one statement.
type Exec struct{ Statement }

// IfExists runs Then when the output schema holds Table (an unquoted public
// table name: on every run but the first), else Else.
type IfExists struct {
	Table      string
	Then, Else []Node
}

// Loop runs Body again and again until Until (a quoted table) is empty
// after a round, at most Max rounds (0: no bound).
type Loop struct {
	Doc   string // how the rounds relate, for the printed plan
	Body  []Node
	Until string
	Max   int
}

// Publish says how the publish step puts a staged table in place: Append
// adds the staged rows to the final table (columns Cols); Apply, when set,
// says the staged name is a view of the final table with the run's changes
// and lists the statements that bring the final table up to date instead
// (a few changed rows are not worth a copy); otherwise the staged table
// replaces the final one.
type Publish struct {
	Table  string
	Cols   string
	Append bool
	Apply  []string
}

// Go is work done in Go between statements, where SQL cannot do it well
// (refining the few clusters over a limit): Doc is printed, Run executed.
type Go struct {
	Doc string
	Run func(ctx context.Context, wh dialects.Warehouse) error
}

func (Exec) node()     {}
func (IfExists) node() {}
func (Loop) node()     {}
func (Publish) node()  {}
func (Go) node()       {}

// Execute runs nodes in order in context c, reporting each statement's
// definition (or first line) through p.
func Execute(ctx context.Context, wh dialects.Warehouse, c *Context, nodes []Node, p Progress) error {
	for _, n := range nodes {
		if err := execute(ctx, wh, c, n, p); err != nil {
			return err
		}
	}
	return nil
}

func execute(ctx context.Context, wh dialects.Warehouse, c *Context, n Node, p Progress) error {
	switch n := n.(type) {
	case Exec:
		if p != nil && n.Def != "" {
			p(n.Def)
		}
		if err := wh.Exec(ctx, n.SQL, n.Args...); err != nil {
			return &dialects.StatementError{Def: n.Def, SQL: n.SQL, Err: err}
		}
	case IfExists:
		ok, err := c.FinalExists(ctx, wh, n.Table)
		if err != nil {
			return err
		}
		branch := n.Else
		if ok {
			branch = n.Then
		}
		return Execute(ctx, wh, c, branch, p)
	case Loop:
		for round := 1; n.Max == 0 || round <= n.Max; round++ {
			if err := Execute(ctx, wh, c, n.Body, p); err != nil {
				return err
			}
			left, err := CountRows(ctx, wh, n.Until)
			if err != nil {
				return err
			}
			if left == 0 {
				return nil
			}
		}
		return fmt.Errorf("%s still has rows after %d rounds", n.Until, n.Max)
	case Publish:
		c.publish(n)
	case Go:
		return n.Run(ctx, wh)
	default:
		return fmt.Errorf("plan: unknown node %T", n)
	}
	return nil
}

// Print shows nodes as a data engineer reads them: each statement with its
// parameters, and the control nodes as comments around the statements they
// hold.
func Print(nodes []Node) string {
	var b strings.Builder
	printNodes(&b, nodes)
	return b.String()
}

func printNodes(b *strings.Builder, nodes []Node) {
	for _, n := range nodes {
		switch n := n.(type) {
		case Exec:
			b.WriteString(Render(n.Statement))
			b.WriteString(";\n\n")
		case IfExists:
			fmt.Fprintf(b, "-- if %s exists (every run but the first):\n\n", n.Table)
			printNodes(b, n.Then)
			if len(n.Else) > 0 {
				fmt.Fprintf(b, "-- otherwise (%s does not exist yet):\n\n", n.Table)
				printNodes(b, n.Else)
			}
			fmt.Fprintf(b, "-- end if %s exists\n\n", n.Table)
		case Loop:
			b.WriteString(Comment(n.Doc))
			bound := ""
			if n.Max > 0 {
				bound = fmt.Sprintf(", at most %d rounds", n.Max)
			}
			fmt.Fprintf(b, "-- repeat until %s is empty%s:\n\n", n.Until, bound)
			printNodes(b, n.Body)
			b.WriteString("-- end repeat\n\n")
		case Publish:
			if len(n.Apply) > 0 {
				fmt.Fprintf(b, "-- publish brings %s up to date in place instead of replacing it:\n", n.Table)
				for _, st := range n.Apply {
					b.WriteString(Comment(st + ";"))
				}
				b.WriteString("\n")
			} else if n.Append {
				fmt.Fprintf(b, "-- publish appends the staged rows to %s\n\n", n.Table)
			} else {
				fmt.Fprintf(b, "-- publish replaces %s by the staged table\n\n", n.Table)
			}
		case Go:
			b.WriteString(Comment("in Go: " + n.Doc))
			b.WriteString("\n")
		}
	}
}
