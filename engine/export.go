package engine

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/engine/sync"
)

// ProfileExport is everything Cohort holds about one person, for a subject
// access request (GDPR art. 15): it names them in clear, so only an admin
// may ask for it, and asking is audited.
type ProfileExport struct {
	Project    string    `json:"project"`
	ExportedAt time.Time `json:"exported_at"`
	Requested  string    `json:"requested_identifier"` // TYPE:VALUE as asked
	// Suppressed: the identifier is on the suppression list (the person was
	// forgotten); Cohort then holds nothing else of them.
	Suppressed  bool       `json:"suppressed"`
	ForgottenAt *time.Time `json:"forgotten_at,omitempty"`
	ProfileID   string     `json:"profile_id,omitempty"`
	// Identifiers with the sources holding each.
	Identifiers []identity.ProfileIdentifier `json:"identifiers"`
	Traits      []profiles.TraitValue        `json:"traits"`
	Segments    []profiles.Membership        `json:"segments"`
	// SegmentHistory is every entry and exit the output schema recorded.
	SegmentHistory []SegmentChange `json:"segment_history"`
	// Deliveries: what each sync's destination holds of them, and the rows
	// a destination refused.
	Deliveries []Delivery `json:"deliveries"`
	// RecentEvents are the newest events Cohort reads of them; SourceRows
	// counts every row the sources hold with one of their identifiers (the
	// sources are the company's own systems: export those rows there).
	RecentEvents []profiles.Event `json:"recent_events"`
	SourceRows   map[string]int64 `json:"source_rows"`
}

// SegmentChange is one entry into or exit from a segment.
type SegmentChange struct {
	Segment string    `json:"segment"`
	Change  string    `json:"change"` // entered | exited
	At      time.Time `json:"at"`
}

// Delivery is what one sync did with one person: the destination holds
// them (status sent: its snapshot keeps the match key the destination
// acknowledged), or refused them in a run (status rejected, with the reason).
type Delivery struct {
	Sync        string            `json:"sync"`
	Destination string            `json:"destination"`
	Region      string            `json:"region"`
	Status      string            `json:"status"` // sent | rejected
	Key         map[string]string `json:"key"`    // the match key as sent
	Reason      string            `json:"reason,omitempty"`
	RunID       string            `json:"run_id"`
	At          *time.Time        `json:"at,omitempty"` // when that run started
}

// ExportProfile gathers everything Cohort holds about the person holding id.
// A person on the suppression list is reported as such with nothing else;
// an identifier that neither a profile nor the suppression list holds is
// ErrNotFound.
func (s *Service) ExportProfile(ctx context.Context, id Ident) (*ProfileExport, error) {
	if err := s.knownIdent(id); err != nil {
		return nil, err
	}
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	out := &ProfileExport{Project: s.Project.Name, ExportedAt: s.now().UTC(), Requested: id.Type + ":" + id.Value,
		Identifiers: []identity.ProfileIdentifier{}, Traits: []profiles.TraitValue{}, Segments: []profiles.Membership{},
		SegmentHistory: []SegmentChange{}, Deliveries: []Delivery{}, RecentEvents: []profiles.Event{}, SourceRows: map[string]int64{}}
	norm, err := identity.Normalize(ctx, wh, c, id.Type, id.Value)
	if err != nil {
		return nil, err
	}
	if at, ok, err := store.Suppressed(ctx, s.Project.Name, identity.SuppressionHash(id.Type, norm)); err != nil {
		return nil, err
	} else if ok {
		out.Suppressed, out.ForgottenAt = true, &at
		return out, nil
	}
	who, err := identity.Lookup(ctx, wh, c, id.Type, id.Value)
	if err != nil {
		return nil, err
	}
	out.ProfileID, out.Identifiers = who.ID, who.Identifiers
	view, err := profiles.View(ctx, wh, c, who.ID)
	if err != nil {
		return nil, err
	}
	out.Traits, out.Segments, out.RecentEvents = view.Traits, view.Segments, view.Events
	if out.SegmentHistory, err = segmentChanges(ctx, wh, c, who.ID); err != nil {
		return nil, err
	}
	if out.Deliveries, err = s.Deliveries(ctx, who.ID); err != nil {
		return nil, err
	}
	var hashes []string
	for _, x := range who.Identifiers {
		hashes = append(hashes, identity.SuppressionHash(x.Type, x.Value))
	}
	if out.SourceRows, err = identity.HeldBy(ctx, wh, c, hashes); err != nil {
		return nil, err
	}
	return out, nil
}

