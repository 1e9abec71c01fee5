package state

import (
	"context"
	"fmt"
	"time"
)

// AuditEntry is one line of the audit log: who did what, when.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"` // token name, or "cli"
	Role   string    `json:"role"`
	Action string    `json:"action"` // segment.create, sync.run, profile.view ...
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// Audit appends an entry (At defaults to now). The log is append-only:
// nothing in the store updates or deletes its rows.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)`),
		s.timeArg(e.At), e.Actor, e.Role, e.Action, e.Target, e.Detail)
	if err != nil {
		return fmt.Errorf("state store: audit: %w", err)
	}
	return nil
}

// AuditLog is the newest limit entries, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT id, at, actor, role, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("state store: audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var (
			e  AuditEntry
			at any
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Role, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("state store: audit log: %w", err)
		}
		if e.At, err = scanTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
