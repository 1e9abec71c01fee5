package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// Part is one stage of a run that `cohort run --only` can select.
type Part struct {
	Name  string
	Steps func(c *plan.Context) ([]plan.Step, error)
	// Reads are the output tables of the parts before it that it reads:
	// run --only NAME reads them as the last run left them, so they must
	// exist.
	Reads []string
}

// Options shape one compile or run.
type Options struct {
	Only        string    // "" (everything) or a Part name
	FullRefresh bool      // identity rebuilds from scratch
	Now         time.Time // the run's clock; zero means time.Now()
	RunID       string    // names the run's staged tables; "" draws a random one
	Trace       plan.Trace
	Progress    func(Event)
	// Lease is the run's lease on LeaseKey(project), taken by the caller
	// (before it opened a warehouse that allows one process only); nil:
	// Run takes it itself, without waiting.
	Lease *state.Lease
	// Suppressed is the suppression list (plan.Context.Suppressed).
	Suppressed []string
}

// LeaseKey is the state store lease that every process changing a
// project's output (a run, a sync) holds while it does: they never
// interleave.
func LeaseKey(project string) string { return "project:" + project }

// Event is progress reported while a run executes.
type Event struct {
	Step    string
	Message string
	Elapsed time.Duration // since the step started
	Done    bool          // the step finished
}

// Plan is a compiled run: the ordered steps and the context they were compiled in.
type Plan struct {
	Ctx   *plan.Context
	Steps []plan.Step
	// Dead reports whether the run with this id is known to have ended;
	// Execute drops the scratch tables such runs left behind (a crash), and
	// never those of other runs. Nil: none is known.
	Dead func(runID string) bool
}

