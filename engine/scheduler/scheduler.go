package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cohort-cdp/cohort/engine/state"
)

var errLeaseLost = errors.New("the lease was lost: another process took it over")

// Marks is the part of the state store the scheduler keeps its progress in
// (*state.Store).
type Marks interface {
	Mark(ctx context.Context, project, job string) (*state.Mark, error)
	InitMark(ctx context.Context, project, job string, slot time.Time) error
	StartMark(ctx context.Context, m *state.Mark, slot, startedAt time.Time) (bool, error)
	FinishMark(ctx context.Context, project, job string, finishedAt time.Time, status, errText string) error
	LastSucceededRun(ctx context.Context, project string) (time.Time, bool, error)
}

// Lease is a held state-store lease.
type Lease interface {
	// Lost is closed when the lease was lost before Release.
	Lost() <-chan struct{}
	Release(ctx context.Context) error
}

// Config is everything a Scheduler uses.
type Config struct {
	Project string // the project's name: keys its marks
	Jobs    []Job  // JobsOf(project)
	// Refresh, when set, gives the jobs again at the start of each pass
	// (syncs created or deleted from the UI while serving); an error keeps
	// the jobs of the last pass.
	Refresh func(ctx context.Context) ([]Job, error)
	Marks   Marks
	// Acquire takes the exclusive lease on key (the state store's Acquire):
	// a job holds its own lease, "schedule:PROJECT:JOB", while it runs, so
	// replicas never run it twice at once. An error means not now: the job
	// is tried again on the next poll.
	Acquire func(ctx context.Context, key string) (Lease, error)
	// Busy reports an error of Acquire or of a job that only says another
	// live process holds the lease (the job's, or the project's, which the
	// run and sync functions take themselves): the job is tried again on
	// the next poll.
	Busy func(error) bool

	RunWarehouse func(ctx context.Context) error
	RunSync      func(ctx context.Context, name string) error
	// Prune, when set, enforces retention; it is called at start and then
	// hourly.
	Prune func(ctx context.Context, now time.Time) error

	Clock Clock         // default SystemClock
	Poll  time.Duration // how often marks, leases and warehouse runs are checked; default 15s
	Log   *slog.Logger  // default slog.Default()
}

// Scheduler fires a project's jobs.
type Scheduler struct {
	cfg       Config
	nextPrune time.Time

	mu    sync.Mutex
	ready bool
	err   error // of the last pass, if it could not read the state store
}

// New checks the configuration and returns a scheduler; Run starts it.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Marks == nil || cfg.Acquire == nil {
		return nil, errors.New("scheduler: Marks and Acquire are required")
	}
	for _, j := range cfg.Jobs {
		if j.Sync == "" && cfg.RunWarehouse == nil || j.Sync != "" && cfg.RunSync == nil {
			return nil, fmt.Errorf("scheduler: job %s has no function to run it", j.Name)
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 15 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Busy == nil {
		cfg.Busy = func(error) bool { return false }
	}
	return &Scheduler{cfg: cfg}, nil
}

// Jobs lists the scheduled jobs.
func (s *Scheduler) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Jobs
}

// refresh takes the jobs Refresh gives, logging those that appeared or went.
func (s *Scheduler) refresh(ctx context.Context) {
	if s.cfg.Refresh == nil {
		return
	}
	jobs, err := s.cfg.Refresh(ctx)
	if err != nil {
		s.cfg.Log.Error("scheduler: cannot read the jobs again: keeping the last ones", "err", err)
		return
	}
	old := map[string]bool{}
	for _, j := range s.Jobs() {
		old[j.Name] = true
	}
	for _, j := range jobs {
		if j.Sync != "" && s.cfg.RunSync == nil || j.Sync == "" && s.cfg.RunWarehouse == nil {
			s.cfg.Log.Error("scheduler: a new job has no function to run it: keeping the last jobs", "job", j.Name)
			return
		}
		if !old[j.Name] {
			s.cfg.Log.Info("scheduler: new job", "job", j.Name, "schedule", j.Text)
		}
		delete(old, j.Name)
	}
	for name := range old {
		s.cfg.Log.Info("scheduler: job removed", "job", name)
	}
	s.mu.Lock()
	s.cfg.Jobs = jobs
	s.mu.Unlock()
}

// Ready reports whether the scheduler has surveyed its jobs and its last
// read of the state store succeeded, and the error when not.
func (s *Scheduler) Ready() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready, s.err
}

