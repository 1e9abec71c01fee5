package plan

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
)

// Node is a part of a step's plan: plain data that Execute runs and Print
// shows, so that `cohort compile` prints what a run executes and the golden
// files test it. A step built of nodes decides nothing while it runs: its
// branches, loops and retries are nodes too, and the few choices made in Go
// (If.Cond, Go.Run) are printed with their Doc.
type Node interface{ node() }

// Exec runs one statement. Inside a Loop, its SQL may name the round's
// tables and number as {in}, {out} and {var} (see Loop); an argument of
// type Var is bound to the run's variable of that name.
type Exec struct{ Statement }

// IfExists runs Then when the output schema holds Table (an unquoted public
// table name: on every run but the first), else Else.
type IfExists struct {
	Table      string
	Then, Else []Node
}

// If runs Then when Cond holds, else Else: a choice made in Go while the
// plan runs (on what the warehouse holds, on the run's variables). Doc is
// the condition as printed ("the previous run's state is usable"); both
// branches are printed.
type If struct {
	Doc        string
	Cond       func(ctx context.Context, r *Run) (bool, error)
	Then, Else []Node
}

// Loop runs Body in rounds over a rotating pair of tables: round n reads
// {in} (First in the first round, else the round before's {out}) and
// writes {out}, Pair[0] in odd rounds and Pair[1] in even ones, so a body
// names its tables without knowing the round. {Var} is the round's number.
//
// Counting up (Down ""), rounds 1, 2, ... run while {in} holds rows, at
// most Max (0: no bound); afterwards variable Var holds how many ran.
// Progress, when set, is reported after each round with {Var} and {rows}
// (the rows left, counted in Rows: "3 links", "1 link") filled in.
// Counting down (Down a variable's name), rounds run from that variable's
// value down to 1, so the last one writes Pair[0].
type Loop struct {
	Doc      string // how the rounds relate, for the printed plan
	Var      string
	First    string
	Pair     [2]string
	Down     string
	Max      int
	Progress string
	Rows     string // the noun {rows} counts in Progress, singular
	Body     []Node
}

// Retry runs Body with variable Var set to each of Values in turn until a
// run of it is not abandoned (a node of it ran Abandon). Doc says what a
// retry changes; Body is printed once.
type Retry struct {
	Doc    string
	Var    string
	Values []string
	Body   []Node
}

// Try runs Body; when a node of it abandons it (Abandon, or a Go node or
// If condition returning an Abandoned error), Otherwise runs instead, and
// Run.Why says why. Body must leave nothing Otherwise cannot overwrite.
type Try struct {
	Doc             string
	Body, Otherwise []Node
}

// Abandon abandons the innermost Try or Retry attempt running it.
type Abandon struct{ Why string }

// Note is a comment of the printed plan; it runs nothing.
type Note struct{ Text string }

// Set sets a variable of the run (read by If conditions and Var arguments).
type Set struct{ Var, Value string }

// Phase times Body under Name (Run.Phases: the step's "seconds:" line, the
// benchmark's phases).
type Phase struct {
	Name string
	Body []Node
}

// Publish says how the publish step puts a staged table in place: Append
// adds the staged rows to the final table (columns Cols); Apply, when set,
// says the staged name is a view of the final table with the run's changes
// and lists the statements that bring the final table up to date instead
// (a few changed rows are not worth a copy); otherwise the staged table
// replaces the final one. Running it changes nothing: the interpreter
// collects the Publish nodes it reached (Run.Published), and the publish
// step reads them from the steps' Stats.
type Publish struct {
	Table  string
	Cols   string
	Append bool
	Apply  []string
}

// Go is work done in Go between statements, where SQL cannot do it well
// (refining the few clusters over a limit): Doc is printed, and Reads, the
// query it reads when it reads one, with it; Run is executed.
type Go struct {
	Doc   string
	Reads string
	Run   func(ctx context.Context, r *Run) error
}

// Var is a statement argument bound when the statement runs, to the run's
// variable of that name (set by Set, Retry or Go code).
type Var string

func (Exec) node()     {}
func (IfExists) node() {}
func (If) node()       {}
func (Loop) node()     {}
func (Retry) node()    {}
func (Try) node()      {}
func (Abandon) node()  {}
func (Set) node()      {}
func (Note) node()     {}
func (Phase) node()    {}
func (Publish) node()  {}
func (Go) node()       {}

// Abandoned is the error that abandons a Try or Retry attempt.
type Abandoned struct{ Why string }

func (a *Abandoned) Error() string { return "abandoned: " + a.Why }

