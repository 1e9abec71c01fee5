package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// Delivery is what a sync last did with one person: the destination holds
// them (sent, from the sync's snapshot), or refused them in a run
// (rejected, from the run history, with the destination's reason).
type Delivery struct {
	Sync        string `json:"sync"`
	Destination string `json:"destination"`
	// Action is add (the person entered the segment after the sync's
	// previous run, or it had none) or update (they were a member then:
	// this run sent changed fields); a rejection has the action of its run.
	Action string     `json:"action"`
	Status string     `json:"status"` // sent | rejected
	Reason string     `json:"reason,omitempty"`
	At     *time.Time `json:"at,omitempty"` // when the run ended (sent) or the row was refused
	RunID  string     `json:"run_id"`
}

// deliveryRejections caps the rejections a person's view lists.
const deliveryRejections = 50

// Deliveries lists what the project's syncs did with one profile, newest
// first. A person a mirror sync removed is no longer in its snapshot, and
// is not listed.
func (s *Service) Deliveries(ctx context.Context, profileID string) ([]Delivery, error) {
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	view, err := profiles.View(ctx, wh, c, profileID)
	if err != nil {
		return nil, err
	}
	return s.deliveries(ctx, wh, c, profileID, view.Segments)
}

// deliveries are Deliveries of a profile whose memberships are known.
func (s *Service) deliveries(ctx context.Context, wh dialects.Warehouse, c *plan.Context, profileID string, memberships []profiles.Membership) ([]Delivery, error) {
	p := s.Project
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	out := []Delivery{}
	tables, err := wh.Tables(ctx, c.Schema, "_snapshot")
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, t := range tables {
		have[t.Name] = true
	}
	var parts []string
	var args []any
	var synced []*models.Sync
	for _, sy := range p.Syncs {
		if have[sync.SnapshotTable(sy.Name)] {
			parts = append(parts, fmt.Sprintf("SELECT %d AS i, run_id FROM %s WHERE profile_id = ?", len(synced), c.Final(sync.SnapshotTable(sy.Name))))
			args = append(args, profileID)
			synced = append(synced, sy)
		}
	}
	entered := map[string]time.Time{}
	for _, m := range memberships {
		entered[m.Segment] = m.EnteredAt
	}
	// runOf is a sync run by id (nil when pruned) and its action for the
	// person: add when they entered the segment after the sync's previous
	// run started (or it had none), else update.
	history := map[string][]state.SyncRun{}
	runOf := func(syncName, segment, id string) (*state.SyncRun, string, error) {
		hist, ok := history[syncName]
		if !ok {
			var err error
			if hist, err = store.SyncRuns(ctx, p.Name, syncName, 1000); err != nil {
				return nil, "", err
			}
			history[syncName] = hist
		}
		for k := range hist { // newest first: the run, then the one before it
			if hist[k].ID != id {
				continue
			}
			at, member := entered[segment]
			if k+1 < len(hist) && (!member || at.Before(hist[k+1].StartedAt)) {
				return &hist[k], "update", nil
			}
			return &hist[k], "add", nil
		}
		return nil, "add", nil
	}
	if len(parts) > 0 {
		acked := map[int]map[string]bool{}
		rows, err := wh.Query(ctx, dialects.Bind(wh.Dialect(), strings.Join(parts, "\nUNION ALL\n")), args...)
		if err != nil {
			return nil, fmt.Errorf("deliveries: %w", err)
		}
		for rows.Next() {
			var i int
			var run string
			if err := rows.Scan(&i, &run); err != nil {
				rows.Close()
				return nil, err
			}
			if acked[i] == nil {
				acked[i] = map[string]bool{}
			}
			acked[i][run] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for i, runs := range acked {
			sy := synced[i]
			for id := range runs {
				d := Delivery{Sync: sy.Name, Destination: sy.Destination, Status: "sent", RunID: id}
				run, action, err := runOf(sy.Name, sy.Segment, id)
				if err != nil {
					return nil, err
				}
				d.Action = action
				if run != nil {
					d.At = run.FinishedAt
					if d.At == nil {
						d.At = &run.StartedAt
					}
				}
				out = append(out, d)
			}
		}
	}
	rejected, err := store.ProfileRejections(ctx, p.Name, profileID, deliveryRejections)
	if err != nil {
		return nil, err
	}
	for _, r := range rejected {
		d := Delivery{Sync: r.Sync, Status: "rejected", Reason: r.Reason, RunID: r.RunID, At: &r.RejectedAt}
		segment := ""
		if sy := findSync(p, r.Sync); sy != nil {
			segment = sy.Segment
		}
		run, action, err := runOf(r.Sync, segment, r.RunID)
		if err != nil {
			return nil, err
		}
		if d.Action = action; run != nil {
			d.Destination = run.Destination
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].At, out[j].At
		if a == nil || b == nil {
			return b == nil && a != nil
		}
		return a.After(*b)
	})
	return out, nil
}

