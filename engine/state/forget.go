package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// The steps of an erasure request, in order; a request records the last one done.
const (
	ForgetSuppressed   = "suppressed"   // its identifiers are on the suppression list
	ForgetOutput       = "output"       // the person left the output tables
	ForgetDestinations = "destinations" // every destination answered the erasure
	ForgetDone         = "done"
)

// ForgetRequest is one erasure request (cohort forget).
type ForgetRequest struct {
	ID          string     `json:"id"` // the requested identifier's suppression hash
	Project     string     `json:"project"`
	Step        string     `json:"step"`
	ProfileIDs  []string   `json:"profile_ids"`
	RequestedAt time.Time  `json:"requested_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

// Erasure is what one sync's destination answered to a request.
type Erasure struct {
	RequestID   string    `json:"request_id"`
	Sync        string    `json:"sync"`
	Destination string    `json:"destination"`
	Status      string    `json:"status"` // erased | removed | not_held | failed | unsupported | not_in_project
	Records     int64     `json:"records"`
	Detail      string    `json:"detail,omitempty"`
	At          time.Time `json:"at"`
}

// Suppress records an erasure request (or finds the one with this id) and
// adds hashes to the project's suppression list, in one transaction. It is
// idempotent: a request already known keeps its step, and gains any new
// profile ids and hashes.
func (s *Store) Suppress(ctx context.Context, r *ForgetRequest, hashes []string) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state store: forget: %w", err)
	}
	defer tx.Rollback()
	var step, ids string
	err = tx.QueryRowxContext(ctx, s.bind(`SELECT step, profile_ids FROM forget_requests WHERE id = ?`), r.ID).Scan(&step, &ids)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.Step = ForgetSuppressed
		b, _ := json.Marshal(sortedSet(r.ProfileIDs, nil))
		_, err = tx.ExecContext(ctx, s.bind(`INSERT INTO forget_requests (id, project, step, profile_ids, requested_at) VALUES (?, ?, ?, ?, ?)`),
			r.ID, r.Project, r.Step, string(b), s.syncTime(r.RequestedAt))
	case err == nil:
		var old []string
		_ = json.Unmarshal([]byte(ids), &old)
		r.ProfileIDs = sortedSet(r.ProfileIDs, old)
		b, _ := json.Marshal(r.ProfileIDs)
		// new profiles may hold the person again: every step is done again
		r.Step = ForgetSuppressed
		_, err = tx.ExecContext(ctx, s.bind(`UPDATE forget_requests SET profile_ids = ?, step = ?, finished_at = NULL WHERE id = ?`), string(b), r.Step, r.ID)
	}
	if err != nil {
		return fmt.Errorf("state store: forget: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, s.bind(`INSERT INTO suppressions (project, identifier_hash, request_id, added_at) VALUES (?, ?, ?, ?)
ON CONFLICT (project, identifier_hash) DO NOTHING`), r.Project, h, r.ID, s.syncTime(r.RequestedAt)); err != nil {
			return fmt.Errorf("state store: suppression list: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state store: forget: %w", err)
	}
	return nil
}

func sortedSet(a, b []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, x := range append(append([]string(nil), a...), b...) {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// Suppressions is the project's suppression list, sorted.
func (s *Store) Suppressions(ctx context.Context, project string) ([]string, error) {
	var out []string
	if err := s.db.SelectContext(ctx, &out, s.bind(`SELECT identifier_hash FROM suppressions WHERE project = ? ORDER BY identifier_hash`), project); err != nil {
		return nil, fmt.Errorf("state store: suppression list: %w", err)
	}
	return out, nil
}

// RequestSuppressions are the hashes a request added.
func (s *Store) RequestSuppressions(ctx context.Context, requestID string) ([]string, error) {
	var out []string
	if err := s.db.SelectContext(ctx, &out, s.bind(`SELECT identifier_hash FROM suppressions WHERE request_id = ? ORDER BY identifier_hash`), requestID); err != nil {
		return nil, fmt.Errorf("state store: suppression list: %w", err)
	}
	return out, nil
}

// ForgetStep records the last step a request has done.
func (s *Store) ForgetStep(ctx context.Context, id, step string, at time.Time) error {
	var fin any
	if step == ForgetDone {
		fin = s.syncTime(at)
	}
	if _, err := s.db.ExecContext(ctx, s.bind(`UPDATE forget_requests SET step = ?, finished_at = ? WHERE id = ?`), step, fin, id); err != nil {
		return fmt.Errorf("state store: forget: %w", err)
	}
	return nil
}

// ForgetRequests are the project's requests, oldest first; pending only
// those not done.
func (s *Store) ForgetRequests(ctx context.Context, project string, pending bool) ([]ForgetRequest, error) {
	q := `SELECT id, project, step, profile_ids, requested_at, finished_at FROM forget_requests WHERE project = ?`
	if pending {
		q += ` AND step <> '` + ForgetDone + `'`
	}
	rows, err := s.db.QueryContext(ctx, s.bind(q+` ORDER BY requested_at, id`), project)
	if err != nil {
		return nil, fmt.Errorf("state store: forget requests: %w", err)
	}
	defer rows.Close()
	var out []ForgetRequest
	for rows.Next() {
		var r ForgetRequest
		var ids string
		var at, fin any
		if err := rows.Scan(&r.ID, &r.Project, &r.Step, &ids, &at, &fin); err != nil {
			return nil, fmt.Errorf("state store: forget requests: %w", err)
		}
		_ = json.Unmarshal([]byte(ids), &r.ProfileIDs)
		if r.RequestedAt, err = scanTime(at); err != nil {
			return nil, err
		}
		if fin != nil {
			t, err := scanTime(fin)
			if err != nil {
				return nil, err
			}
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecordErasure records (or replaces) what a sync's destination answered.
func (s *Store) RecordErasure(ctx context.Context, e Erasure) error {
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO erasures (request_id, sync, destination, status, records, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (request_id, sync) DO UPDATE SET destination = excluded.destination, status = excluded.status, records = excluded.records,
detail = excluded.detail, at = excluded.at`), e.RequestID, e.Sync, e.Destination, e.Status, e.Records, e.Detail, s.syncTime(e.At))
	if err != nil {
		return fmt.Errorf("state store: erasure: %w", err)
	}
	return nil
}