// Run is one execution of a plan: what its Go parts read and set.
type Run struct {
	WH  dialects.Warehouse
	Ctx *Context
	// Progress reports what the run is doing (nil: nothing).
	Progress Progress
	vars     map[string]string
	rounds   map[string]string // the loop names of the rounds running: {in}, {out}, {r}
	// Published are the Publish nodes reached, in order.
	Published []Publish
	// Phases are the Phase nodes run, with their time.
	Phases []PhaseTime
	// Why is why the last Try's Body was abandoned ("" when it was not).
	Why string
}

// PhaseTime is how long a Phase took.
type PhaseTime struct {
	Name string
	Dur  time.Duration
}

// Var is a variable of the run ("" when unset).
func (r *Run) Var(name string) string { return r.vars[name] }

// Int is a variable of the run read as a number (0 when unset).
func (r *Run) Int(name string) int {
	n, _ := strconv.Atoi(r.vars[name])
	return n
}

// Set sets a variable of the run.
func (r *Run) Set(name, value string) { r.vars[name] = value }

// Say reports progress.
func (r *Run) Say(format string, a ...any) {
	if r.Progress != nil {
		r.Progress(fmt.Sprintf(format, a...))
	}
}

// Exec runs a statement as an Exec node does (for Go nodes).
func (r *Run) Exec(ctx context.Context, st Statement) error {
	return r.exec(ctx, Exec{st})
}

// Expand fills the names of the rounds running in ({in}, {out} and the
// round's number, see Loop) as an Exec does: for the queries of Go code.
func (r *Run) Expand(sql string) string {
	for k, v := range r.rounds {
		sql = strings.ReplaceAll(sql, "{"+k+"}", v)
	}
	return sql
}

// VarIs is an If condition: the run's variable name is value.
func VarIs(name, value string) func(context.Context, *Run) (bool, error) {
	return func(_ context.Context, r *Run) (bool, error) { return r.vars[name] == value, nil }
}

// Execute runs nodes in order in context c, reporting each statement's
// definition through p. The returned Run says what it reached (also on
// error: a caller drops the tables of the rounds that ran).
func Execute(ctx context.Context, wh dialects.Warehouse, c *Context, nodes []Node, p Progress) (*Run, error) {
	r := &Run{WH: wh, Ctx: c, Progress: p, vars: map[string]string{}}
	return r, r.run(ctx, nodes)
}

