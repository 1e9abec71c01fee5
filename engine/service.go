package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/demo"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// Service is the engine's one face: the command line, and later the API and
// the scheduler, call its methods and nothing below it. It holds one loaded
// project; the warehouse and the state store are opened on first use (or
// handed in, as tests and the API do) and closed by Close.
//
// Sync and Forget join Compile, Run, Preview ... here as methods when the
// sync engine (engine/sync) and the consent planner (engine/consent) land.
type Service struct {
	Project *models.Project
	// Warehouse is the project's warehouse; nil opens it on first use.
	Warehouse dialects.Warehouse
	// Store records runs; nil opens the project's `state:` on first use.
	Store *state.Store
	// Clock is "now" for runs and previews; nil is the wall clock.
	Clock func() time.Time
	// Logger receives what the engine has to say outside a result; nil discards it.
	Logger *slog.Logger
	// Options are the settings every run of this service shares.
	Options ServiceOptions

	mu     sync.Mutex
	closed []io.Closer // what the service opened itself
	own    *handles    // the warehouse it opens itself, when none was handed in
}

// ServiceOptions configure a Service from outside (flags, environment):
// the engine reads no environment variable itself.
type ServiceOptions struct {
	// Trace reports the slow statements of a run (COHORT_TRACE).
	Trace Trace
	// RunID, when set, names the next run instead of a random id (tests).
	RunID string
	// ReadIdle closes the read-only handle of an embedded warehouse file
	// after that long without a read, so that another process may write
	// to it (`cohort serve`); 0 keeps it open until Close.
	ReadIdle time.Duration
}

// Trace is where and how a run reports its slow statements.
type Trace = plan.Trace

// NewService is a service over a loaded, validated project.
func NewService(p *models.Project, o ServiceOptions) *Service {
	return &Service{Project: p, Options: o}
}

// Close closes the warehouse and store the service opened itself.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i := len(s.closed) - 1; i >= 0; i-- {
		errs = append(errs, s.closed[i].Close())
	}
	s.closed = nil
	return errors.Join(errs...)
}

func (s *Service) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// OpenWarehouse connects to the warehouse p's `warehouse:` names (creating
// an embedded one that does not exist yet).
func OpenWarehouse(ctx context.Context, p *models.Project) (dialects.Warehouse, error) {
	return openWarehouse(ctx, p, true)
}

func openWarehouse(ctx context.Context, p *models.Project, create bool) (dialects.Warehouse, error) {
	return openWarehouseMode(ctx, p, false, create, false)
}

func openWarehouseMode(ctx context.Context, p *models.Project, readOnly, create, small bool) (dialects.Warehouse, error) {
	w := p.Warehouse
	return dialects.Open(ctx, w.Type, dialects.Config{
		Dir: p.Dir, Path: w.Path, DSN: w.DSN, Project: w.Project, Location: w.Location,
		MemoryLimit: w.MemoryLimit, Threads: w.Threads, SmallMemory: small, MustExist: !create, ReadOnly: readOnly, Schema: w.Schema,
		Account: w.Account, User: w.User, PrivateKeyPath: w.PrivateKeyPath, Role: w.Role, Database: w.Database,
		Compute: w.Compute, QueryTag: w.QueryTag, MaxBytesBilled: w.MaximumBytesBilled, Endpoint: w.Endpoint,
	})
}

// handles are the warehouse handles the service opens itself (see handles).
func (s *Service) handles() (*handles, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.own == nil {
		drv, err := dialects.Lookup(s.Project.Warehouse.Type)
		if err != nil {
			return nil, err
		}
		p := s.Project
		s.own = newHandles(drv.Dialect, s.Options.ReadIdle, func(ctx context.Context, o openMode) (dialects.Warehouse, error) {
			if o.small {
				return openWarehouseMode(ctx, forSync(p), o.readOnly, o.create, true)
			}
			return openWarehouseMode(ctx, p, o.readOnly, o.create, false)
		})
		s.closed = append(s.closed, s.own)
	}
	return s.own, nil
}

// warehouse is the project's warehouse for reading, opened on first use
// (read-only where the warehouse is a file one writer holds alone). Only a
// run and init (the demo) create an embedded warehouse that does not
// exist: validate and the read commands say it is missing instead.
func (s *Service) warehouse(ctx context.Context) (dialects.Warehouse, error) {
	if s.Warehouse != nil {
		return s.Warehouse, nil
	}
	h, err := s.handles()
	if err != nil {
		return nil, err
	}
	if _, err := h.acquire(ctx); err != nil { // say now when it cannot be opened
		return nil, err
	}
	h.release()
	return reads{h}, nil
}