// Compile turns a validated project into the plan of a run for one dialect.
func Compile(p *models.Project, d dialects.Dialect, parts []Part, o Options) (*Plan, error) {
	selected, err := selectParts(parts, o.Only)
	if err != nil {
		return nil, err
	}
	loc := time.UTC
	if p.Timezone != "" {
		l, err := time.LoadLocation(p.Timezone)
		if err != nil {
			return nil, fmt.Errorf("timezone %q: %w", p.Timezone, err)
		}
		loc = l
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	runID := o.RunID
	if runID == "" {
		runID = newRunID()
	}
	c := &plan.Context{
		Project: p, Dialect: d, Schema: p.Warehouse.Schema,
		Now: now.In(loc), Loc: loc, RunID: runID, FullRefresh: o.FullRefresh,
		Building: map[string]bool{}, Trace: o.Trace, Suppressed: o.Suppressed,
	}
	// Two passes: the first learns which tables the selected parts stage,
	// the second compiles every step knowing which inputs are staged.
	var steps []plan.Step
	for pass := 0; pass < 2; pass++ {
		steps = steps[:0]
		for _, part := range selected {
			s, err := part.Steps(c)
			if err != nil {
				return nil, fmt.Errorf("compile %s: %w", part.Name, err)
			}
			steps = append(steps, s...)
		}
		for _, s := range steps {
			for _, t := range s.Outputs() {
				c.Building[t] = true
			}
		}
	}
	return &Plan{Ctx: c, Steps: steps}, nil
}

func selectParts(parts []Part, only string) ([]Part, error) {
	if only == "" {
		return parts, nil
	}
	var names []string
	for _, p := range parts {
		if p.Name == only {
			return []Part{p}, nil
		}
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("--only %q: unknown part (one of %s)", only, strings.Join(names, ", "))
}

// NewRunID draws a run id (hex, usable in a table name), for a caller that
// must know it before the run starts (RunOptions.ID).
func NewRunID() string { return newRunID() }

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Outputs lists the public tables the plan replaces, sorted.
func (pl *Plan) Outputs() []string {
	var out []string
	for t := range pl.Ctx.Building {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// replacements are the swaps of the publish step, as the Publish nodes
// pubs say.
func (pl *Plan) replacements(pubs []plan.Publish) []dialects.Replace {
	return pl.Ctx.Replacements(pl.Outputs(), pubs)
}

// publishes are the Publish nodes of the steps' plans that a run taking
// every first branch (every run but the first) reaches: the publication
// compile prints.
func (pl *Plan) publishes() []plan.Publish {
	var pubs []plan.Publish
	for _, s := range pl.Steps {
		if p, ok := s.(plan.Planned); ok {
			pubs = append(pubs, plan.Publishes(p.Plan())...)
		}
	}
	return pubs
}

// SQL is the whole run as a data engineer reads it.
func (pl *Plan) SQL() string {
	c := pl.Ctx
	var b strings.Builder
	fmt.Fprintf(&b, "-- Cohort run of project %q for %s, output schema %q.\n", c.Project.Name, c.Dialect.Name(), c.Schema)
	fmt.Fprintf(&b, "-- Tables are built under *__stage_%s names and published by the last statements.\n\n", c.RunID)
	b.WriteString(c.Dialect.CreateSchema(c.Schema) + ";\n\n")
	for _, s := range pl.Steps {
		fmt.Fprintf(&b, "-- ==== step: %s ====\n", s.Name())
		b.WriteString(s.SQL())
		b.WriteString("\n")
	}
	if c.Dialect.Capabilities().AtomicPublish {
		b.WriteString("-- ==== publish: replace every output table in one transaction ====\n")
	} else {
		b.WriteString("-- ==== publish: replace the output tables one transaction after another ====\n")
	}
	b.WriteString(pl.publishSQL())
	if ix := pl.indexSQL(); ix != "" {
		b.WriteString("\n-- ==== index: the published tables, for the profile look-up ====\n")
		b.WriteString(ix)
	}
	return b.String()
}

// publishSQL is the publish step: the transactions that put the staged
// tables in place.
func (pl *Plan) publishSQL() string {
	var b strings.Builder
	b.WriteString("-- (as on every run but the first: where a step's plan chooses otherwise, its publish comments say how)\n")
	for _, tx := range pl.Ctx.Dialect.Publish(pl.replacements(pl.publishes())) {
		b.WriteString("BEGIN;\n")
		for _, st := range tx {
			b.WriteString(st + ";\n")
		}
		b.WriteString("COMMIT;\n")
	}
	return b.String()
}

// indexSQL is the index step after the publish, "" when there is none.
func (pl *Plan) indexSQL() string {
	var b strings.Builder
	for _, st := range indexStatements(pl) {
		b.WriteString(st.sql + ";\n")
	}
	return b.String()
}

// CompiledRun is the SQL of a run for programs (compile --json): what SQL
// prints, step by step.
type CompiledRun struct {
	Project string `json:"project"`
	Dialect string `json:"dialect"`
	Schema  string `json:"schema"`
	RunID   string `json:"run_id"` // in the staged tables' names (*__stage_RUNID)
	// AtomicPublish: the publish step replaces every output table in one
	// transaction; otherwise one transaction after another.
	AtomicPublish bool           `json:"atomic_publish"`
	Outputs       []string       `json:"outputs"`
	Steps         []CompiledStep `json:"steps"`
}

// CompiledStep is one step's SQL: "schema" (creates the output schema),
// each step of the plan by name, "publish", and "index" when the published
// tables get indexes.
type CompiledStep struct {
	Step string `json:"step"`
	SQL  string `json:"sql"`
}

// Compiled is the run's SQL, step by step.
func (pl *Plan) Compiled() *CompiledRun {
	c := pl.Ctx
	r := &CompiledRun{Project: c.Project.Name, Dialect: c.Dialect.Name(), Schema: c.Schema, RunID: c.RunID,
		AtomicPublish: c.Dialect.Capabilities().AtomicPublish, Outputs: pl.Outputs()}
	r.Steps = append(r.Steps, CompiledStep{"schema", c.Dialect.CreateSchema(c.Schema) + ";\n"})
	for _, s := range pl.Steps {
		r.Steps = append(r.Steps, CompiledStep{s.Name(), s.SQL()})
	}
	r.Steps = append(r.Steps, CompiledStep{"publish", pl.publishSQL()})
	if ix := pl.indexSQL(); ix != "" {
		r.Steps = append(r.Steps, CompiledStep{"index", ix})
	}
	return r
}

// StepError says which step of a run failed.
type StepError struct {
	Step string
	Err  error
	// Partial: the publish step failed on a warehouse that publishes table
	// by table, so some tables may already be the new run's.
	Partial bool
}

func (e *StepError) Error() string {
	if e.Partial {
		return fmt.Sprintf("step %s failed: %v\nSome output tables may already be the new run's, others the previous run's: run again to publish them all.", e.Step, e.Err)
	}
	return fmt.Sprintf("step %s failed: %v\nThe previous output tables are unchanged.", e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Result is what a finished run did.
type Result struct {
	RunID   string             `json:"run_id"`
	Steps   []state.StepRecord `json:"steps"`
	Elapsed time.Duration      `json:"elapsed_ns"`
	Report  *Report            `json:"-"` // with RunOptions.Report
}

// PublishStep is the name of a run's last step, which puts the staged
// tables in place of the public ones.
const PublishStep = "publish"

// Execute runs the plan: every step against staged tables, then the
// dialect's publication of them (one transaction where it can). On failure the staged and scratch
// tables of this run are dropped and the previous output is untouched.
func Execute(ctx context.Context, wh dialects.Warehouse, pl *Plan, progress func(Event)) (*Result, error) {
	if progress == nil {
		progress = func(Event) {}
	}
	c := pl.Ctx
	start := time.Now()
	res := &Result{RunID: c.RunID}
	defer dropScratch(context.WithoutCancel(ctx), wh, c, func(id string) bool { return id == c.RunID })
	if err := wh.Exec(ctx, c.Dialect.CreateSchema(c.Schema)); err != nil {
		return res, &StepError{Step: "schema", Err: err}
	}
	if pl.Dead != nil {
		dropScratch(ctx, wh, c, pl.Dead)
	}
	var pubs []plan.Publish
	for _, s := range pl.Steps {
		stepStart := time.Now()
		progress(Event{Step: s.Name(), Message: "started"})
		stats, err := s.Run(ctx, wh, func(msg string) {
			progress(Event{Step: s.Name(), Message: msg, Elapsed: time.Since(stepStart)})
		})
		rec := state.StepRecord{Name: s.Name(), StartedAt: stepStart, Seconds: time.Since(stepStart).Seconds(), Rows: stats.Rows, Details: stats.Details, Jobs: dialects.TakeJobs(wh)}
		if err != nil {
			rec.Error = err.Error()
			res.Steps = append(res.Steps, rec)
			res.Elapsed = time.Since(start)
			return res, &StepError{Step: s.Name(), Err: err}
		}
		res.Steps = append(res.Steps, rec)
		pubs = append(pubs, stats.Publish...)
		progress(Event{Step: s.Name(), Message: "done", Elapsed: time.Since(stepStart), Done: true})
	}
	pubStart := time.Now()
	if err := dialects.Publish(ctx, wh, pl.replacements(pubs)); err != nil {
		res.Elapsed = time.Since(start)
		// a publication of several transactions may have committed some
		partial := !c.Dialect.Capabilities().AtomicPublish
		return res, &StepError{Step: PublishStep, Err: err, Partial: partial}
	}
	res.Steps = append(res.Steps, state.StepRecord{Name: PublishStep, StartedAt: pubStart, Seconds: time.Since(pubStart).Seconds()})
	// the run is published: an index that failed is in the step's record
	// (`cohort runs`), and look-ups read whole tables until the next run
	if rec := indexOutputs(ctx, wh, pl, progress); rec.Seconds > 0 || rec.Error != "" {
		res.Steps = append(res.Steps, rec)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// dropScratch drops the schema's staged and scratch tables (and staged
// views) of the runs drop selects by id: this run's own at its end, and at
// its start those of runs known dead (runs of a project never overlap: they
// hold its lease; tables of runs this state store does not know, such as
// another project's sharing the schema, are left alone).
func dropScratch(ctx context.Context, wh dialects.Warehouse, c *plan.Context, drop func(runID string) bool) {
	for _, marker := range []string{"__stage_", "_work_"} {
		tables, err := wh.Tables(ctx, c.Schema, marker)
		if err != nil {
			continue
		}
		for _, views := range []bool{true, false} { // views first: they read the tables
			for _, t := range tables {
				n, view := t.Name, t.View
				scratch := strings.Contains(n, "__stage_") || strings.HasPrefix(n, "_work_")
				if view != views || !scratch || !drop(n[strings.LastIndexByte(n, '_')+1:]) {
					continue
				}
				if view {
					_ = wh.Exec(ctx, dialects.DropView(c.Dialect.Quote(c.Schema, n)))
				} else {
					_ = wh.Exec(ctx, c.Dialect.DropTable(c.Dialect.Quote(c.Schema, n)))
				}
			}
		}
	}
}

// Run compiles and executes a run and records it in the state store. With a
// store, the run holds the project's lease (o.Lease, or one it takes), and
// stops if it loses it; runs still recorded as running are then known
// dead: they are marked failed (abandoned) and their leftovers dropped. A
// run whose ctx ends is recorded as cancelled.
func Run(ctx context.Context, p *models.Project, wh dialects.Warehouse, store *state.Store, parts []Part, o Options) (*Result, error) {
	pl, err := Compile(p, wh.Dialect(), parts, o)
	if err != nil {
		return nil, err
	}
	if err := requireReads(ctx, wh, pl.Ctx, parts, o.Only); err != nil {
		return nil, err
	}
	rec := &state.Run{ID: pl.Ctx.RunID, Project: p.Name, Warehouse: wh.Dialect().Name(), Only: o.Only, StartedAt: time.Now()}
	runCtx := ctx
	if store != nil {
		lease := o.Lease
		if lease == nil {
			if lease, err = store.Acquire(ctx, LeaseKey(p.Name), "cohort run", 0); err != nil {
				return nil, err
			}
			defer lease.Release(context.WithoutCancel(ctx))
		}
		var cancel context.CancelCauseFunc
		runCtx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			select {
			case <-lease.Lost():
				cancel(state.ErrLeaseLost)
			case <-runCtx.Done():
			}
		}()
		if _, err := store.AbandonRuns(ctx, p.Name, rec.ID); err != nil {
			return nil, err
		}
		known, err := store.RunIDs(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		pl.Dead = func(id string) bool { return id != rec.ID && known[id] }
		if err := store.StartRun(ctx, rec); err != nil {
			return nil, err
		}
	}
	progress := o.Progress
	if store != nil {
		progress = recordProgress(runCtx, store, rec.ID, o.Progress)
	}
	res, runErr := Execute(runCtx, wh, pl, progress)
	if store != nil {
		fin := time.Now()
		rec.FinishedAt, rec.Steps, rec.Status = &fin, res.Steps, state.Succeeded
		if runErr != nil {
			rec.Status, rec.Error = state.Failed, runErr.Error()
			if runCtx.Err() != nil {
				rec.Status, rec.Error = state.Cancelled, context.Cause(runCtx).Error()
			}
			var se *StepError
			if errors.As(runErr, &se) {
				rec.FailedStep = se.Step
			}
		}
		if err := store.FinishRun(context.WithoutCancel(ctx), rec); err != nil && runErr == nil {
			return res, err
		}
	}
	if runErr != nil && runCtx.Err() != nil {
		return res, &CancelledError{RunID: rec.ID, Cause: context.Cause(runCtx), Err: runErr}
	}
	return res, runErr
}

// requireReads fails a run of one part (--only) when a table it reads
// from the parts before it is not there, as on a project that never ran:
// the warehouse's own error would name the table in every statement.
func requireReads(ctx context.Context, wh dialects.Warehouse, c *plan.Context, parts []Part, only string) error {
	for _, p := range parts {
		if only == "" || p.Name != only {
			continue
		}
		for _, t := range p.Reads {
			if err := c.RequireFinal(ctx, wh, t); err != nil {
				return fmt.Errorf("%w (run --only %s reads it as the last run left it)", err, only)
			}
		}
	}
	return nil
}

// recordProgress passes a run's events on to next and records in the state
// store, as each step starts and ends, the steps done and the one under
// way: GET /api/v1/runs/{id} shows a run's progress from any process.
// A progress that cannot be recorded does not stop the run.
func recordProgress(ctx context.Context, store *state.Store, id string, next func(Event)) func(Event) {
	var steps []state.StepRecord
	return func(ev Event) {
		if next != nil {
			next(ev)
		}
		n := len(steps)
		switch {
		case ev.Message == "started":
			steps = append(steps, state.StepRecord{Name: ev.Step, StartedAt: time.Now(), Running: true})
		case ev.Done && n > 0 && steps[n-1].Name == ev.Step:
			steps[n-1].Running, steps[n-1].Seconds = false, ev.Elapsed.Seconds()
		default:
			return
		}
		_ = store.RecordProgress(context.WithoutCancel(ctx), id, steps)
	}
}

// CancelledError is a run stopped before its end (a signal, a lost lease):
// what it built was dropped and the previous output is unchanged.
type CancelledError struct {
	RunID string
	Cause error // why: context.Cause of the run's context
	Err   error // the step's error
}

func (e *CancelledError) Error() string {
	return fmt.Sprintf("run %s cancelled (%v): the tables it built were dropped; the previous output tables are unchanged", e.RunID, e.Cause)
}

func (e *CancelledError) Unwrap() error { return e.Cause }