func (r *Run) run(ctx context.Context, nodes []Node) error {
	for _, n := range nodes {
		if err := r.execute(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (r *Run) exec(ctx context.Context, n Exec) error {
	if r.Progress != nil && n.Def != "" {
		r.Progress(n.Def)
	}
	sql, args := r.Expand(n.SQL), n.Args
	copied := false
	for i, a := range n.Args {
		if v, ok := a.(Var); ok {
			if !copied {
				args, copied = append([]any(nil), n.Args...), true
			}
			args[i] = r.vars[string(v)]
		}
	}
	var trace Trace
	if r.Ctx != nil {
		trace = r.Ctx.Trace
	}
	start, cpu := time.Now(), 0.0
	if trace.on() {
		cpu = CPUSeconds()
	}
	err := r.WH.Exec(ctx, sql, args...)
	if trace.on() {
		trace.Report(sql, time.Since(start), CPUSeconds()-cpu)
	}
	if err != nil {
		return &dialects.StatementError{Def: n.Def, SQL: sql, Err: err}
	}
	return nil
}

func (r *Run) execute(ctx context.Context, n Node) error {
	switch n := n.(type) {
	case Exec:
		return r.exec(ctx, n)
	case IfExists:
		ok, err := r.Ctx.FinalExists(ctx, r.WH, n.Table)
		if err != nil {
			return err
		}
		return r.run(ctx, pick(ok, n.Then, n.Else))
	case If:
		ok, err := n.Cond(ctx, r)
		if err != nil {
			return err
		}
		return r.run(ctx, pick(ok, n.Then, n.Else))
	case Loop:
		return r.loop(ctx, n)
	case Retry:
		var why []string
		for _, v := range n.Values {
			r.vars[n.Var] = v
			err := r.run(ctx, n.Body)
			var a *Abandoned
			if !errors.As(err, &a) {
				return err
			}
			why = append(why, a.Why)
		}
		return fmt.Errorf("%s: every attempt was abandoned (%s)", n.Doc, strings.Join(why, "; "))
	case Try:
		err := r.run(ctx, n.Body)
		var a *Abandoned
		if !errors.As(err, &a) {
			return err
		}
		r.Why = a.Why
		return r.run(ctx, n.Otherwise)
	case Abandon:
		return &Abandoned{Why: n.Why}
	case Set:
		r.vars[n.Var] = n.Value
	case Note:
	case Phase:
		start := time.Now()
		err := r.run(ctx, n.Body)
		r.Phases = append(r.Phases, PhaseTime{n.Name, time.Since(start)})
		return err
	case Publish:
		r.Published = append(r.Published, n)
	case Go:
		return n.Run(ctx, r)
	default:
		return fmt.Errorf("plan: unknown node %T", n)
	}
	return nil
}

func pick(ok bool, then, els []Node) []Node {
	if ok {
		return then
	}
	return els
}

// loop runs a Loop's rounds (see Loop).
func (r *Run) loop(ctx context.Context, n Loop) error {
	outer := r.rounds
	defer func() { r.rounds = outer }()
	in := n.First
	var left int64
	var err error
	first, step := 1, 1
	if n.Down != "" {
		first, step = r.Int(n.Down), -1
	} else if left, err = CountRows(ctx, r.WH, in); err != nil {
		return err
	}
	round := first
	for ran := 0; ; ran++ {
		if n.Down != "" && round < 1 || n.Down == "" && left == 0 {
			return nil
		}
		if n.Max > 0 && ran >= n.Max {
			return fmt.Errorf("%s still has rows after %d rounds", in, n.Max)
		}
		out := n.Pair[(round-1)%2]
		r.rounds = map[string]string{"in": in, "out": out, n.Var: strconv.Itoa(round)}
		for k, v := range outer {
			if _, own := r.rounds[k]; !own {
				r.rounds[k] = v
			}
		}
		r.vars[n.Var] = strconv.Itoa(round)
		if err := r.run(ctx, n.Body); err != nil {
			return err
		}
		in = out
		if n.Down == "" {
			if left, err = CountRows(ctx, r.WH, in); err != nil {
				return err
			}
			if n.Progress != "" {
				r.Say("%s", strings.NewReplacer("{"+n.Var+"}", strconv.Itoa(round), "{rows}", Count(left, n.Rows)).Replace(n.Progress))
			}
		}
		round += step
	}
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
		case If:
			b.WriteString(Comment("if " + n.Doc + ":"))
			b.WriteString("\n")
			printNodes(b, n.Then)
			if len(n.Else) > 0 {
				b.WriteString("-- otherwise:\n\n")
				printNodes(b, n.Else)
			}
			b.WriteString("-- end if\n\n")
		case Loop:
			b.WriteString(Comment(n.Doc))
			v := "{" + n.Var + "}"
			if n.Down != "" {
				fmt.Fprintf(b, "-- repeat for %s from %s down to 1, {in} being %s in the first round, then the round before's {out};\n", v, n.Down, n.First)
			} else {
				bound := ""
				if n.Max > 0 {
					bound = fmt.Sprintf(", at most %d rounds", n.Max)
				}
				fmt.Fprintf(b, "-- repeat for %s = 1, 2, ... while {in} has rows%s, {in} being %s in round 1, then the round before's {out};\n", v, bound, n.First)
			}
			fmt.Fprintf(b, "-- {out} is %s when %s is odd, %s when even:\n\n", n.Pair[0], v, n.Pair[1])
			printNodes(b, n.Body)
			b.WriteString("-- end repeat\n\n")
		case Retry:
			b.WriteString(Comment(n.Doc))
			fmt.Fprintf(b, "-- try with %s = %s in turn, until an attempt is not abandoned:\n\n", n.Var, quoteList(n.Values))
			printNodes(b, n.Body)
			b.WriteString("-- end try\n\n")
		case Try:
			b.WriteString(Comment("try: " + n.Doc))
			b.WriteString("\n")
			printNodes(b, n.Body)
			b.WriteString("-- if that was abandoned, instead:\n\n")
			printNodes(b, n.Otherwise)
			b.WriteString("-- end try\n\n")
		case Abandon:
			b.WriteString(Comment("abandon: " + n.Why))
			b.WriteString("\n")
		case Set:
			fmt.Fprintf(b, "-- set %s = '%s'\n\n", n.Var, n.Value)
		case Note:
			b.WriteString(Comment(n.Text))
		case Phase:
			printNodes(b, n.Body)
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
			if n.Reads != "" {
				b.WriteString("-- reading:\n")
				b.WriteString(Comment(n.Reads))
			}
			b.WriteString("\n")
		}
	}
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, ", ")
}

// Publishes are the Publish nodes of a plan in the order a run that takes
// every first branch (every run but the first, an attempt not abandoned)
// reaches them: the publication compile prints.
func Publishes(nodes []Node) []Publish {
	var out []Publish
	for _, n := range nodes {
		switch n := n.(type) {
		case Publish:
			out = append(out, n)
		case IfExists:
			out = append(out, Publishes(n.Then)...)
		case If:
			out = append(out, Publishes(n.Then)...)
		case Try:
			out = append(out, Publishes(n.Body)...)
		case Loop:
			out = append(out, Publishes(n.Body)...)
		case Retry:
			out = append(out, Publishes(n.Body)...)
		case Phase:
			out = append(out, Publishes(n.Body)...)
		}
	}
	return out
}
