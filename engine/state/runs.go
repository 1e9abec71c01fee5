package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// StepRecord is one step of a run as recorded.
type StepRecord struct {
	Name      string           `json:"name"`
	StartedAt time.Time        `json:"started_at"`
	Seconds   float64          `json:"seconds"`
	Rows      map[string]int64 `json:"rows,omitempty"`
	Details   []string         `json:"details,omitempty"`
	Jobs      []string         `json:"jobs,omitempty"` // the warehouse's job ids (BigQuery), to find the step's cost
	Error     string           `json:"error,omitempty"`
	// Running: the step was under way when the run recorded its progress
	// (RecordProgress); a finished run has none.
	Running bool `json:"running,omitempty"`
}

// Run is one recorded `cohort run`.
type Run struct {
	ID         string       `json:"id"`
	Project    string       `json:"project"`
	Warehouse  string       `json:"warehouse"`
	Only       string       `json:"only,omitempty"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt *time.Time   `json:"finished_at,omitempty"`
	Status     string       `json:"status"`
	Error      string       `json:"error,omitempty"`
	FailedStep string       `json:"failed_step,omitempty"`
	Steps      []StepRecord `json:"steps"`
}

// Run statuses.
const (
	Running   = "running"
	Succeeded = "succeeded"
	Failed    = "failed"
	Cancelled = "cancelled" // stopped by a signal (or its caller); what it built was dropped
)

// Abandoned starts the error of a run whose process ended without
// recording how (killed, crashed, machine lost); its status is Failed.
const Abandoned = "abandoned"

// AbandonRuns marks every run of project still recorded as running, other
// than except, as failed (abandoned), and returns their ids. Call it only
// while holding the project's lease: then no other run of it is live.
func (s *Store) AbandonRuns(ctx context.Context, project, except string) ([]string, error) {
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, s.bind(`SELECT id FROM runs WHERE project = ? AND status = ? AND id <> ?`), project, Running, except); err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	for _, id := range ids {
		_, err := s.db.ExecContext(ctx, s.bind(`UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = ?`),
			Failed, Abandoned+": the process running it ended without recording how (killed, crashed or cut off)", s.timeArg(s.now()), id, Running)
		if err != nil {
			return nil, fmt.Errorf("state store: %w", err)
		}
	}
	return ids, nil
}

// RunIDs lists the ids of every recorded run of project.
func (s *Store) RunIDs(ctx context.Context, project string) (map[string]bool, error) {
	var list []string
	if err := s.db.SelectContext(ctx, &list, s.bind(`SELECT id FROM runs WHERE project = ?`), project); err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	ids := make(map[string]bool, len(list))
	for _, id := range list {
		ids[id] = true
	}
	return ids, nil
}

// StartRun records a run as running.
func (s *Store) StartRun(ctx context.Context, r *Run) error {
	r.Status = Running
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO runs (id, project, warehouse, only_part, started_at, status)
VALUES (?, ?, ?, ?, ?, ?)`), r.ID, r.Project, r.Warehouse, r.Only, s.timeArg(r.StartedAt), r.Status)
	if err != nil {
		return fmt.Errorf("state store: record run: %w", err)
	}
	return nil
}

// FinishRun records how a run ended, with its steps.
func (s *Store) FinishRun(ctx context.Context, r *Run) error {
	steps, err := json.Marshal(r.Steps)
	if err != nil {
		return err
	}
	fin := time.Now()
	if r.FinishedAt != nil {
		fin = *r.FinishedAt
	}
	_, err = s.db.ExecContext(ctx, s.bind(`UPDATE runs SET finished_at = ?, status = ?, error = ?, failed_step = ?, steps = ?
WHERE id = ?`), s.timeArg(fin), r.Status, r.Error, r.FailedStep, string(steps), r.ID)
	if err != nil {
		return fmt.Errorf("state store: record run: %w", err)
	}
	return nil
}

// RecordProgress records the steps a running run has done so far (and the
// one under way), so that its progress can be read while it runs.
// FinishRun replaces them with the run's own.
func (s *Store) RecordProgress(ctx context.Context, id string, steps []StepRecord) error {
	b, err := json.Marshal(steps)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.bind(`UPDATE runs SET steps = ? WHERE id = ? AND status = ?`), string(b), id, Running); err != nil {
		return fmt.Errorf("state store: record run progress: %w", err)
	}
	return nil
}

// runRow is a row of table runs as the store holds it: times as SQLite's
// text or PostgreSQL's timestamps, steps as JSON.
type runRow struct {
	ID         string `db:"id"`
	Project    string `db:"project"`
	Warehouse  string `db:"warehouse"`
	Only       string `db:"only_part"`
	StartedAt  any    `db:"started_at"`
	FinishedAt any    `db:"finished_at"`
	Status     string `db:"status"`
	Error      string `db:"error"`
	FailedStep string `db:"failed_step"`
	Steps      []byte `db:"steps"`
}

// Runs lists the most recent runs, newest first.
func (s *Store) Runs(ctx context.Context, limit int) ([]Run, error) {
	var rows []runRow
	if err := s.db.SelectContext(ctx, &rows, s.bind(`SELECT id, project, warehouse, only_part, started_at, finished_at, status, error, failed_step, steps
FROM runs ORDER BY started_at DESC LIMIT ?`), limit); err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	out := make([]Run, 0, len(rows))
	for _, row := range rows {
		r := Run{ID: row.ID, Project: row.Project, Warehouse: row.Warehouse, Only: row.Only, Status: row.Status, Error: row.Error, FailedStep: row.FailedStep}
		var err error
		if r.StartedAt, err = scanTime(row.StartedAt); err != nil {
			return nil, err
		}
		if row.FinishedAt != nil {
			t, err := scanTime(row.FinishedAt)
			if err != nil {
				return nil, err
			}
			r.FinishedAt = &t
		}
		if err := json.Unmarshal(row.Steps, &r.Steps); err != nil {
			return nil, fmt.Errorf("state store: run %s steps: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}
