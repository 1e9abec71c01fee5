package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/consent"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/sync"
)

// SyncReach is where a sync sends and how many people may go there: its
// segment's members outside the holdout, and of them those its consent
// rule (purpose, and transfer consent outside the EU/EEA) lets through,
// who have a value to match on, and nobody forgot: whom the sync sends. Members and Allowed are nil when not counted (offline, or
// before the first run), with Why saying so.
type SyncReach struct {
	Sync        string `json:"sync"`
	Destination string `json:"destination"`
	Region      string `json:"region"`
	OutsideEEA  bool   `json:"outside_eea"`
	Consent     string `json:"consent"` // the rule in words
	Match       string `json:"match"`   // the traits a member needs one of to be sent
	Members     *int64 `json:"members,omitempty"`
	Allowed     *int64 `json:"allowed_profiles,omitempty"`
	Why         string `json:"why_not_counted,omitempty"`
}

func (r SyncReach) String() string {
	where := "region " + r.Region
	if r.OutsideEEA {
		where += ", outside the EU/EEA"
	}
	s := fmt.Sprintf("sync %s → %s (%s): ", r.Sync, r.Destination, where)
	if r.Allowed == nil {
		return s + r.Why
	}
	return s + fmt.Sprintf("%d of %d members may go there: %s, and a value to match on (%s)", *r.Allowed, *r.Members, r.Consent, r.Match)
}

// Reach is every sync's region and consent rule and, when count is set,
// how many profiles may go there, counted in the warehouse.
func (s *Service) Reach(ctx context.Context, count bool) ([]SyncReach, error) {
	var out []SyncReach
	var wh dialects.Warehouse
	var c *plan.Context
	why := "not counted: validate without --offline counts in the warehouse"
	if count {
		var err error
		if wh, c, err = s.reader(ctx); err != nil {
			return nil, err
		}
		why = ""
		for _, t := range []string{profiles.Table, segments.MembershipsTable} {
			if _, err := wh.Columns(ctx, c.Schema+"."+t); errors.Is(err, dialects.ErrNoTable) {
				why = "not counted yet: run `cohort run` first"
			} else if err != nil {
				return nil, err
			}
		}
	}
	forgotten := false
	if why == "" {
		_, err := wh.Columns(ctx, c.Schema+"."+plan.SuppressionsTable)
		forgotten = err == nil
	}
	proj, err := s.project(ctx) // syncs created from the UI too
	if err != nil {
		return nil, err
	}
	for _, sy := range proj.Syncs {
		dest := s.Project.Destination(sy.Destination)
		spec, err := destinations.Lookup(dest.Type)
		if err != nil {
			return nil, err
		}
		r := SyncReach{Sync: sy.Name, Destination: dest.Name, Region: spec.RegionOf(dest.Region, dest.Config), Why: why}
		r.OutsideEEA = !destinations.InEEA(r.Region)
		rule, err := consent.For(proj, sy, r.Region, spec.IsInternal(dest.Config))
		if err != nil {
			return nil, err
		}
		r.Consent = rule.String()
		var match []string
		for _, t := range sy.Match {
			match = append(match, t)
		}
		slices.Sort(match)
		r.Match = strings.Join(slices.Compact(match), " or ")
		if why == "" {
			d := wh.Dialect()
			cond, err := sync.Eligible(proj, sy.Name, d, "a")
			if err != nil {
				return nil, err
			}
			if forgotten {
				cond += " AND " + consent.Unsuppressed(d, c.Schema, "a")
			}
			allowed := "sum(CASE WHEN " + cond + " THEN 1 ELSE 0 END)"
			var members, ok int64
			q := "SELECT count(*), coalesce(" + allowed + ", 0) FROM " + c.Input(profiles.Table) + " a JOIN " + c.Input(segments.MembershipsTable) +
				" m ON m.profile_id = a.profile_id AND m.segment = ? AND m.holdout IS NOT TRUE"
			if err := plan.QueryRow(ctx, wh, dialects.Bind(d, q), []any{sy.Segment}, &members, &ok); err != nil {
				return nil, fmt.Errorf("sync %s: counting who may go to %s: %w", sy.Name, dest.Name, err)
			}
			r.Members, r.Allowed = &members, &ok
		}
		out = append(out, r)
	}
	return out, nil
}
