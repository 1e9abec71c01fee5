package scheduler

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/cohort-cdp/cohort/models"
)

// Job is one schedule of one piece of work: the warehouse run, or a sync
// on a cron line or after each warehouse run. A sync with both has two jobs.
type Job struct {
	// Name keys the job's mark in the state store: "run", "sync:NAME" (cron)
	// or "sync:NAME@run" (after: run).
	Name     string
	Sync     string        // the sync's name; "" for the warehouse run
	Cron     cron.Schedule // nil for after: run
	AfterRun bool
	Text     string // the schedule as written, for logs
}

// WarehouseJob is the name of the warehouse run's job.
const WarehouseJob = "run"

// JobsOf lists a validated project's scheduled jobs: the warehouse run
// first (so syncs after: run see it in the same pass), then the syncs in
// definition order. Syncs without a schedule run only by hand.
func JobsOf(p *models.Project) ([]Job, error) {
	loc := p.Location()
	var jobs []Job
	if p.Schedule.Cron != "" {
		s, err := models.ParseCron(p.Schedule.Cron, loc)
		if err != nil {
			return nil, fmt.Errorf("cohort.yaml schedule %q: %w", p.Schedule.Cron, err)
		}
		jobs = append(jobs, Job{Name: WarehouseJob, Cron: s, Text: p.Schedule.Cron})
	}
	for _, sy := range p.Syncs {
		if sy == nil {
			continue
		}
		if sy.Schedule.Cron != "" {
			s, err := models.ParseCron(sy.Schedule.Cron, loc)
			if err != nil {
				return nil, fmt.Errorf("%s: sync %s schedule %q: %w", sy.Pos, sy.Name, sy.Schedule.Cron, err)
			}
			jobs = append(jobs, Job{Name: "sync:" + sy.Name, Sync: sy.Name, Cron: s, Text: sy.Schedule.Cron})
		}
		if sy.Schedule.After == models.AfterRun {
			jobs = append(jobs, Job{Name: "sync:" + sy.Name + "@run", Sync: sy.Name, AfterRun: true, Text: "after: run"})
		}
	}
	return jobs, nil
}

// maxCatchUp bounds the walk over missed slots; a longer gap (an @every 1s
// job down for weeks) counts as handled up to now.
const maxCatchUp = 100_000

// latestSlot is the latest time of s after from and not after now, or from
// when there is none.
func latestSlot(s cron.Schedule, from, now time.Time) time.Time {
	last := from
	n := s.Next(from)
	for i := 0; !n.IsZero() && !n.After(now); i++ {
		if i == maxCatchUp {
			return now
		}
		last = n
		n = s.Next(n)
	}
	return last
}