// Run fires jobs until ctx ends. A job running then is stopped through its
// context and left unfinished in its mark, so the next start runs it again.
func (s *Scheduler) Run(ctx context.Context) error {
	c := s.cfg.Clock
	s.cfg.Log.Info("scheduler started", "project", s.cfg.Project, "jobs", len(s.Jobs()))
	if len(s.Jobs()) == 0 {
		s.cfg.Log.Info("scheduler: nothing is scheduled (give a sync a schedule:, or cohort.yaml a schedule: for the warehouse run)")
	}
	for _, j := range s.Jobs() {
		s.cfg.Log.Info("scheduler: job", "job", j.Name, "schedule", j.Text)
	}
	for {
		wake := s.Tick(ctx)
		select {
		case <-ctx.Done():
			s.cfg.Log.Info("scheduler stopped", "project", s.cfg.Project)
			return nil
		case <-c.After(max(0, wake.Sub(c.Now()))):
		}
	}
}

// Survey gives every job without a mark its first one (a new job starts
// counting now: its first run is its next slot, or the next warehouse
// run), and records whether the state store answered: Ready. It runs
// nothing, so it is quick; Tick starts with it.
func (s *Scheduler) Survey(ctx context.Context) error {
	p := &pass{now: s.cfg.Clock.Now()}
	var err error
	for _, j := range s.Jobs() {
		var m *state.Mark
		if m, err = s.cfg.Marks.Mark(ctx, s.cfg.Project, j.Name); err != nil {
			break
		}
		if m == nil {
			if err = s.initMark(ctx, j, p); err != nil {
				break
			}
		}
	}
	s.mu.Lock()
	s.ready, s.err = err == nil, err
	s.mu.Unlock()
	return err
}

func (s *Scheduler) initMark(ctx context.Context, j Job, p *pass) error {
	first := p.now
	if j.AfterRun {
		last, ok, err := s.lastRun(ctx, p)
		if err != nil {
			return err
		}
		if ok && last.After(first) {
			first = last
		}
	}
	return s.cfg.Marks.InitMark(ctx, s.cfg.Project, j.Name, first)
}

// Tick is one pass: a Survey, then it starts, one after the other, every
// job that is due now, and returns when the next pass should be.
func (s *Scheduler) Tick(ctx context.Context) time.Time {
	now := s.cfg.Clock.Now()
	wake := now.Add(s.cfg.Poll)
	s.refresh(ctx)
	if err := s.Survey(ctx); err != nil {
		s.cfg.Log.Error("scheduler: cannot read the state store", "err", err)
		return wake
	}
	p := &pass{now: now}
	var passErr error
	for _, j := range s.Jobs() {
		if ctx.Err() != nil {
			return wake
		}
		next, err := s.consider(ctx, j, p)
		if err != nil {
			passErr = err
			s.cfg.Log.Error("scheduler: cannot read the state store", "job", j.Name, "err", err)
			continue
		}
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
	}
	if s.cfg.Prune != nil && !now.Before(s.nextPrune) && ctx.Err() == nil {
		if err := s.cfg.Prune(ctx, now); err != nil {
			s.cfg.Log.Error("retention: pruning history failed", "err", err)
		}
		s.nextPrune = now.Add(time.Hour)
	}
	if passErr != nil {
		s.mu.Lock()
		s.ready, s.err = false, passErr
		s.mu.Unlock()
	}
	return wake
}

// pass caches what one Tick learned of the warehouse runs.
type pass struct {
	now     time.Time
	lastRun *time.Time // end of the latest successful warehouse run; nil: not read yet
	noRun   bool       // read: there is none
}

func (s *Scheduler) lastRun(ctx context.Context, p *pass) (time.Time, bool, error) {
	if p.lastRun == nil && !p.noRun {
		t, ok, err := s.cfg.Marks.LastSucceededRun(ctx, s.cfg.Project)
		if err != nil {
			return time.Time{}, false, err
		}
		p.lastRun, p.noRun = &t, !ok
	}
	if p.noRun {
		return time.Time{}, false, nil
	}
	return *p.lastRun, true, nil
}

// due says whether j must run for its mark m now, and for which slot.
func (s *Scheduler) due(ctx context.Context, j Job, m *state.Mark, p *pass) (slot time.Time, due bool, err error) {
	slot = m.Slot
	if j.AfterRun {
		last, ok, err := s.lastRun(ctx, p)
		if err != nil {
			return slot, false, err
		}
		if ok && last.After(slot) {
			return last, true, nil
		}
	} else if l := latestSlot(j.Cron, m.Slot, p.now); l.After(slot) {
		return l, true, nil
	}
	return slot, m.Interrupted(), nil
}

