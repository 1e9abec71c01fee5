package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/alerts"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// SyncResult is one sync run as Sync reports it.
type SyncResult = sync.Result

// SyncBenchReport is what `cohort bench sync` measured.
type SyncBenchReport = sync.BenchReport

// SyncBenchOptions shape `cohort bench sync`.
type SyncBenchOptions = sync.BenchOptions

// BenchSyncName is the name of the sync benchmark project's sync.
const BenchSyncName = sync.BenchSync

// SyncBenchRun is one timed `cohort sync` process of the benchmark.
type SyncBenchRun = sync.BenchSyncRun

// BenchSyncProject writes the sync benchmark's project into dir (one sync,
// sync.BenchSync, of a generated audience to the webhook receiver at o.URL)
// and fills its embedded warehouse with o.Members members. The benchmark
// then runs `cohort sync` on it in a process of its own.
func BenchSyncProject(ctx context.Context, dir string, o SyncBenchOptions) error {
	if err := sync.WriteBenchProject(dir, o); err != nil {
		return err
	}
	wh, err := dialects.Open(ctx, "duckdb", dialects.Config{Dir: dir, Path: sync.BenchWarehouse})
	if err != nil {
		return err
	}
	defer wh.Close()
	return sync.BenchGenerate(ctx, wh, o.Members)
}

// BenchSyncChange changes a synced field of pct percent of the benchmark
// project's members.
func BenchSyncChange(ctx context.Context, dir string, pct int) error {
	wh, err := dialects.Open(ctx, "duckdb", dialects.Config{Dir: dir, Path: sync.BenchWarehouse, MustExist: true})
	if err != nil {
		return err
	}
	defer wh.Close()
	return sync.BenchChange(ctx, wh, pct)
}

// SyncOptions shape `cohort sync`.
type SyncOptions struct {
	Names  []string // the syncs to run, in order
	All    bool     // every sync of the project, in the order they are defined
	DryRun bool     // compute and show the changes; send and write nothing
	Sample int      // dry run: changes shown per operation
	// Progress hears, per sync, how many changes have a final outcome.
	Progress func(sync string, done, total int64)
	// Waiting, when set, makes the sync wait while another process holds
	// the project's lease (instead of failing), and hears whom it waits for.
	Waiting func(*state.HeldError)
	// Delivery tunes retries (tests give a manual clock); HTTP is the
	// connectors' client (nil: one with a 60 s timeout).
	Delivery sync.Options
	HTTP     *http.Client
}

