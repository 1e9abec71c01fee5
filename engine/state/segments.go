package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SavedSegment is a segment saved from the UI: its definition as JSON.
type SavedSegment struct {
	Name       string    `json:"name"`
	Definition []byte    `json:"definition"`
	UpdatedBy  string    `json:"updated_by"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ErrNoSegment is a saved segment that does not exist.
var ErrNoSegment = errors.New("no such saved segment")

// SaveSegment creates or replaces a project's saved segment.
func (s *Store) SaveSegment(ctx context.Context, project string, seg SavedSegment) error {
	if seg.UpdatedAt.IsZero() {
		seg.UpdatedAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO saved_segments (project, name, definition, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (project, name) DO UPDATE SET definition = excluded.definition, updated_by = excluded.updated_by, updated_at = excluded.updated_at`),
		project, seg.Name, string(seg.Definition), seg.UpdatedBy, s.timeArg(seg.UpdatedAt))
	if err != nil {
		return fmt.Errorf("state store: save segment: %w", err)
	}
	return nil
}

// DeleteSegment removes a saved segment; ErrNoSegment if there is none.
func (s *Store) DeleteSegment(ctx context.Context, project, name string) error {
	res, err := s.db.ExecContext(ctx, s.bind(`DELETE FROM saved_segments WHERE project = ? AND name = ?`), project, name)
	if err != nil {
		return fmt.Errorf("state store: delete segment: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoSegment
	}
	return nil
}

// SavedSegments lists a project's saved segments by name.
func (s *Store) SavedSegments(ctx context.Context, project string) ([]SavedSegment, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT name, definition, updated_by, updated_at FROM saved_segments WHERE project = ? ORDER BY name`), project)
	if err != nil {
		return nil, fmt.Errorf("state store: saved segments: %w", err)
	}
	defer rows.Close()
	var out []SavedSegment
	for rows.Next() {
		var (
			seg SavedSegment
			def string
			at  any
		)
		if err := rows.Scan(&seg.Name, &def, &seg.UpdatedBy, &at); err != nil {
			return nil, fmt.Errorf("state store: saved segments: %w", err)
		}
		seg.Definition = []byte(def)
		if seg.UpdatedAt, err = scanTime(at); err != nil {
			return nil, err
		}
		out = append(out, seg)
	}
	return out, rows.Err()
}

// PauseSync marks a sync paused (again: no change); ResumeSync clears it.
func (s *Store) PauseSync(ctx context.Context, project, sync, by string) error {
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO sync_pauses (project, sync, paused_by, paused_at) VALUES (?, ?, ?, ?)
ON CONFLICT (project, sync) DO NOTHING`), project, sync, by, s.timeArg(s.now()))
	if err != nil {
		return fmt.Errorf("state store: pause sync: %w", err)
	}
	return nil
}

// ResumeSync clears a sync's pause.
func (s *Store) ResumeSync(ctx context.Context, project, sync string) error {
	if _, err := s.db.ExecContext(ctx, s.bind(`DELETE FROM sync_pauses WHERE project = ? AND sync = ?`), project, sync); err != nil {
		return fmt.Errorf("state store: resume sync: %w", err)
	}
	return nil
}

// PausedSyncs is the paused syncs of a project, by name.
func (s *Store) PausedSyncs(ctx context.Context, project string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT sync FROM sync_pauses WHERE project = ?`), project)
	if err != nil {
		return nil, fmt.Errorf("state store: paused syncs: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}
