package state

import (
	"context"
	"fmt"
)

// ProfileRejections lists the rows refused for one profile in a project's
// sync runs, newest first (a person's deliveries).
func (s *Store) ProfileRejections(ctx context.Context, project, profileID string, limit int) ([]Rejection, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT run_id, sync, sync_key, profile_id, reason, rejected_at
FROM sync_rejections WHERE project = ? AND profile_id = ? ORDER BY rejected_at DESC LIMIT ?`), project, profileID, limit)
	if err != nil {
		return nil, fmt.Errorf("state store: rejections of a profile: %w", err)
	}
	defer rows.Close()
	var out []Rejection
	for rows.Next() {
		var (
			r  Rejection
			at any
		)
		if err := rows.Scan(&r.RunID, &r.Sync, &r.Key, &r.ProfileID, &r.Reason, &at); err != nil {
			return nil, fmt.Errorf("state store: rejections of a profile: %w", err)
		}
		if r.RejectedAt, err = scanTime(at); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