// consider runs j if it is due and returns when it is next due (zero: on
// a later poll).
func (s *Scheduler) consider(ctx context.Context, j Job, p *pass) (time.Time, error) {
	m, err := s.cfg.Marks.Mark(ctx, s.cfg.Project, j.Name)
	if err != nil {
		return time.Time{}, err
	}
	if m == nil { // Survey gave it one, unless it was removed since
		return time.Time{}, nil
	}
	slot, due, err := s.due(ctx, j, m, p)
	if err != nil {
		return time.Time{}, err
	}
	if due {
		if err := s.fire(ctx, j, p); err != nil {
			return time.Time{}, err
		}
	}
	return s.next(j, slot), nil
}

func (s *Scheduler) next(j Job, slot time.Time) time.Time {
	if j.Cron == nil {
		return time.Time{}
	}
	return j.Cron.Next(slot)
}

// LeaseKey is the lease a job holds while it runs.
func LeaseKey(project string, j Job) string { return "schedule:" + project + ":" + j.Name }

// fire takes the job's lease, checks again under it that the job is still
// due (another replica may have run it), claims the slot and runs the job.
func (s *Scheduler) fire(ctx context.Context, j Job, p *pass) error {
	log := s.cfg.Log.With("job", j.Name)
	key := LeaseKey(s.cfg.Project, j)
	lease, err := s.cfg.Acquire(ctx, key)
	if err != nil {
		if s.cfg.Busy(err) {
			log.Debug("scheduler: running elsewhere, looking again on the next poll", "reason", err)
		} else {
			log.Warn("scheduler: cannot take the job's lease, trying again on the next poll", "lease", key, "err", err)
		}
		return nil
	}
	defer func() {
		if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
			log.Warn("scheduler: releasing the job's lease failed (it expires on its own)", "err", err)
		}
	}()
	m, err := s.cfg.Marks.Mark(ctx, s.cfg.Project, j.Name)
	if err != nil || m == nil {
		return err
	}
	slot, due, err := s.due(ctx, j, m, p)
	if err != nil || !due {
		return err
	}
	if m.Interrupted() && m.Status == "" {
		log.Info("scheduler: the job's last start did not finish (its process stopped, or the project was busy); running it now", "started_at", m.StartedAt)
	}
	started := s.cfg.Clock.Now()
	ok, err := s.cfg.Marks.StartMark(ctx, m, slot, started)
	if err != nil || !ok {
		return err
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-lease.Lost():
			cancel(errLeaseLost)
		case <-runCtx.Done():
		}
	}()
	log.Info("scheduler: starting", "schedule", j.Text, "slot", slot)
	var runErr error
	if j.Sync == "" {
		runErr = s.cfg.RunWarehouse(runCtx)
		p.lastRun, p.noRun = nil, false // syncs after: run look again
	} else {
		runErr = s.cfg.RunSync(runCtx, j.Sync)
	}
	took := s.cfg.Clock.Now().Sub(started)
	switch {
	case ctx.Err() != nil:
		// Shut down mid-job: the mark stays unfinished, so the next start
		// runs the job again (a sync resumes where it stopped).
		log.Warn("scheduler: stopped while running; it runs again at the next start", "took", took)
		return nil
	case errors.Is(context.Cause(runCtx), errLeaseLost):
		// Another replica took the job over and runs it again; the mark is theirs.
		log.Error("scheduler: the job's lease was lost mid-job (the state store was out of reach too long); another replica takes over", "took", took)
		return nil
	case runErr != nil && s.cfg.Busy(runErr):
		// The project is busy (a run or sync from the command line): the
		// mark stays unfinished and the job is tried on the next poll.
		log.Info("scheduler: the project is busy, trying again on the next poll", "reason", runErr)
		return nil
	}
	status, errText := state.Succeeded, ""
	if runErr != nil {
		status, errText = state.Failed, runErr.Error()
		log.Error("scheduler: job failed", "took", took, "err", runErr)
	} else {
		log.Info("scheduler: job done", "took", took)
	}
	return s.cfg.Marks.FinishMark(context.WithoutCancel(ctx), s.cfg.Project, j.Name, s.cfg.Clock.Now(), status, errText)
}