// Sync runs syncs one after the other under the project's lease, so that a
// sync never reads tables a warehouse run is replacing. Every sync runs even
// when an earlier one failed; the error joins the failures. A sync whose
// rows did not all arrive (status partial) is an error too: a run that lost
// rows is never reported as a success.
func (s *Service) Sync(ctx context.Context, o SyncOptions) ([]*sync.Result, error) {
	proj, err := s.project(ctx) // with the syncs and segments saved from the UI
	if err != nil {
		return nil, err
	}
	names := o.Names
	if o.All {
		names = nil
		for _, sy := range proj.Syncs {
			names = append(names, sy.Name)
		}
	}
	if len(names) == 0 {
		return nil, &UnknownError{fmt.Errorf("name a sync or pass --all (syncs: %s)", syncNames(proj))}
	}
	for _, n := range names {
		if !hasSync(proj, n) {
			return nil, &UnknownError{fmt.Errorf("unknown sync %q (syncs: %s)", n, syncNames(proj))}
		}
	}
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	holder := "cohort sync"
	if o.DryRun {
		holder += " --dry-run"
	}
	key := LeaseKey(s.Project.Name)
	var lease *state.Lease
	if o.Waiting != nil {
		lease, err = store.AcquireWait(ctx, key, holder, 0, o.Waiting)
	} else {
		lease, err = store.Acquire(ctx, key, holder, 0)
	}
	var held *state.HeldError
	if errors.As(err, &held) {
		return nil, &BusyError{Project: s.Project.Name, Held: held, Loc: s.Project.Location()}
	}
	if err != nil {
		return nil, err
	}
	defer lease.Release(context.WithoutCancel(ctx))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-lease.Lost():
			cancel(state.ErrLeaseLost)
		case <-ctx.Done():
		}
	}()

	wh, done, err := s.syncWarehouse(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if !o.DryRun {
		if _, err := s.forgetPending(ctx, wh, store, ForgetOptions{HTTP: o.HTTP, Delivery: o.Delivery}); err != nil {
			return nil, err
		}
	}
	var (
		out  []*sync.Result
		errs []error
	)
	for _, n := range names {
		p := sync.Params{Project: proj, Sync: n, Warehouse: wh, Store: store, HTTP: o.HTTP, Now: s.now,
			DryRun: o.DryRun, Sample: o.Sample, Delivery: o.Delivery}
		if o.Progress != nil {
			p.Progress = func(done, total int64) { o.Progress(n, done, total) }
		}
		res, err := sync.Run(ctx, p)
		if res != nil {
			out = append(out, res)
		}
		switch {
		case err != nil:
			errs = append(errs, err)
		case res.Run.Status == state.Partial:
			errs = append(errs, fmt.Errorf("sync %s partial: %s", n, res.Run.Error))
		}
		if res != nil {
			s.logger().Info("sync finished", "sync", n, "status", res.Run.Status, "dry_run", o.DryRun)
			if !o.DryRun && res.Run.Status != "" {
				s.alert(context.WithoutCancel(ctx), proj, store, res, o.HTTP)
			}
		}
	}
	return out, errors.Join(errs...)
}

// syncWarehouse is the warehouse a sync writes to, read-write for the
// sync (see handles), with the function ending it. Opened for it, an
// embedded one is capped at sync.MemoryLimit and runs sync.Threads
// threads unless the project sets its own warehouse.memory_limit and
// threads, and keeps no memory it freed (dialects.Config.SmallMemory): a
// sync's diff and fold then spill to disk instead of growing the process.
// One already open read-write (a run of cohort serve) is used as it is.
func (s *Service) syncWarehouse(ctx context.Context) (dialects.Warehouse, func(), error) {
	if s.Warehouse != nil {
		return s.Warehouse, func() {}, nil
	}
	h, err := s.handles()
	if err != nil {
		return nil, nil, err
	}
	return h.write(ctx, false, true)
}

// forSync is p with the warehouse settings a sync opens it with: the
// project's memory_limit and threads, or sync.MemoryLimit and sync.Threads.
func forSync(p *models.Project) *models.Project {
	q := *p
	if q.Warehouse.MemoryLimit == "" {
		q.Warehouse.MemoryLimit = sync.MemoryLimit
	}
	if q.Warehouse.Threads == 0 {
		q.Warehouse.Threads = sync.Threads
	}
	return &q
}

