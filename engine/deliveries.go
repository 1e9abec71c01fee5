package engine

import (
	"context"
	"time"

	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/state"
)

// PersonDelivery is a Delivery as the profile view shows it, with what the
// run did: add (the person entered the segment after the sync's previous
// run started, or it had none) or update (they were a member then, so this
// run sent changed fields). A person a mirror sync removed is no longer in
// its snapshot and is not listed.
type PersonDelivery struct {
	Delivery
	Action string `json:"action"` // add | update
}

// personDeliveries are a profile's Deliveries with their actions, from its
// memberships and the syncs' run history.
func (s *Service) personDeliveries(ctx context.Context, profileID string, memberships []profiles.Membership) ([]PersonDelivery, error) {
	list, err := s.Deliveries(ctx, profileID)
	if err != nil {
		return nil, err
	}
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	entered := map[string]time.Time{}
	for _, m := range memberships {
		entered[m.Segment] = m.EnteredAt
	}
	proj, err := s.project(ctx)
	if err != nil {
		return nil, err
	}
	history := map[string][]state.SyncRun{}
	out := make([]PersonDelivery, 0, len(list))
	for _, d := range list {
		hist, ok := history[d.Sync]
		if !ok {
			if hist, err = store.SyncRuns(ctx, s.Project.Name, d.Sync, 1000); err != nil {
				return nil, err
			}
			history[d.Sync] = hist
		}
		pd := PersonDelivery{Delivery: d, Action: "add"}
		segment := ""
		if sy := findSync(proj, d.Sync); sy != nil {
			segment = sy.Segment
		}
		for k := range hist { // newest first: the run, then the one before it
			if hist[k].ID == d.RunID {
				at, member := entered[segment]
				if k+1 < len(hist) && (!member || at.Before(hist[k+1].StartedAt)) {
					pd.Action = "update"
				}
				break
			}
		}
		out = append(out, pd)
	}
	return out, nil
}
