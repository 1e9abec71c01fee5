package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SavedSync is a sync created from the UI: its definition as JSON.
type SavedSync struct {
	Name       string    `json:"name"`
	Definition []byte    `json:"definition"`
	UpdatedBy  string    `json:"updated_by"`
	UpdatedAt  time.Time `json:"updated_at"`
	// DeletedAt: deleted from the UI. The definition is kept so that a
	// forget still reaches the destination it sent people to.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// ErrNoSync is a saved sync that does not exist.
var ErrNoSync = errors.New("no such saved sync")

// SaveSync creates or replaces a project's saved sync (a deleted one of
// the same name comes back).
func (s *Store) SaveSync(ctx context.Context, project string, sy SavedSync) error {
	if sy.UpdatedAt.IsZero() {
		sy.UpdatedAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO saved_syncs (project, name, definition, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (project, name) DO UPDATE SET definition = excluded.definition, updated_by = excluded.updated_by, updated_at = excluded.updated_at,
  deleted_at = NULL`),
		project, sy.Name, string(sy.Definition), sy.UpdatedBy, s.timeArg(sy.UpdatedAt))
	if err != nil {
		return fmt.Errorf("state store: save sync: %w", err)
	}
	return nil
}

// DeleteSync marks a saved sync deleted; ErrNoSync if there is none (or
// it is deleted already).
func (s *Store) DeleteSync(ctx context.Context, project, name string) error {
	res, err := s.db.ExecContext(ctx, s.bind(`UPDATE saved_syncs SET deleted_at = ? WHERE project = ? AND name = ? AND deleted_at IS NULL`),
		s.timeArg(s.now()), project, name)
	if err != nil {
		return fmt.Errorf("state store: delete sync: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoSync
	}
	return nil
}

// SavedSyncs lists a project's saved syncs by name, deleted ones included
// (DeletedAt set).
func (s *Store) SavedSyncs(ctx context.Context, project string) ([]SavedSync, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT name, definition, updated_by, updated_at, deleted_at FROM saved_syncs WHERE project = ? ORDER BY name`), project)
	if err != nil {
		return nil, fmt.Errorf("state store: saved syncs: %w", err)
	}
	defer rows.Close()
	var out []SavedSync
	for rows.Next() {
		var (
			sy       SavedSync
			def      string
			at, gone any
		)
		if err := rows.Scan(&sy.Name, &def, &sy.UpdatedBy, &at, &gone); err != nil {
			return nil, fmt.Errorf("state store: saved syncs: %w", err)
		}
		sy.Definition = []byte(def)
		if sy.UpdatedAt, err = scanTime(at); err != nil {
			return nil, err
		}
		if sy.DeletedAt, err = scanTimePtr(gone); err != nil {
			return nil, err
		}
		out = append(out, sy)
	}
	return out, rows.Err()
}
