package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/scheduler"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/state"
)

// SchedulerOptions shape the scheduler of `cohort serve`.
type SchedulerOptions struct {
	Clock scheduler.Clock // nil: the wall clock
	Poll  time.Duration   // 0: the scheduler's default
	Log   *slog.Logger    // nil: the service's logger
}

// Scheduler is the project's scheduler: the warehouse run on cohort.yaml's
// schedule and every sync on its own, each run through this service, with
// marks and leases in the project's state store, and retention enforced
// hourly. Run it with its Run method.
func (s *Service) Scheduler(ctx context.Context, o SchedulerOptions) (*scheduler.Scheduler, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	jobs, err := s.jobs(ctx)
	if err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = s.logger()
	}
	return scheduler.New(scheduler.Config{
		Project: s.Project.Name,
		Jobs:    jobs,
		Refresh: s.jobs, // syncs created or deleted from the UI
		Marks:   store,
		Acquire: func(ctx context.Context, key string) (scheduler.Lease, error) {
			l, err := store.Acquire(ctx, key, "cohort serve", 0)
			if err != nil {
				return nil, err
			}
			return l, nil
		},
		Busy: func(err error) bool {
			var held *state.HeldError
			return errors.As(err, &held)
		},
		RunWarehouse: s.scheduledRun,
		RunSync:      s.scheduledSync,
		Prune:        s.Prune,
		Clock:        o.Clock,
		Poll:         o.Poll,
		Log:          log,
	})
}

// jobs are the scheduled jobs of the project with the syncs saved from the UI.
func (s *Service) jobs(ctx context.Context) ([]scheduler.Job, error) {
	p, err := s.project(ctx)
	if err != nil {
		return nil, err
	}
	return scheduler.JobsOf(p)
}

// scheduledRun is one warehouse run of the scheduler. Like any run it
// opens an embedded DuckDB file read-write for the run only (see handles),
// so that between runs other processes can read it.
func (s *Service) scheduledRun(ctx context.Context) error {
	_, err := s.Run(ctx, RunOptions{})
	return err
}

// scheduledSync is the scheduler's function to run a sync. Like a
// scheduled run, it opens the warehouse for the sync only. A busy project
// comes back as a *BusyError (the scheduler tries again); a partial run is
// an error, so the scheduler logs it.
func (s *Service) scheduledSync(ctx context.Context, name string) error {
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	paused, err := store.PausedSyncs(ctx, s.Project.Name)
	if err != nil {
		return err
	}
	if paused[name] {
		s.logger().Info("sync paused: skipped", "sync", name)
		return nil
	}
	_, err = s.Sync(ctx, SyncOptions{Names: []string{name}})
	return err
}

// Prune enforces the project's retention: it deletes run and sync run
// history older than retention.runs (default 90 days), rejected rows
// older than retention.rejections (default 30 days) and, when
// retention.segment_history is set, the output schema's segment entries
// and exits older than that.
func (s *Service) Prune(ctx context.Context, now time.Time) error {
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	r := s.Project.Retention
	n, err := store.PruneRuns(ctx, s.Project.Name, now.Add(-r.RunsFor()))
	if err != nil {
		return err
	}
	if n > 0 {
		s.logger().Info("retention: deleted old runs", "runs", n, "older_than", r.RunsFor())
	}
	if err := store.PruneSyncHistory(ctx, s.Project.Name, now.Add(-r.RunsFor()), now.Add(-r.RejectionsFor())); err != nil {
		return err
	}
	if !r.SegmentHistory.Set() {
		return nil
	}
	// the warehouse is written under the project's lease, read-write for this only (as a run)
	lease, err := store.Acquire(ctx, LeaseKey(s.Project.Name), "cohort serve: retention", 0)
	var held *state.HeldError
	if errors.As(err, &held) {
		s.logger().Info("retention: the project is busy; segment_history is pruned on the next pass", "by", held.By)
		return nil
	} else if err != nil {
		return err
	}
	defer lease.Release(context.WithoutCancel(ctx))
	wh, done, err := s.writer(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	pl, err := Compile(s.Project, wh.Dialect(), nil, s.runOptions(RunOptions{}))
	if err != nil {
		return err
	}
	n, err = pruneSegmentHistory(ctx, wh, pl.Ctx, now.Add(-r.SegmentHistory.D))
	if n > 0 {
		s.logger().Info("retention: deleted old segment entries and exits", "rows", n, "older_than", r.SegmentHistory.D)
	}
	return err
}

// pruneSegmentHistory deletes the rows of segment_history recorded before
// cutoff, and counts them.
func pruneSegmentHistory(ctx context.Context, wh dialects.Warehouse, c *plan.Context, cutoff time.Time) (int64, error) {
	if _, err := wh.Columns(ctx, c.Schema+"."+segments.HistoryTable); errors.Is(err, dialects.ErrNoTable) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	d := wh.Dialect()
	t := d.Quote(c.Schema, segments.HistoryTable)
	cond := " WHERE changed_at < " + plan.TimeParam(d, "?")
	arg := plan.TimeArg(cutoff.In(c.Loc)) // changed_at holds the project's wall time, as a run writes it
	var n int64
	if err := plan.QueryRow(ctx, wh, dialects.Bind(d, "SELECT count(*) FROM "+t+cond), []any{arg}, &n); err != nil || n == 0 {
		return 0, err
	}
	return n, wh.Exec(ctx, dialects.Bind(d, "DELETE FROM "+t+cond), arg)
}

// Ready reports whether the service can work: its state store answers.
func (s *Service) Ready(ctx context.Context) error {
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	return store.Ping(ctx)
}

// Schedule is what `cohort serve` runs and when: each job with its last
// and next slot, read from the state store.
func (s *Service) Schedule(ctx context.Context) ([]scheduler.JobStatus, error) {
	sched, err := s.Scheduler(ctx, SchedulerOptions{})
	if err != nil {
		return nil, err
	}
	return sched.Status(ctx, s.now())
}
