package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Sync run statuses beyond Running, Succeeded and Failed.
const (
	// Partial: the run went to the end, but the destination rejected rows or
	// did not take them; they stay pending and are offered again next run.
	Partial = "partial"
)

// SyncRun is one recorded run of one sync.
type SyncRun struct {
	ID          string     `json:"id"`
	Project     string     `json:"project"`
	Sync        string     `json:"sync"`
	Destination string     `json:"destination"`
	Mode        string     `json:"mode"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	Status      string     `json:"status"` // running | succeeded | partial | failed
	Added       int64      `json:"added"`
	Changed     int64      `json:"changed"`
	Removed     int64      `json:"removed"`
	Rejected    int64      `json:"rejected"`
	Retried     int64      `json:"retried"`
	Pending     int64      `json:"pending"` // not delivered: offered again next run
	Error       string     `json:"error,omitempty"`
}

// Duration is how long the run took (so far, while running).
func (r *SyncRun) Duration() time.Duration {
	if r.FinishedAt == nil {
		return time.Since(r.StartedAt)
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// Rejection is one row a destination refused in a sync run.
type Rejection struct {
	RunID      string    `json:"run_id"`
	Sync       string    `json:"sync"`
	Key        string    `json:"key"`
	ProfileID  string    `json:"profile_id"`
	Reason     string    `json:"reason"`
	RejectedAt time.Time `json:"rejected_at"`
}

// StartSyncRun records a sync run as running.
func (s *Store) StartSyncRun(ctx context.Context, r *SyncRun) error {
	r.Status = Running
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO sync_runs (id, project, sync, destination, mode, started_at, status)
VALUES (?, ?, ?, ?, ?, ?, ?)`), r.ID, r.Project, r.Sync, r.Destination, r.Mode, s.syncTime(r.StartedAt), r.Status)
	if err != nil {
		return fmt.Errorf("state store: record sync run: %w", err)
	}
	return nil
}

// FinishSyncRun records how a sync run ended.
func (s *Store) FinishSyncRun(ctx context.Context, r *SyncRun) error {
	if r.FinishedAt == nil {
		t := time.Now()
		r.FinishedAt = &t
	}
	_, err := s.db.ExecContext(ctx, s.bind(`UPDATE sync_runs SET finished_at = ?, status = ?, added = ?, changed = ?, removed = ?,
rejected = ?, retried = ?, pending = ?, error = ? WHERE id = ?`), s.syncTime(*r.FinishedAt), r.Status, r.Added, r.Changed,
		r.Removed, r.Rejected, r.Retried, r.Pending, r.Error, r.ID)
	if err != nil {
		return fmt.Errorf("state store: record sync run: %w", err)
	}
	return nil
}

// AbandonSyncRuns marks the runs of a sync still recorded as running, other
// than current, as failed: their process died (the caller holds the
// project's lease, so no other process is running them).
func (s *Store) AbandonSyncRuns(ctx context.Context, project, sync, current string) error {
	_, err := s.db.ExecContext(ctx, s.bind(`UPDATE sync_runs SET status = ?, error = ?
WHERE project = ? AND sync = ? AND status = ? AND id <> ?`), Failed,
		"abandoned: the process running it stopped before the end; what it had acknowledged was kept", project, sync, Running, current)
	if err != nil {
		return fmt.Errorf("state store: abandon sync runs: %w", err)
	}
	return nil
}

// AddRejections records rows a destination refused in a run, in one transaction.
func (s *Store) AddRejections(ctx context.Context, project string, rs []Rejection) error {
	if len(rs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state store: record rejections: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, s.bind(`INSERT INTO sync_rejections (run_id, project, sync, sync_key, profile_id, reason, rejected_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`))
	if err != nil {
		return fmt.Errorf("state store: record rejections: %w", err)
	}
	defer stmt.Close()
	for _, r := range rs {
		if _, err := stmt.ExecContext(ctx, r.RunID, project, r.Sync, r.Key, r.ProfileID, r.Reason, s.syncTime(r.RejectedAt)); err != nil {
			return fmt.Errorf("state store: record rejections: %w", err)
		}
	}
	return tx.Commit()
}

// SyncRuns lists a project's runs of one sync ("" for every sync), newest first.
func (s *Store) SyncRuns(ctx context.Context, project, sync string, limit int) ([]SyncRun, error) {
	q := `SELECT id, project, sync, destination, mode, started_at, finished_at, status, added, changed, removed,
rejected, retried, pending, error FROM sync_runs WHERE project = ?`
	args := []any{project}
	if sync != "" {
		q += ` AND sync = ?`
		args = append(args, sync)
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.bind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("state store: sync runs: %w", err)
	}
	defer rows.Close()
	return scanSyncRuns(rows)
}