// Erasures are a request's outcomes, by sync.
func (s *Store) Erasures(ctx context.Context, requestID string) ([]Erasure, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT request_id, sync, destination, status, records, detail, at FROM erasures WHERE request_id = ? ORDER BY sync`), requestID)
	if err != nil {
		return nil, fmt.Errorf("state store: erasures: %w", err)
	}
	defer rows.Close()
	var out []Erasure
	for rows.Next() {
		var e Erasure
		var at any
		if err := rows.Scan(&e.RequestID, &e.Sync, &e.Destination, &e.Status, &e.Records, &e.Detail, &at); err != nil {
			return nil, fmt.Errorf("state store: erasures: %w", err)
		}
		if e.At, err = scanTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ForgetRejections deletes the rejected rows of profiles: they carry the
// match key as sent (an e-mail address) in clear.
func (s *Store) ForgetRejections(ctx context.Context, project string, profileIDs []string) error {
	for _, id := range profileIDs {
		if _, err := s.db.ExecContext(ctx, s.bind(`DELETE FROM sync_rejections WHERE project = ? AND profile_id = ?`), project, id); err != nil {
			return fmt.Errorf("state store: forget rejected rows: %w", err)
		}
	}
	return nil
}

// SuppressedBy is the id of the request that put hash on a project's
// suppression list, "" when it is not on it.
func (s *Store) SuppressedBy(ctx context.Context, project, hash string) (string, error) {
	var id string
	err := s.db.QueryRowxContext(ctx, s.bind(`SELECT request_id FROM suppressions WHERE project = ? AND identifier_hash = ?`), project, hash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("state store: suppression list: %w", err)
	}
	return id, nil
}

// Suppressed reports whether hash is on a project's suppression list, and
// since when.
func (s *Store) Suppressed(ctx context.Context, project, hash string) (time.Time, bool, error) {
	var at any
	err := s.db.QueryRowxContext(ctx, s.bind(`SELECT added_at FROM suppressions WHERE project = ? AND identifier_hash = ?`), project, hash).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, fmt.Errorf("state store: suppression list: %w", err)
	}
	t, err := scanTime(at)
	return t, err == nil, err
}
