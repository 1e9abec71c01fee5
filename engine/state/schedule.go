package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Mark is how far a scheduled job of `cohort serve` has got: the latest
// slot (scheduled time, or for after: run the end of the warehouse run) it
// has handled. Replicas sharing the store read and advance the same mark.
type Mark struct {
	Project    string     `json:"project"`
	Job        string     `json:"job"`
	Slot       time.Time  `json:"slot"`
	Claims     int64      `json:"-"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Status     string     `json:"status,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// Interrupted reports whether the job started for its slot and never
// finished: its process died (or, without the job's lease, still runs).
func (m *Mark) Interrupted() bool { return m.StartedAt != nil && m.FinishedAt == nil }

const markColumns = `project, job, slot, claims, started_at, finished_at, status, error`

// Mark returns a job's mark, or nil when the job has none yet.
func (s *Store) Mark(ctx context.Context, project, job string) (*Mark, error) {
	row := s.db.QueryRowContext(ctx, s.bind(`SELECT `+markColumns+` FROM schedule_marks WHERE project = ? AND job = ?`), project, job)
	m, err := scanMark(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state store: read schedule mark %s: %w", job, err)
	}
	return m, nil
}

// Marks lists a project's marks by job.
func (s *Store) Marks(ctx context.Context, project string) ([]Mark, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT `+markColumns+` FROM schedule_marks WHERE project = ? ORDER BY job`), project)
	if err != nil {
		return nil, fmt.Errorf("state store: read schedule marks: %w", err)
	}
	defer rows.Close()
	var out []Mark
	for rows.Next() {
		m, err := scanMark(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("state store: read schedule marks: %w", err)
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

func scanMark(scan func(...any) error) (*Mark, error) {
	var (
		m                Mark
		slot, start, fin any
	)
	if err := scan(&m.Project, &m.Job, &slot, &m.Claims, &start, &fin, &m.Status, &m.Error); err != nil {
		return nil, err
	}
	var err error
	if m.Slot, err = scanTime(slot); err != nil {
		return nil, err
	}
	if m.StartedAt, err = scanTimePtr(start); err != nil {
		return nil, err
	}
	if m.FinishedAt, err = scanTimePtr(fin); err != nil {
		return nil, err
	}
	return &m, nil
}

func scanTimePtr(v any) (*time.Time, error) {
	if v == nil {
		return nil, nil
	}
	t, err := scanTime(v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// InitMark gives a job its first mark, handled up to slot, unless another
// process gave it one first.
func (s *Store) InitMark(ctx context.Context, project, job string, slot time.Time) error {
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO schedule_marks (project, job, slot) VALUES (?, ?, ?)
ON CONFLICT (project, job) DO NOTHING`), project, job, s.timeArg(slot))
	if err != nil {
		return fmt.Errorf("state store: schedule mark %s: %w", job, err)
	}
	return nil
}

// StartMark records that a job starts for slot, only if its mark is still
// the one read (m.Claims): false means another process claimed it first.
func (s *Store) StartMark(ctx context.Context, m *Mark, slot, startedAt time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.bind(`UPDATE schedule_marks
SET slot = ?, claims = claims + 1, started_at = ?, finished_at = NULL, status = '', error = ''
WHERE project = ? AND job = ? AND claims = ?`), s.timeArg(slot), s.timeArg(startedAt), m.Project, m.Job, m.Claims)
	if err != nil {
		return false, fmt.Errorf("state store: start %s: %w", m.Job, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state store: start %s: %w", m.Job, err)
	}
	return n == 1, nil
}

// FinishMark records how a started job ended (status succeeded or failed).
func (s *Store) FinishMark(ctx context.Context, project, job string, finishedAt time.Time, status, errText string) error {
	_, err := s.db.ExecContext(ctx, s.bind(`UPDATE schedule_marks SET finished_at = ?, status = ?, error = ?
WHERE project = ? AND job = ?`), s.timeArg(finishedAt), status, errText, project, job)
	if err != nil {
		return fmt.Errorf("state store: finish %s: %w", job, err)
	}
	return nil
}

// LastSucceededRun is when the project's latest successful warehouse run
// ended; ok is false when it has none.
func (s *Store) LastSucceededRun(ctx context.Context, project string) (last time.Time, ok bool, err error) {
	// Parsed and compared in Go: SQLite keeps times as RFC 3339 text, whose
	// order is not the time order when fractions differ in length.
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT finished_at FROM runs
WHERE project = ? AND status = ? AND finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 20`), project, Succeeded)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("state store: last run: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return time.Time{}, false, fmt.Errorf("state store: last run: %w", err)
		}
		t, err := scanTime(v)
		if err != nil {
			return time.Time{}, false, err
		}
		if !ok || t.After(last) {
			last, ok = t, true
		}
	}
	return last, ok, rows.Err()
}

// PruneRuns deletes the project's finished runs that started before before
// and says how many went.
func (s *Store) PruneRuns(ctx context.Context, project string, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.bind(`DELETE FROM runs WHERE project = ? AND started_at < ? AND status <> ?`), project, s.timeArg(before), Running)
	if err != nil {
		return 0, fmt.Errorf("state store: prune runs: %w", err)
	}
	return res.RowsAffected()
}

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	return nil
}