func segmentChanges(ctx context.Context, wh dialects.Warehouse, c *plan.Context, profileID string) ([]SegmentChange, error) {
	out := []SegmentChange{}
	if _, err := wh.Columns(ctx, c.Schema+"."+segments.HistoryTable); errors.Is(err, dialects.ErrNoTable) {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	rows, err := wh.Query(ctx, dialects.Bind(wh.Dialect(), "SELECT segment, change, changed_at FROM "+c.Input(segments.HistoryTable)+
		" WHERE profile_id = ? ORDER BY changed_at, segment"), profileID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ch SegmentChange
		if err := rows.Scan(&ch.Segment, &ch.Change, &ch.At); err != nil {
			return nil, err
		}
		ch.At = ch.At.UTC()
		out = append(out, ch)
	}
	return out, rows.Err()
}

// Deliveries is what every sync of the project holds or refused of one
// profile: its snapshot's rows (the destination holds them) and the
// rejected rows of its run history, newest run first per sync.
func (s *Service) Deliveries(ctx context.Context, profileID string) ([]Delivery, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	d := wh.Dialect()
	rejected, err := store.ProfileRejections(ctx, s.Project.Name, profileID)
	if err != nil {
		return nil, err
	}
	out := []Delivery{}
	proj, err := s.everySync(ctx) // syncs made in the UI too, deleted ones included: their destinations still hold people
	if err != nil {
		return nil, err
	}
	for _, sy := range proj.Syncs {
		dest := s.Project.Destination(sy.Destination)
		region := ""
		if spec, err := destinations.Lookup(dest.Type); err == nil {
			region = spec.RegionOf(dest.Region, dest.Config)
		}
		var started map[string]time.Time // the sync's run history, read once it is needed (a profile view reads this)
		var runsErr error
		at := func(run string) *time.Time {
			if started == nil {
				started = map[string]time.Time{}
				var runs []state.SyncRun
				runs, runsErr = store.SyncRuns(ctx, s.Project.Name, sy.Name, 100000)
				for _, r := range runs {
					started[r.ID] = r.StartedAt
				}
			}
			if t, ok := started[run]; ok {
				return &t
			}
			return nil
		}
		var mine []Delivery
		_, err = wh.Columns(ctx, c.Schema+"."+sync.SnapshotTable(sy.Name))
		switch {
		case errors.Is(err, dialects.ErrNoTable): // never synced
		case err != nil:
			return nil, err
		default:
			rows, err := wh.Query(ctx, dialects.Bind(d, "SELECT sync_key, run_id FROM "+d.Quote(c.Schema, sync.SnapshotTable(sy.Name))+
				" WHERE profile_id = ? ORDER BY sync_key"), profileID)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var key, run string
				if err := rows.Scan(&key, &run); err != nil {
					rows.Close()
					return nil, err
				}
				mine = append(mine, Delivery{Sync: sy.Name, Destination: dest.Name, Region: region, Status: "sent",
					Key: sync.KeyValues(sy, key), RunID: run, At: at(run)})
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return nil, err
			}
		}
		for _, r := range rejected {
			if r.Sync == sy.Name {
				t := r.RejectedAt.UTC()
				mine = append(mine, Delivery{Sync: sy.Name, Destination: dest.Name, Region: region, Status: "rejected",
					Key: sync.KeyValues(sy, r.Key), Reason: r.Reason, RunID: r.RunID, At: &t})
			}
		}
		if runsErr != nil {
			return nil, runsErr
		}
		sort.SliceStable(mine, func(i, j int) bool {
			a, b := mine[i].At, mine[j].At
			return a != nil && (b == nil || a.After(*b))
		})
		out = append(out, mine...)
	}
	return out, nil
}