// LastSyncRuns is the latest run of each of a project's syncs, by sync name.
func (s *Store) LastSyncRuns(ctx context.Context, project string) (map[string]SyncRun, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT id, project, sync, destination, mode, started_at, finished_at, status,
added, changed, removed, rejected, retried, pending, error FROM sync_runs r
WHERE project = ? AND started_at = (SELECT max(started_at) FROM sync_runs x WHERE x.project = r.project AND x.sync = r.sync)`), project)
	if err != nil {
		return nil, fmt.Errorf("state store: sync runs: %w", err)
	}
	defer rows.Close()
	runs, err := scanSyncRuns(rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]SyncRun, len(runs))
	for _, r := range runs {
		out[r.Sync] = r
	}
	return out, nil
}

func scanSyncRuns(rows *sql.Rows) ([]SyncRun, error) {
	var out []SyncRun
	for rows.Next() {
		var (
			r                 SyncRun
			started, finished any
		)
		if err := rows.Scan(&r.ID, &r.Project, &r.Sync, &r.Destination, &r.Mode, &started, &finished, &r.Status,
			&r.Added, &r.Changed, &r.Removed, &r.Rejected, &r.Retried, &r.Pending, &r.Error); err != nil {
			return nil, fmt.Errorf("state store: sync runs: %w", err)
		}
		var err error
		if r.StartedAt, err = scanTime(started); err != nil {
			return nil, err
		}
		if finished != nil {
			t, err := scanTime(finished)
			if err != nil {
				return nil, err
			}
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Rejections lists the rows refused in one sync run.
func (s *Store) Rejections(ctx context.Context, runID string, limit int) ([]Rejection, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT run_id, sync, sync_key, profile_id, reason, rejected_at
FROM sync_rejections WHERE run_id = ? ORDER BY rejected_at, sync_key LIMIT ?`), runID, limit)
	if err != nil {
		return nil, fmt.Errorf("state store: rejections: %w", err)
	}
	defer rows.Close()
	return scanRejections(rows)
}

func scanRejections(rows *sql.Rows) ([]Rejection, error) {
	var out []Rejection
	for rows.Next() {
		var (
			r  Rejection
			at any
		)
		if err := rows.Scan(&r.RunID, &r.Sync, &r.Key, &r.ProfileID, &r.Reason, &at); err != nil {
			return nil, fmt.Errorf("state store: rejections: %w", err)
		}
		var err error
		if r.RejectedAt, err = scanTime(at); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PruneSyncHistory deletes a project's sync runs that started before
// runsBefore and rejected rows recorded before rejectionsBefore
// (retention.runs and retention.rejections); a run's rejections go with it.
func (s *Store) PruneSyncHistory(ctx context.Context, project string, runsBefore, rejectionsBefore time.Time) error {
	for _, st := range []struct {
		q   string
		arg time.Time
	}{
		{`DELETE FROM sync_rejections WHERE rejected_at < ? AND project = ?`, rejectionsBefore},
		{`DELETE FROM sync_rejections WHERE run_id IN (SELECT id FROM sync_runs WHERE started_at < ? AND project = ?)`, runsBefore},
		{`DELETE FROM sync_runs WHERE started_at < ? AND project = ? AND status <> 'running'`, runsBefore},
	} {
		if _, err := s.db.ExecContext(ctx, s.bind(st.q), s.syncTime(st.arg), project); err != nil {
			return fmt.Errorf("state store: prune sync history: %w", err)
		}
	}
	return nil
}

// syncTime is timeArg with a fixed number of digits on SQLite, so that the
// text sorts and compares as the time does (RFC 3339 with trimmed fractions
// puts 10:00:00.5 before 10:00:00).
func (s *Store) syncTime(t time.Time) any {
	if s.postgres {
		return t.UTC()
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// ProfileRejections lists the rows of one profile that destinations
// refused, in every sync of a project, newest first.
func (s *Store) ProfileRejections(ctx context.Context, project, profileID string) ([]Rejection, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT run_id, sync, sync_key, profile_id, reason, rejected_at
FROM sync_rejections WHERE project = ? AND profile_id = ? ORDER BY rejected_at DESC, sync_key`), project, profileID)
	if err != nil {
		return nil, fmt.Errorf("state store: rejections: %w", err)
	}
	defer rows.Close()
	return scanRejections(rows)
}