// alert sends the notices a finished sync run calls for through the sync's
// alert destination. A notice that cannot be sent is logged: it does not
// change how the sync went.
func (s *Service) alert(ctx context.Context, proj *models.Project, store *state.Store, res *sync.Result, client *http.Client) {
	sy := findSync(proj, res.Run.Sync)
	if sy == nil || sy.Alert == nil {
		return
	}
	runs, err := store.SyncRuns(ctx, s.Project.Name, sy.Name, 2)
	if err != nil {
		s.logger().Warn("alert: reading the previous run", "sync", sy.Name, "error", err)
		return
	}
	var prev *alerts.Outcome
	for _, r := range runs {
		if r.ID != res.Run.ID {
			o := outcome(r, nil)
			prev = &o
			break
		}
	}
	var reasons []string
	if res.Run.Rejected > 0 {
		if rs, err := store.Rejections(ctx, res.Run.ID, 3); err == nil {
			for _, r := range rs {
				reasons = append(reasons, r.Reason)
			}
		}
	}
	notices := alerts.Decide(sy.Alert, prev, outcome(res.Run, reasons))
	if len(notices) == 0 {
		return
	}
	d := s.Project.Destination(sy.Alert.Destination)
	if d == nil {
		s.logger().Warn("alert: unknown destination", "sync", sy.Name, "destination", sy.Alert.Destination)
		return
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	dst, _, err := destinations.Open(d.Type, destinations.Config{Name: d.Name, Region: d.Region, Values: d.Config, HTTP: client})
	if err == nil {
		err = alerts.Send(ctx, d.Name, dst, notices)
	}
	if err != nil {
		s.logger().Warn("alert not sent", "sync", sy.Name, "error", err)
	}
}

func outcome(r state.SyncRun, reasons []string) alerts.Outcome {
	return alerts.Outcome{Sync: r.Sync, RunID: r.ID, Status: r.Status, Error: r.Error, Added: r.Added, Changed: r.Changed,
		Removed: r.Removed, Rejected: r.Rejected, Retry: r.Pending, Sent: r.Added + r.Changed + r.Removed + r.Rejected, Reasons: reasons}
}

func findSync(p *models.Project, name string) *models.Sync {
	for _, s := range p.Syncs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SyncStatus is a sync with its last run.
type SyncStatus struct {
	Name        string `json:"name"`
	Segment     string `json:"segment"`
	Destination string `json:"destination"`
	Type        string `json:"type"`
	Mode        string `json:"mode"`
	Region      string `json:"region,omitempty"` // where the destination keeps the data (eu, us ...)
	// AllowedProfiles is how many of the segment's members (outside the
	// holdout) its consent rule lets go there; absent before the first run.
	AllowedProfiles *int64 `json:"allowed_profiles,omitempty"`
	Schedule        string `json:"schedule,omitempty"`
	// Source is yaml (the project's, read-only here) or ui (created from
	// the UI, kept in the state store, deletable).
	Source    string     `json:"source"`
	ReadOnly  bool       `json:"read_only"`
	UpdatedBy string     `json:"updated_by,omitempty"` // ui: who created it
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	// Invalid, for a sync of the UI, says why it no longer validates
	// against the project: it is neither scheduled nor run until deleted
	// and created again.
	Invalid string `json:"invalid,omitempty"`
	Paused  bool   `json:"paused"` // the scheduler skips it until resumed
	// Health is one word for a dashboard: healthy (last run succeeded),
	// degraded (partial: rows rejected or pending), failing, running,
	// paused, or never_run.
	Health  string         `json:"health"`
	NextRun *time.Time     `json:"next_run,omitempty"` // the scheduler's next slot, when it has one
	LastRun *state.SyncRun `json:"last_run,omitempty"`
}

// Syncs lists the project's syncs with their last run.
func (s *Service) Syncs(ctx context.Context) ([]SyncStatus, error) {
	last, paused, err := s.syncState(ctx)
	if err != nil {
		return nil, err
	}
	next := map[string]*time.Time{}
	if jobs, err := s.Schedule(ctx); err == nil { // without a schedule the list still answers
		for _, j := range jobs {
			if j.Sync != "" && j.Next != nil {
				next[j.Sync] = j.Next
			}
		}
	}
	reach := map[string]SyncReach{}
	if rs, err := s.Reach(ctx, true); err == nil { // without a warehouse the list still answers
		for _, r := range rs {
			reach[r.Sync] = r
		}
	}
	proj, invalid, rows, err := s.merged(ctx)
	if err != nil {
		return nil, err
	}
	saved := liveSyncs(rows)
	var out []SyncStatus
	list := slices.Clone(proj.Syncs)
	for _, sv := range rows { // those left out, to say why, in the store's order (by name)
		if sv.DeletedAt == nil && invalid[sv.Name] != nil && !hasSync(proj, sv.Name) {
			if sy, err := models.ParseSync(sv.Definition); err == nil {
				list = append(list, sy)
			} else {
				list = append(list, &models.Sync{Name: sv.Name})
			}
		}
	}
	for _, sy := range list {
		st := SyncStatus{Name: sy.Name, Segment: sy.Segment, Destination: sy.Destination, Mode: sy.Mode, Paused: paused[sy.Name],
			Source: "yaml", ReadOnly: true}
		if sv, ok := saved[sy.Name]; ok && !hasSync(s.Project, sy.Name) {
			at := sv.UpdatedAt
			st.Source, st.ReadOnly, st.UpdatedBy, st.UpdatedAt = "ui", false, sv.UpdatedBy, &at
			if err := invalid[sy.Name]; err != nil {
				st.Invalid = err.Error()
			}
		}
		if d := s.Project.Destination(sy.Destination); d != nil {
			st.Type, st.Region = d.Type, d.Region
		}
		if r, ok := reach[sy.Name]; ok {
			st.Region, st.AllowedProfiles = r.Region, r.Allowed
		}
		if sy.Schedule.Set() {
			st.Schedule = sy.Schedule.String()
		}
		if r, ok := last[sy.Name]; ok {
			st.LastRun = &r
		}
		st.Health = health(st)
		st.NextRun = next[sy.Name]
		out = append(out, st)
	}
	return out, nil
}

// syncState is the last run of each sync and the paused ones, by name.
func (s *Service) syncState(ctx context.Context) (map[string]state.SyncRun, map[string]bool, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, nil, err
	}
	last, err := store.LastSyncRuns(ctx, s.Project.Name)
	if err != nil {
		return nil, nil, err
	}
	paused, err := store.PausedSyncs(ctx, s.Project.Name)
	if err != nil {
		return nil, nil, err
	}
	return last, paused, nil
}

// SyncHistory is a sync's runs, newest first, with up to rejections
// rejected rows of each run that had some.
type SyncHistory struct {
	Runs       []state.SyncRun              `json:"runs"`
	Rejections map[string][]state.Rejection `json:"rejections,omitempty"` // by run id
}

// SyncHistory reads a sync's run history.
func (s *Service) SyncHistory(ctx context.Context, name string, limit, rejections int) (*SyncHistory, error) {
	if err := s.knownSync(ctx, name); err != nil {
		return nil, err
	}
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := store.SyncRuns(ctx, s.Project.Name, name, limit)
	if err != nil {
		return nil, err
	}
	h := &SyncHistory{Runs: runs, Rejections: map[string][]state.Rejection{}}
	for _, r := range runs {
		if r.Rejected > 0 && rejections > 0 {
			rs, err := store.Rejections(ctx, r.ID, rejections)
			if err != nil {
				return nil, err
			}
			h.Rejections[r.ID] = rs
		}
	}
	return h, nil
}

func hasSync(p *models.Project, name string) bool { return findSync(p, name) != nil }

// knownSync: name is a sync of the project, YAML or saved from the UI.
func (s *Service) knownSync(ctx context.Context, name string) error {
	if hasSync(s.Project, name) {
		return nil
	}
	p, err := s.project(ctx)
	if err != nil {
		return err
	}
	if !hasSync(p, name) {
		return &UnknownError{fmt.Errorf("unknown sync %q (syncs: %s)", name, syncNames(p))}
	}
	return nil
}

func syncNames(p *models.Project) string {
	var n []string
	for _, s := range p.Syncs {
		n = append(n, s.Name)
	}
	sort.Strings(n)
	if len(n) == 0 {
		return "none defined"
	}
	return strings.Join(n, ", ")
}

func health(st SyncStatus) string {
	switch {
	case st.Paused:
		return "paused"
	case st.LastRun == nil:
		return "never_run"
	}
	switch st.LastRun.Status {
	case state.Succeeded:
		return "healthy"
	case state.Partial:
		return "degraded"
	case state.Running:
		return "running"
	}
	return "failing"
}
