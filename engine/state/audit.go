package state

import (
	"context"
	"fmt"
	"sync"
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

// Audit appends an entry (At defaults to now) and returns once it is
// committed. The log is append-only: nothing in the store updates or
// deletes its rows.
//
// Entries of concurrent calls are committed together (group commit): while
// one transaction writes, the entries arriving meanwhile wait for the next,
// which writes them all. Each call still returns only after its own entry
// is committed, as durable as any other write of the store; many look-ups
// a second then cost a few transactions instead of one each, and do not
// queue on SQLite's one writer.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	q := &s.audit
	q.mu.Lock()
	if q.next == nil {
		q.next = &auditBatch{done: make(chan struct{})}
	}
	b := q.next
	b.entries = append(b.entries, e)
	if !q.writing {
		q.writing = true
		go s.writeAudit()
	}
	q.mu.Unlock()
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done(): // the entry is written all the same
		return ctx.Err()
	}
}

// auditQueue is the batch of audit entries waiting for the next transaction.
type auditQueue struct {
	mu      sync.Mutex
	next    *auditBatch
	writing bool // a goroutine is writing batches
}

type auditBatch struct {
	entries []AuditEntry
	err     error
	done    chan struct{} // closed once written (err says how)
}

// writeAudit writes batches until none waits.
func (s *Store) writeAudit() {
	q := &s.audit
	for {
		q.mu.Lock()
		b := q.next
		q.next = nil
		if b == nil {
			q.writing = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		b.err = s.insertAudit(b.entries)
		close(b.done)
	}
}

// insertAudit writes entries in one transaction, in order.
func (s *Store) insertAudit(entries []AuditEntry) error {
	ctx := context.Background() // the entries of many requests: none may cancel the others
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state store: audit: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, s.bind(`INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)`))
	if err != nil {
		return fmt.Errorf("state store: audit: %w", err)
	}
	defer ins.Close()
	for _, e := range entries {
		if _, err := ins.ExecContext(ctx, s.timeArg(e.At), e.Actor, e.Role, e.Action, e.Target, e.Detail); err != nil {
			return fmt.Errorf("state store: audit: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
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
