package scheduler

import (
	"context"
	"time"
)

// JobStatus is a job as `cohort schedule` shows it.
type JobStatus struct {
	Job      string     `json:"job"`
	Sync     string     `json:"sync,omitempty"`
	Schedule string     `json:"schedule"`
	LastSlot *time.Time `json:"last_slot,omitempty"` // the latest slot handled; nil: never seen by serve
	Started  *time.Time `json:"started_at,omitempty"`
	Finished *time.Time `json:"finished_at,omitempty"`
	Status   string     `json:"status,omitempty"` // succeeded | failed | unfinished (running, waiting for a busy project, or stopped) | ""
	Error    string     `json:"error,omitempty"`
	// Next is the job's next slot (nil for after: run, and for a job serve
	// has not seen yet, whose first slot counts from when it does).
	Next *time.Time `json:"next,omitempty"`
	// Due says the job would run at once: it missed a slot, was
	// interrupted, or follows a warehouse run it has not followed yet.
	Due bool `json:"due"`
}

// Status reads each job's mark: what serve last did with it and when it
// runs next, as of now.
func (s *Scheduler) Status(ctx context.Context, now time.Time) ([]JobStatus, error) {
	p := &pass{now: now}
	var out []JobStatus
	for _, j := range s.Jobs() {
		st := JobStatus{Job: j.Name, Sync: j.Sync, Schedule: j.Text}
		m, err := s.cfg.Marks.Mark(ctx, s.cfg.Project, j.Name)
		if err != nil {
			return nil, err
		}
		if m != nil {
			slot := m.Slot
			st.LastSlot, st.Started, st.Finished, st.Status, st.Error = &slot, m.StartedAt, m.FinishedAt, m.Status, m.Error
			if m.Interrupted() {
				st.Status = "unfinished"
			}
			_, due, err := s.due(ctx, j, m, p)
			if err != nil {
				return nil, err
			}
			st.Due = due
			if next := s.next(j, slot); !next.IsZero() {
				if due && next.Before(now) {
					next = now
				}
				st.Next = &next
			}
		}
		out = append(out, st)
	}
	return out, nil
}