// ReadWarehouse is the warehouse as the service reads it (tests, tools):
// on an embedded file, through its read-only handle.
func (s *Service) ReadWarehouse(ctx context.Context) (dialects.Warehouse, error) {
	return s.warehouse(ctx)
}

// writer is the project's warehouse opened read-write for one write (a
// run, a sync, a forget), with the function ending it: on an embedded
// file the service then lets go of it, so that other processes can open it.
func (s *Service) writer(ctx context.Context, create bool) (dialects.Warehouse, func(), error) {
	if s.Warehouse != nil {
		return s.Warehouse, func() {}, nil
	}
	h, err := s.handles()
	if err != nil {
		return nil, nil, err
	}
	return h.write(ctx, create, false)
}

// openWarehouse is the warehouse opened read-write until Close, for the
// one-shot commands that write outside a run (the demo's tables).
func (s *Service) openWarehouse(ctx context.Context, create bool) (dialects.Warehouse, error) {
	wh, done, err := s.writer(ctx, create)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.closed = append(s.closed, closerFunc(done))
	s.mu.Unlock()
	return wh, nil
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

// store is the project's state store, opened on first use.
func (s *Service) store(ctx context.Context) (*state.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Store == nil {
		st, err := state.Open(ctx, s.Project.Dir, s.Project.State)
		if err != nil {
			return nil, err
		}
		s.Store = st
		s.closed = append(s.closed, st)
	}
	return s.Store, nil
}

// Validate checks that every table and column the project reads exists in
// the warehouse (the YAML itself was validated when it was loaded).
func (s *Service) Validate(ctx context.Context) error {
	wh, err := s.warehouse(ctx)
	if err != nil {
		return err
	}
	return models.CheckWarehouse(ctx, s.Project, Catalog(wh))
}

// Warnings is advice on the warehouse's set-up that does not stop a run (a
// BigQuery dataset outside the EU, a source read incrementally without an
// index on its timestamp).
func (s *Service) Warnings(ctx context.Context) []string {
	wh, err := s.warehouse(ctx)
	if err != nil {
		return nil
	}
	w := dialects.Warnings(ctx, wh)
	idx, err := identity.Warnings(ctx, wh, s.Project)
	if err != nil {
		idx = append(idx, "cannot tell whether the sources' timestamps are indexed: "+err.Error())
	}
	return append(w, idx...)
}

// KeyWarnings reads each source that names a primary_key and warns of keys
// that more than one row holds, or rows without one (validate --strict).
// Each such row still counts as evidence for identity, so a repeated key
// is often an export that appends where it should replace. It scans every
// such source once.
func (s *Service) KeyWarnings(ctx context.Context) ([]string, error) {
	wh, err := s.warehouse(ctx)
	if err != nil {
		return nil, err
	}
	d := wh.Dialect()
	var out []string
	for _, src := range s.Project.Sources {
		if src == nil || src.PrimaryKey == "" {
			continue
		}
		key := d.Quote(src.PrimaryKey)
		var rows, keyed, keys int64
		q := "SELECT count(*), count(" + key + "), count(DISTINCT " + key + ") FROM " + plan.Relation(d, src) + " s"
		if err := plan.QueryRow(ctx, wh, q, nil, &rows, &keyed, &keys); err != nil {
			return out, fmt.Errorf("source %s: reading its primary_key %s: %w", src.Name, src.PrimaryKey, err)
		}
		var problems []string
		if keyed > keys {
			problems = append(problems, fmt.Sprintf("%s of %s rows repeat a key another row holds", plan.Thousands(keyed-keys), plan.Thousands(rows)))
		}
		if rows > keyed {
			problems = append(problems, fmt.Sprintf("%s of %s rows have no key", plan.Thousands(rows-keyed), plan.Thousands(rows)))
		}
		if len(problems) > 0 {
			out = append(out, fmt.Sprintf("%s: source %s: primary_key %s is not a key: %s; each row still counts as evidence",
				src.Pos, src.Name, src.PrimaryKey, strings.Join(problems, ", and ")))
		}
	}
	return out, nil
}

// CompileOptions choose what Compile prints.
type CompileOptions struct {
	Dialect string // a registered dialect; "" is the project's warehouse type
	Only    string // "" (everything) or a part of DefaultParts
}

// Dialects are the names of the registered dialects, sorted: what compile
// takes, and a project's warehouse.type.
func Dialects() []string { return dialects.Names() }

// Compile is the plan of a run for any registered dialect, without a
// warehouse. Once someone was forgotten it reads each source without their
// rows, as the next run will: the suppression list comes from the state
// store (one that does not exist yet holds none).
func (s *Service) Compile(ctx context.Context, o CompileOptions) (*Plan, error) {
	name := o.Dialect
	if name == "" {
		name = s.Project.Warehouse.Type
	}
	drv, err := dialects.Lookup(name)
	if err != nil {
		return nil, &UnknownError{err}
	}
	ro := s.runOptions(RunOptions{Only: o.Only})
	if s.Store != nil || state.Exists(s.Project.Dir, s.Project.State) {
		store, err := s.store(ctx)
		if err != nil {
			return nil, err
		}
		if ro.Suppressed, err = store.Suppressions(ctx, s.Project.Name); err != nil {
			return nil, err
		}
	}
	return Compile(s.Project, drv.Dialect, DefaultParts, ro)
}

// RunOptions shape one run.
type RunOptions struct {
	Only        string // "" (everything) or a part of DefaultParts
	FullRefresh bool   // identity rebuilds from scratch
	ID          string // names the run; "" draws one (NewRunID)
	Progress    func(Event)
	// Waiting, when set, makes a run wait while another process holds the
	// project's lease (instead of failing), and hears whom it waits for.
	Waiting func(*state.HeldError)
	// Report asks for the run's Report (Result.Report), read under the
	// run's lease: a process waiting for the lease would otherwise find the
	// warehouse file opened again for the report.
	Report bool
}

func (s *Service) runOptions(o RunOptions) Options {
	id := o.ID
	if id == "" {
		id = s.Options.RunID
	}
	return Options{Only: o.Only, FullRefresh: o.FullRefresh, Now: s.now(), RunID: id,
		Trace: s.Options.Trace, Progress: o.Progress}
}

// Run checks the warehouse, builds the output tables and records the run in
// the state store. It holds the project's lease (LeaseKey) throughout,
// taken before the warehouse is opened (a DuckDB file admits one process):
// when another process holds it, Run fails with a *BusyError, or waits
// with o.Waiting.
func (s *Service) Run(ctx context.Context, o RunOptions) (*Result, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	key := LeaseKey(s.Project.Name)
	var lease *state.Lease
	if o.Waiting != nil {
		lease, err = store.AcquireWait(ctx, key, "cohort run", 0, o.Waiting)
	} else {
		lease, err = store.Acquire(ctx, key, "cohort run", 0)
	}
	var held *state.HeldError
	if errors.As(err, &held) {
		return nil, &BusyError{Project: s.Project.Name, Held: held, Loc: s.Project.Location()}
	}
	if err != nil {
		return nil, err
	}
	defer lease.Release(context.WithoutCancel(ctx))
	wh, done, err := s.writer(ctx, true)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := models.CheckWarehouse(ctx, s.Project, Catalog(wh)); err != nil {
		return nil, err
	}
	ro := s.runOptions(o)
	ro.Lease = lease
	if ro.Suppressed, err = s.forgetPending(ctx, wh, store, ForgetOptions{}); err != nil {
		return nil, err
	}
	proj, err := s.project(ctx) // segments saved from the UI are built too
	if err != nil {
		return nil, err
	}
	res, err := Run(ctx, proj, wh, store, DefaultParts, ro)
	if err != nil {
		return nil, err
	}
	s.logger().Info("run finished", "run_id", res.RunID, "elapsed", res.Elapsed)
	if o.Report {
		pl, err := Compile(s.Project, wh.Dialect(), nil, s.runOptions(RunOptions{}))
		if err != nil {
			return nil, err
		}
		if res.Report, err = s.report(ctx, wh, pl.Ctx); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// BusyError says another process holds the project's lease.
type BusyError struct {
	Project string
	Held    *state.HeldError
	Loc     *time.Location // the project's timezone, for the holder's start
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("project %s is busy: %s is working on it; wait for it to end, or pass --wait", e.Project, Holder(e.Held.By, e.Loc))
}

// Holder is who holds a project's lease, for people: what, which process
// on which host, and since when in loc ("cohort run (pid 4242 on host1,
// since 2026-11-23 11:00:01 CET)").
func Holder(h state.LeaseHolder, loc *time.Location) string {
	return fmt.Sprintf("%s (pid %d on %s, since %s)", h.Holder, h.PID, h.Host, ShowTime(h.AcquiredAt, loc))
}

func (e *BusyError) Unwrap() error { return e.Held }

// Runs is the run history, newest first.
func (s *Service) Runs(ctx context.Context, limit int) ([]state.Run, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	return store.Runs(ctx, limit)
}

// reader is the warehouse with a plan context that reads the final output
// tables, for previews and lookups.
func (s *Service) reader(ctx context.Context) (dialects.Warehouse, *plan.Context, error) {
	wh, err := s.warehouse(ctx)
	if err != nil {
		return nil, nil, err
	}
	pl, err := Compile(s.Project, wh.Dialect(), nil, s.runOptions(RunOptions{}))
	if err != nil {
		return nil, nil, err
	}
	return wh, pl.Ctx, nil
}

// Report is what the output schema holds after a run, with identity's
// accuracy against the demo's truth for a demo project (nil otherwise).
type Report struct {
	Summary  *Summary                 `json:"summary"`
	Accuracy *identity.AccuracyReport `json:"accuracy"`
}

// Summarize counts the output tables; on a demo project it also measures
// identity resolution against the generator's truth.
func (s *Service) Summarize(ctx context.Context) (*Report, error) {
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	return s.report(ctx, wh, c)
}

// report is Summarize on an open warehouse.
func (s *Service) report(ctx context.Context, wh dialects.Warehouse, c *plan.Context) (*Report, error) {
	sum, err := Summarize(ctx, wh, c)
	if err != nil {
		return nil, err
	}
	rep := &Report{Summary: sum}
	if demo.IsProject(s.Project) {
		if rep.Accuracy, err = identity.Accuracy(ctx, wh, c); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// Segment is the saved segment of that name, or an error with a suggestion.
func (s *Service) Segment(name string) (*models.Segment, error) { return segmentOf(s.Project, name) }

// segmentOf is p's segment name, or an UnknownError suggesting the nearest.
func segmentOf(p *models.Project, name string) (*models.Segment, error) {
	if seg := p.Segment(name); seg != nil {
		return seg, nil
	}
	var names []string
	for _, sg := range p.Segments {
		names = append(names, sg.Name)
	}
	return nil, &UnknownError{fmt.Errorf("unknown segment %q%s", name, models.Suggest(name, names, "segment"))}
}

// UnknownError is a request naming something the project does not have:
// bad usage, not a failure of the work.
type UnknownError struct{ Err error }

func (e *UnknownError) Error() string { return e.Err.Error() }
func (e *UnknownError) Unwrap() error { return e.Err }

// ParseSegment reads an unsaved segment definition (YAML or JSON, as the UI
// sends it) and validates it against the project.
func (s *Service) ParseSegment(data []byte) (*models.Segment, error) {
	seg, err := models.ParseSegment(data)
	if err != nil {
		return nil, err
	}
	if err := models.ValidateSegment(s.Project, seg); err != nil {
		return nil, err
	}
	return seg, nil
}

// PreviewOptions shape a preview.
type PreviewOptions = segments.PreviewOptions

// Preview counts a segment (saved or not), its change since the last run,
// its holdout and a sample of members.
func (s *Service) Preview(ctx context.Context, seg *models.Segment, o PreviewOptions) (*segments.PreviewResult, error) {
	var names []string
	for _, t := range s.Project.Traits {
		names = append(names, t.Name)
	}
	for _, t := range o.Traits {
		if s.Project.Trait(t) == nil {
			return nil, &UnknownError{fmt.Errorf("unknown trait %q%s", t, models.Suggest(t, names, "trait"))}
		}
	}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.RequireFinal(ctx, wh, profiles.Table); err != nil {
		return nil, err
	}
	if s.Project.Segment(seg.Name) != seg { // unsaved: its operands against the traits' kinds in the warehouse
		if err := models.CheckSegmentKinds(ctx, s.Project, seg, Catalog(wh), c.Schema+"."+profiles.Table); err != nil {
			return nil, err
		}
	}
	return segments.Preview(ctx, wh, c, seg, o)
}

// Overlap sizes two or three saved segments (YAML or UI) and each intersection.
func (s *Service) Overlap(ctx context.Context, names []string) (*segments.OverlapResult, error) {
	var segs []*models.Segment
	for _, n := range names {
		seg := s.Project.Segment(n)
		if seg == nil { // saved from the UI
			info, err := s.FindSegment(ctx, n)
			if err != nil {
				return nil, err
			}
			seg = info.Definition
		}
		segs = append(segs, seg)
	}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.RequireFinal(ctx, wh, profiles.Table); err != nil {
		return nil, err
	}
	return segments.Overlap(ctx, wh, c, segs)
}

// Person is one profile: its identifiers from identity, the rest from profiles.
type Person struct {
	Identity *identity.Profile     `json:"identity"`
	Profile  *profiles.ProfileView `json:"profile"`
	// Deliveries: which destinations the person was sent to, newest first.
	Deliveries []PersonDelivery `json:"deliveries"`
}

func (v *Person) String() string {
	// the identity part already names the profile
	view := strings.TrimPrefix(v.Profile.String(), "profile "+v.Profile.ProfileID+"\n\n")
	out := v.Identity.String() + "\n" + view
	if len(v.Deliveries) > 0 {
		var b strings.Builder
		b.WriteString("\nsync deliveries\n")
		for _, d := range v.Deliveries {
			at := ""
			if d.At != nil {
				at = d.At.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(&b, "  %-24s %-20s %-7s %-9s %-20s run %s", d.Sync, d.Destination, d.Action, d.Status, at, d.RunID)
			if d.Reason != "" {
				b.WriteString("  " + d.Reason)
			}
			b.WriteString("\n")
		}
		out = strings.TrimRight(out, "\n") + "\n" + b.String()
	}
	return out
}

// Ident is one identifier, TYPE:VALUE.
type Ident = identity.Ident

// ParseIdent reads TYPE:VALUE.
func ParseIdent(s string) (Ident, error) { return identity.ParseIdent(s) }

// Profile looks up the person holding an identifier.
func (s *Service) Profile(ctx context.Context, id Ident) (*Person, error) {
	if err := s.knownIdent(id); err != nil {
		return nil, err
	}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	who, err := identity.Lookup(ctx, wh, c, id.Type, id.Value)
	if err != nil {
		return nil, err
	}
	var view *profiles.ProfileView
	if who.RunSources {
		view, err = profiles.ViewFrom(ctx, wh, c, who.ID, who.Sources())
	} else {
		view, err = profiles.View(ctx, wh, c, who.ID)
	}
	if err != nil {
		return nil, err
	}
	sent, err := s.personDeliveries(ctx, who.ID, view.Segments)
	if err != nil {
		return nil, err
	}
	return &Person{Identity: who, Profile: view, Deliveries: sent}, nil
}

// Explain is the chain of source rows linking two identifiers, or the rule
// that kept them apart.
func (s *Service) Explain(ctx context.Context, a, b Ident) (*identity.Explanation, error) {
	for _, id := range []Ident{a, b} {
		if err := s.knownIdent(id); err != nil {
			return nil, err
		}
	}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	return identity.Explain(ctx, wh, c, a, b)
}

// ConfigError is a warehouse configuration that cannot work as written.
type ConfigError = dialects.ConfigError

// StatementError is a statement the warehouse refused, with the definition
// that produced it (its SQL for --verbose).
type StatementError = dialects.StatementError

// forgetPending finishes the erasure requests a forget left undone and
// returns the suppression list a run excludes. The caller holds the lease.
//
// A request a destination did not yet erase stays pending and is only
// logged: the person is suppressed already, and a vendor's outage must not
// stop the runs.
func (s *Service) forgetPending(ctx context.Context, wh dialects.Warehouse, store *state.Store, o ForgetOptions) ([]string, error) {
	pl, err := Compile(s.Project, wh.Dialect(), nil, s.runOptions(RunOptions{}))
	if err != nil {
		return nil, err
	}
	if _, err := s.finishForgets(ctx, wh, pl.Ctx, store, o); err != nil {
		s.logger().Warn("an erasure request is not finished; the next forget, run or sync tries again", "error", err)
	}
	all, err := store.Suppressions(ctx, s.Project.Name)
	if err != nil {
		return nil, err
	}
	if len(all) > 0 { // the warehouse's copy may be missing (a new schema): write it
		if err := writeSuppressions(ctx, wh, pl.Ctx, all); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// knownIdent: an identifier of a type identity does not know is bad usage,
// not a person who is not there.
func (s *Service) knownIdent(id Ident) error {
	var types []string
	for _, r := range s.Project.Identity.Identifiers {
		types = append(types, r.Type)
	}
	for _, src := range s.Project.Sources {
		for _, i := range src.Identifiers {
			if !slices.Contains(types, i.Type) {
				types = append(types, i.Type)
			}
		}
	}
	if slices.Contains(types, id.Type) {
		return nil
	}
	hint := models.Suggest(id.Type, types, "identifier type") // a near name, or the list when it is short
	if hint == "" {
		hint = " (identity knows " + strings.Join(types, ", ") + ")"
	}
	return &UnknownError{fmt.Errorf("unknown identifier type %q in %s:%s%s", id.Type, id.Type, id.Value, hint)}
}
