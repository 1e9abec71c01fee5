package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// fakeClock moves only when a test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	waiting chan struct{} // a send per After call: the scheduler sleeps
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, waiting: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	}
	c.waiting <- struct{}{}
	return ch
}

// Set moves the clock to t and wakes every sleeper due by then.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// stores opens a fresh state store of each driver.
func stores(t *testing.T, f func(t *testing.T, open func() *state.Store)) {
	for name, loc := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "state.db" },
		"postgres": func(t *testing.T) string { return dialecttest.NewPostgresDB(t) },
	} {
		t.Run(name, func(t *testing.T) {
			dir, location := t.TempDir(), loc(t)
			f(t, func() *state.Store {
				s, err := state.Open(context.Background(), dir, location)
				require.NoError(t, err)
				t.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
}

// leases takes the state store's real leases, as cohort serve does.
func leases(store *state.Store) func(ctx context.Context, key string) (Lease, error) {
	return func(ctx context.Context, key string) (Lease, error) {
		l, err := store.Acquire(ctx, key, "cohort serve", 0)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
}

func held(err error) bool {
	var h *state.HeldError
	return errors.As(err, &h)
}

// recorder counts the runs of each sync.
type recorder struct {
	mu   sync.Mutex
	runs []string
}

func (r *recorder) RunSync(_ context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, name)
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.runs
	r.runs = nil
	return out
}

func syncJob(t *testing.T, name, schedule string) Job {
	s, err := models.ParseCron(schedule, time.UTC)
	require.NoError(t, err)
	return Job{Name: "sync:" + name, Sync: name, Cron: s, Text: schedule}
}

func newScheduler(t *testing.T, store *state.Store, clock Clock, jobs []Job, cfg func(*Config)) *Scheduler {
	c := Config{
		Project: "shop", Jobs: jobs, Marks: store, Clock: clock,
		Acquire: leases(store),
		Busy:    held,
		RunSync: func(context.Context, string) error { return nil },
		Log:     slog.New(slog.DiscardHandler),
		Poll:    time.Hour,
	}
	if cfg != nil {
		cfg(&c)
	}
	s, err := New(c)
	require.NoError(t, err)
	return s
}

var t0 = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC) // a Monday

// A new job waits for its next slot; a restart after downtime runs each
// job once, however many slots it missed, and then keeps to its schedule.
func TestMissedSlotsRunOnce(t *testing.T) {
	stores(t, func(t *testing.T, open func() *state.Store) {
		ctx := context.Background()
		store := open()
		clock := newFakeClock(t0.Add(3 * time.Minute))
		rec := &recorder{}
		jobs := []Job{syncJob(t, "quarterly", "*/15 * * * *"), syncJob(t, "daily", "0 6 * * *")}
		withRec := func(c *Config) { c.RunSync = rec.RunSync }
		s := newScheduler(t, store, clock, jobs, withRec)

		wake := s.Tick(ctx)
		require.Empty(t, rec.take(), "a new job starts counting now")
		require.Equal(t, t0.Add(15*time.Minute), wake, "the next pass is at the next slot")

		clock.Set(t0.Add(15 * time.Minute))
		s.Tick(ctx)
		require.Equal(t, []string{"quarterly"}, rec.take())
		s.Tick(ctx)
		require.Empty(t, rec.take(), "a slot runs once")

		// Down from 10:15 until 13:07 the next day: eleven-odd quarters and
		// one 06:00 missed; a new process runs each job once.
		clock.Set(t0.Add(27*time.Hour + 7*time.Minute))
		s2 := newScheduler(t, open(), clock, jobs, withRec)
		s2.Tick(ctx)
		require.ElementsMatch(t, []string{"quarterly", "daily"}, rec.take())
		s2.Tick(ctx)
		require.Empty(t, rec.take())

		m, err := store.Mark(ctx, "shop", "sync:quarterly")
		require.NoError(t, err)
		require.Equal(t, t0.Add(27*time.Hour), m.Slot.UTC(), "the mark is the latest missed slot, 13:00")
		require.Equal(t, state.Succeeded, m.Status)

		clock.Set(t0.Add(27*time.Hour + 15*time.Minute))
		s2.Tick(ctx)
		require.Equal(t, []string{"quarterly"}, rec.take())
	})
}

// A sync after: run follows each successful warehouse run once, whoever
// ran it; a warehouse job of the scheduler itself is followed in the same
// pass.
func TestAfterRun(t *testing.T) {
	stores(t, func(t *testing.T, open func() *state.Store) {
		ctx := context.Background()
		store := open()
		clock := newFakeClock(t0)
		rec := &recorder{}
		warehouse, err := models.ParseCron("0 * * * *", time.UTC)
		require.NoError(t, err)
		runs := 0
		record := func(status string) {
			runs++
			now := clock.Now()
			r := &state.Run{ID: string(rune('a' + runs)), Project: "shop", Warehouse: "duckdb", StartedAt: now.Add(-time.Minute)}
			require.NoError(t, store.StartRun(ctx, r))
			r.Status, r.FinishedAt = status, &now
			require.NoError(t, store.FinishRun(ctx, r))
		}
		jobs := []Job{
			{Name: WarehouseJob, Cron: warehouse, Text: "0 * * * *"},
			{Name: "sync:s@run", Sync: "s", AfterRun: true, Text: "after: run"},
		}
		warehouseRuns := 0
		s := newScheduler(t, store, clock, jobs, func(c *Config) {
			c.RunSync = rec.RunSync
			c.RunWarehouse = func(context.Context) error { warehouseRuns++; record(state.Succeeded); return nil }
		})
		s.Tick(ctx)
		require.Empty(t, rec.take())

		// A `cohort run` from the command line.
		clock.Set(t0.Add(10 * time.Minute))
		record(state.Succeeded)
		clock.Set(t0.Add(11 * time.Minute))
		s.Tick(ctx)
		require.Equal(t, []string{"s"}, rec.take())
		s.Tick(ctx)
		require.Empty(t, rec.take(), "one sync per run")

		// A failed run is not followed.
		clock.Set(t0.Add(20 * time.Minute))
		record(state.Failed)
		s.Tick(ctx)
		require.Empty(t, rec.take())

		// The scheduler's own warehouse run at 11:00 is followed in the same pass.
		clock.Set(t0.Add(time.Hour))
		s.Tick(ctx)
		require.Equal(t, 1, warehouseRuns)
		require.Equal(t, []string{"s"}, rec.take())
	})
}

// A job stopped by shutdown is left unfinished and runs again at the next
// start; a job that fails is recorded and waits for its next slot.
func TestInterruptedAndFailedJobs(t *testing.T) {
	stores(t, func(t *testing.T, open func() *state.Store) {
		store := open()
		clock := newFakeClock(t0)
		jobs := []Job{syncJob(t, "a", "@every 1h")}
		ctx, stop := context.WithCancel(context.Background())
		calls := 0
		s := newScheduler(t, store, clock, jobs, func(c *Config) {
			c.RunSync = func(ctx context.Context, _ string) error {
				calls++
				if calls == 1 {
					stop() // SIGTERM arrives mid-sync
					return ctx.Err()
				}
				if calls == 3 {
					return errors.New("destination said 401")
				}
				return nil
			}
		})
		s.Tick(ctx)
		clock.Set(t0.Add(time.Hour))
		s.Tick(ctx)
		require.Equal(t, 1, calls)
		m, err := store.Mark(context.Background(), "shop", "sync:a")
		require.NoError(t, err)
		require.True(t, m.Interrupted())

		ctx = context.Background()
		s2 := newScheduler(t, open(), clock, jobs, func(c *Config) { c.RunSync = s.cfg.RunSync })
		s2.Tick(ctx)
		require.Equal(t, 2, calls, "the interrupted job runs again at the next start")
		s2.Tick(ctx)
		require.Equal(t, 2, calls)

		clock.Set(t0.Add(2 * time.Hour))
		s2.Tick(ctx)
		require.Equal(t, 3, calls)
		m, err = store.Mark(ctx, "shop", "sync:a")
		require.NoError(t, err)
		require.Equal(t, state.Failed, m.Status)
		require.Equal(t, "destination said 401", m.Error)
		s2.Tick(ctx)
		require.Equal(t, 3, calls, "a failed job waits for its next slot")
	})
}

// Run sleeps on the clock until the next slot and stops with its context.
func TestRunLoop(t *testing.T) {
	dir := t.TempDir()
	store, err := state.Open(context.Background(), dir, "state.db")
	require.NoError(t, err)
	defer store.Close()
	clock := newFakeClock(t0)
	ran := make(chan string, 10)
	s := newScheduler(t, store, clock, []Job{syncJob(t, "a", "*/5 * * * *")}, func(c *Config) {
		c.RunSync = func(_ context.Context, name string) error { ran <- name; return nil }
		c.Poll = time.Hour
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-clock.waiting // asleep after the first pass
	ok, _ := s.Ready()
	require.True(t, ok)
	clock.Set(t0.Add(5 * time.Minute))
	require.Equal(t, "a", <-ran)
	<-clock.waiting
	require.Empty(t, ran)
	cancel()
	require.NoError(t, <-done)
}

// Cron lines follow the project's timezone, descriptors too; @every
// takes the project's day and week units.
func TestJobsOfProject(t *testing.T) {
	p := &models.Project{Name: "shop", Timezone: "Europe/Amsterdam", Schedule: models.Schedule{Cron: "@daily"}}
	p.Syncs = []*models.Sync{
		{Name: "a", Schedule: models.Schedule{Cron: "0 6 * * *", After: "run"}},
		{Name: "b"},
		{Name: "c", Schedule: models.Schedule{Cron: "@every 1d"}},
	}
	jobs, err := JobsOf(p)
	require.NoError(t, err)
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	require.Equal(t, []string{"run", "sync:a", "sync:a@run", "sync:c"}, names)
	require.Equal(t, time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC), jobs[0].Cron.Next(t0).UTC(), "midnight in Amsterdam")
	require.Equal(t, time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC), jobs[1].Cron.Next(t0).UTC(), "06:00 in Amsterdam (CET)")
	require.Nil(t, jobs[2].Cron)
	require.Equal(t, t0.Add(24*time.Hour), jobs[3].Cron.Next(t0))
}

// Two replicas sharing a state store run a slot once, never at the same
// time; a sync waits while a warehouse run holds the project.
func TestReplicasShareOneStore(t *testing.T) {
	stores(t, func(t *testing.T, open func() *state.Store) {
		ctx := context.Background()
		storeA, storeB := open(), open()
		clock := newFakeClock(t0)
		jobs := []Job{syncJob(t, "a", "*/5 * * * *")}
		started, release := make(chan string, 2), make(chan struct{})
		var mu sync.Mutex
		calls := map[string]int{}
		// The sync function takes the project's lease as the engine's does.
		syncOn := func(replica string, store *state.Store) func(context.Context, string) error {
			return func(ctx context.Context, _ string) error {
				l, err := store.Acquire(ctx, "project:shop", "cohort sync", 0)
				if err != nil {
					return err
				}
				defer l.Release(ctx)
				mu.Lock()
				calls[replica]++
				mu.Unlock()
				started <- replica
				<-release
				return nil
			}
		}
		a := newScheduler(t, storeA, clock, jobs, func(c *Config) { c.RunSync = syncOn("a", storeA) })
		b := newScheduler(t, storeB, clock, jobs, func(c *Config) { c.RunSync = syncOn("b", storeB) })
		a.Tick(ctx)
		b.Tick(ctx)

		clock.Set(t0.Add(5 * time.Minute))
		ticked := make(chan struct{})
		go func() { a.Tick(ctx); close(ticked) }()
		require.Equal(t, "a", <-started)
		b.Tick(ctx) // a holds the job's lease: b leaves it
		close(release)
		<-ticked
		b.Tick(ctx) // done by a: not due
		require.Equal(t, map[string]int{"a": 1}, calls)

		// A warehouse run holds the project at 10:10: the sync waits for it.
		release = make(chan struct{})
		close(release)
		run, err := storeA.Acquire(ctx, "project:shop", "cohort run", 0)
		require.NoError(t, err)
		clock.Set(t0.Add(10 * time.Minute))
		b.Tick(ctx)
		a.Tick(ctx)
		require.Equal(t, map[string]int{"a": 1}, calls, "no sync while the run holds the project")
		m, err := storeA.Mark(ctx, "shop", "sync:a")
		require.NoError(t, err)
		require.True(t, m.Interrupted(), "the slot is pending")
		require.NoError(t, run.Release(ctx))
		b.Tick(ctx)
		a.Tick(ctx)
		require.Equal(t, map[string]int{"a": 1, "b": 1}, calls, "the pending slot runs once when the project is free")
		require.Equal(t, "b", <-started)
	})
}

// Three replicas ticking at once, slot after slot: every slot runs exactly
// once, and never two runs at the same time.
func TestReplicasRaceForEachSlot(t *testing.T) {
	stores(t, func(t *testing.T, open func() *state.Store) {
		ctx := context.Background()
		clock := newFakeClock(t0)
		jobs := []Job{syncJob(t, "a", "@every 1m")}
		var (
			mu             sync.Mutex
			runs, inflight int
			overlapped     bool
		)
		run := func(context.Context, string) error {
			mu.Lock()
			runs++
			inflight++
			overlapped = overlapped || inflight > 1
			mu.Unlock()
			time.Sleep(time.Millisecond) // hold the lease while the others try
			mu.Lock()
			inflight--
			mu.Unlock()
			return nil
		}
		var replicas []*Scheduler
		for range 3 {
			replicas = append(replicas, newScheduler(t, open(), clock, jobs, func(c *Config) { c.RunSync = run }))
		}
		replicas[0].Tick(ctx)
		const slots = 15
		for i := 1; i <= slots; i++ {
			clock.Set(t0.Add(time.Duration(i) * time.Minute))
			var wg sync.WaitGroup
			for _, r := range replicas {
				wg.Add(1)
				go func() { defer wg.Done(); r.Tick(ctx) }()
			}
			wg.Wait()
		}
		require.Equal(t, slots, runs, "one run per slot across the replicas")
		require.False(t, overlapped, "two replicas ran the job at once")
	})
}

// BenchmarkIdleTick is the cost of one pass over 50 jobs none of which is
// due: what every replica pays each poll.
func BenchmarkIdleTick(b *testing.B) {
	for name, loc := range map[string]func(t testing.TB) string{
		"sqlite":   func(testing.TB) string { return "state.db" },
		"postgres": func(t testing.TB) string { return dialecttest.NewPostgresDB(t) },
	} {
		b.Run(name, func(b *testing.B) {
			store, err := state.Open(context.Background(), b.TempDir(), loc(b))
			require.NoError(b, err)
			defer store.Close()
			var jobs []Job
			for i := range 50 {
				s, err := models.ParseCron("0 6 * * *", time.UTC)
				require.NoError(b, err)
				jobs = append(jobs, Job{Name: "sync:s" + strconv.Itoa(i), Sync: "s", Cron: s})
			}
			s, err := New(Config{Project: "shop", Jobs: jobs, Marks: store, Clock: newFakeClock(t0),
				Acquire: leases(store), Busy: held, RunSync: func(context.Context, string) error { return nil },
				Log: slog.New(slog.DiscardHandler)})
			require.NoError(b, err)
			ctx := context.Background()
			s.Tick(ctx)
			b.ResetTimer()
			for b.Loop() {
				s.Tick(ctx)
			}
		})
	}
}

// Survey gives new jobs their marks without running anything, and Ready
// follows whether the state store answered.
func TestSurveyAndReady(t *testing.T) {
	ctx := context.Background()
	store, err := state.Open(ctx, t.TempDir(), "state.db")
	require.NoError(t, err)
	rec := &recorder{}
	s := newScheduler(t, store, newFakeClock(t0), []Job{syncJob(t, "a", "@every 1m"), syncJob(t, "b", "0 6 * * *")},
		func(c *Config) { c.RunSync = rec.RunSync })
	ok, err := s.Ready()
	require.False(t, ok)
	require.NoError(t, err)
	require.NoError(t, s.Survey(ctx))
	ok, _ = s.Ready()
	require.True(t, ok)
	marks, err := store.Marks(ctx, "shop")
	require.NoError(t, err)
	require.Len(t, marks, 2)
	require.Empty(t, rec.take())

	require.NoError(t, store.Close())
	require.Error(t, s.Survey(ctx))
	ok, err = s.Ready()
	require.False(t, ok)
	require.ErrorContains(t, err, "state store")
}
