package profiles

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
)

// RecentEvents is how many events View shows.
const RecentEvents = 20

// ProfileView is one person: traits, segments and recent events.
type ProfileView struct {
	ProfileID string       `json:"profile_id"`
	Traits    []TraitValue `json:"traits"`
	Segments  []Membership `json:"segments"`
	Events    []Event      `json:"events"`
}

// TraitValue is one column of the profile's row, in the table's order.
type TraitValue struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Membership is a segment the profile is in.
type Membership struct {
	Segment   string    `json:"segment"`
	EnteredAt time.Time `json:"entered_at"`
	Holdout   bool      `json:"holdout"`
	Arm       string    `json:"arm,omitempty"`
}

// Event is one row of an events source.
type Event struct {
	Source  string         `json:"source"`
	Name    string         `json:"name,omitempty"`
	At      time.Time      `json:"at"`
	Columns map[string]any `json:"columns"` // the row's other columns
}

// View reads one profile from the final tables of the last run. A profile
// that does not exist is an error wrapping ErrNoProfile.
func View(ctx context.Context, wh dialects.Warehouse, c *plan.Context, profileID string) (*ProfileView, error) {
	return view(ctx, wh, c, profileID, nil)
}

// ViewFrom is View of a profile whose identifiers came from these sources
// alone, as the last run's identity found them (identity.Lookup): an events
// source none of them came from holds none of its rows, so its rows table
// is not read (one statement less per such source and look-up).
func ViewFrom(ctx context.Context, wh dialects.Warehouse, c *plan.Context, profileID string, sources []string) (*ProfileView, error) {
	return view(ctx, wh, c, profileID, sources)
}

// view reads the events of the sources listed, or of all when nil.
func view(ctx context.Context, wh dialects.Warehouse, c *plan.Context, profileID string, sources []string) (*ProfileView, error) {
	d := c.Dialect
	v := &ProfileView{ProfileID: profileID, Traits: []TraitValue{}, Segments: []Membership{}, Events: []Event{}}

	rows, err := queryMaps(ctx, wh, dialects.Bind(d, "SELECT * FROM "+c.Input(Table)+" WHERE profile_id = ?"), profileID)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", profileID, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("profile %s: %w", profileID, ErrNoProfile)
	}
	for i, col := range rows[0].cols {
		if col != "profile_id" {
			v.Traits = append(v.Traits, TraitValue{Name: col, Value: plan.WallClocks(rows[0].vals[i], c.Loc)})
		}
	}

	if _, err := wh.Columns(ctx, c.Schema+".segment_memberships"); err == nil {
		ms, err := queryMaps(ctx, wh, dialects.Bind(d, "SELECT segment, entered_at, holdout, arm FROM "+c.Input("segment_memberships")+" WHERE profile_id = ? ORDER BY segment"), profileID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			mem := Membership{Segment: fmt.Sprint(m.vals[0])}
			if at, ok := m.vals[1].(time.Time); ok {
				mem.EnteredAt = plan.WallClock(at, c.Loc)
			}
			mem.Holdout, _ = m.vals[2].(bool)
			if m.vals[3] != nil {
				mem.Arm = fmt.Sprint(m.vals[3])
			}
			v.Segments = append(v.Segments, mem)
		}
	} else if !errors.Is(err, dialects.ErrNoTable) {
		return nil, err
	}

	for _, src := range RowSources(c.Project) {
		if !src.IsEvents() || src.Timestamp == "" || (sources != nil && !slices.Contains(sources, src.Name)) {
			continue
		}
		// the profile's rows first, through the index on profile_id, then
		// the newest of them (see dialects.Materializer)
		q := dialects.Bind(d, fmt.Sprintf("WITH mine AS %s(SELECT * FROM %s WHERE profile_id = ?)\nSELECT * FROM mine ORDER BY %s DESC NULLS LAST LIMIT %d",
			dialects.MaterializedCTE(d), c.Input(RowsTable(src.Name)), d.Quote(src.Timestamp), RecentEvents))
		evs, err := queryMaps(ctx, wh, q, profileID)
		if err != nil {
			return nil, fmt.Errorf("events of %s: %w", src.Name, err)
		}
		for _, r := range evs {
			e := Event{Source: src.Name, Columns: map[string]any{}}
			for i, col := range r.cols {
				switch col {
				case "profile_id":
				case src.Timestamp:
					if at, ok := r.vals[i].(time.Time); ok {
						e.At = plan.WallClock(at, c.Loc)
					}
				case src.Event:
					if r.vals[i] != nil {
						e.Name = fmt.Sprint(r.vals[i])
					}
				default:
					e.Columns[col] = plan.WallClocks(r.vals[i], c.Loc)
				}
			}
			v.Events = append(v.Events, e)
		}
	}
	sort.SliceStable(v.Events, func(i, j int) bool { return v.Events[i].At.After(v.Events[j].At) })
	if len(v.Events) > RecentEvents {
		v.Events = v.Events[:RecentEvents]
	}
	return v, nil
}

// ErrNoProfile says a profile id is not in profiles.
var ErrNoProfile = errors.New("no such profile")

type row struct {
	cols []string
	vals []any
}

func queryMaps(ctx context.Context, wh dialects.Warehouse, q string, args ...any) ([]row, error) {
	rs, err := wh.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out []row
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, x := range vals {
			vals[i] = plain(x)
		}
		out = append(out, row{cols: cols, vals: vals})
	}
	return out, rs.Err()
}

// plain turns driver values into JSON-friendly ones.
func plain(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time, string, bool, int64, int32, float64, float32, nil:
		return v
	case fmt.Stringer:
		return x.String()
	}
	return v
}

func (v *ProfileView) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s\n\ntraits\n", v.ProfileID)
	for _, t := range v.Traits {
		fmt.Fprintf(&b, "  %-24s %s\n", t.Name, plan.Show(t.Value))
	}
	b.WriteString("\nsegments\n")
	if len(v.Segments) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, s := range v.Segments {
		extra := ""
		if s.Holdout {
			extra = " (holdout)"
		} else if s.Arm != "" {
			extra = " (arm " + s.Arm + ")"
		}
		fmt.Fprintf(&b, "  %s since %s%s\n", s.Segment, plan.ShowTime(s.EnteredAt, s.EnteredAt.Location()), extra)
	}
	fmt.Fprintf(&b, "\nrecent events\n")
	if len(v.Events) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, e := range v.Events {
		fmt.Fprintf(&b, "  %-24s %-16s %s\n", plan.ShowTime(e.At, e.At.Location()), e.Source, e.Name)
	}
	return b.String()
}
