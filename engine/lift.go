package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// LiftOptions choose what a lift report measures.
type LiftOptions struct {
	// Metric is a trait (boolean: a conversion rate; numeric: a mean), or
	// an event: SOURCE or SOURCE.EVENT_NAME (converted: at least one such
	// row since the member entered the segment, or since Since).
	Metric string
	// Since is a day's start in the project's timezone; not after today.
	Since *time.Time
	// Points, when positive, adds a series of up to that many points (at
	// most MaxLiftPoints) for a chart: the lift at the end of each day (or
	// of every few days) from Since, or from the first member's entry, to
	// today. An event metric counts the conversions up to each point; a
	// trait has no past values, so its series is today's point alone.
	Points int
}

// MaxLiftPoints bounds a lift series.
const MaxLiftPoints = 100

// LiftPoint is the lift measured at the end of one day (UTC).
type LiftPoint struct {
	Date    string   `json:"date"`    // YYYY-MM-DD: conversions up to the end of this day
	Sent    float64  `json:"sent"`    // the sent members' rate or mean
	Holdout float64  `json:"holdout"` // the holdout's
	Lift    *float64 `json:"lift"`
	Low     *float64 `json:"ci95_low"`
	High    *float64 `json:"ci95_high"`
}

// LiftArm is one arm of a lift report.
type LiftArm struct {
	Members  int64   `json:"members"`  // members of the arm
	Measured int64   `json:"measured"` // members with a value of the metric
	Value    float64 `json:"value"`    // conversion rate (0..1) or mean
}

// LiftResult compares the members sent to destinations with the holdout.
type LiftResult struct {
	Segment  string   `json:"segment"`
	Metric   string   `json:"metric"`
	Kind     string   `json:"kind"` // rate | mean
	Since    string   `json:"since,omitempty"`
	Syncs    []string `json:"syncs"`
	Sent     LiftArm  `json:"sent"`
	Holdout  LiftArm  `json:"holdout"`
	Lift     *float64 `json:"lift"`          // sent − holdout
	Relative *float64 `json:"relative_lift"` // lift / holdout, nil when the holdout's value is 0
	Low      *float64 `json:"ci95_low"`      // 95% confidence interval of the lift
	High     *float64 `json:"ci95_high"`
	// Series is the lift over time, oldest first (LiftOptions.Points).
	Series []LiftPoint `json:"series,omitempty"`
	// Warnings say why the figures may not measure what was meant (an
	// event that no row of the source has).
	Warnings []string `json:"warnings,omitempty"`
}

// Lift measures a segment's campaign: members that its syncs sent (in any
// of their snapshots) against the members of its holdout that one of those
// syncs could have sent (consent and a match key: sync.Eligible), on a
// trait or an event, in one query in the warehouse. Rates use the normal
// approximation of a difference of proportions; means Welch's standard
// error, with the normal quantile (both arms of a campaign are large).
func (s *Service) Lift(ctx context.Context, name string, o LiftOptions) (*LiftResult, error) {
	proj, err := s.project(ctx) // segments and syncs saved from the UI too
	if err != nil {
		return nil, err
	}
	seg, err := segmentOf(proj, name)
	if err != nil {
		return nil, err
	}
	if seg.Holdout <= 0 {
		return nil, &UnknownError{fmt.Errorf("segment %q has no holdout: add holdout: 10%% to it, run, sync, and measure once the campaign has run", name)}
	}
	loc := s.Project.Location()
	if o.Since != nil && o.Since.After(s.now()) {
		return nil, &UnknownError{fmt.Errorf("--since %s is in the future: no event is counted from then yet; give a past date, or none to count from each member's entry",
			o.Since.In(loc).Format(time.DateOnly))}
	}
	res := &LiftResult{Segment: name, Metric: o.Metric}
	for _, sy := range proj.Syncs {
		if sy.Segment == name {
			res.Syncs = append(res.Syncs, sy.Name)
		}
	}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	d := c.Dialect
	// sent: the members in a snapshot of one of the segment's syncs;
	// reachable: the condition that a holdout member could have been sent
	// by one of them (consent, a match key), as the sent were
	var sent, reachable []string
	for _, sy := range res.Syncs {
		ok, err := c.FinalExists(ctx, wh, sync.SnapshotTable(sy))
		if err != nil {
			return nil, err
		}
		if ok {
			sent = append(sent, "SELECT profile_id FROM "+c.Final(sync.SnapshotTable(sy)))
			cond, err := sync.Eligible(proj, sy, d, "p")
			if err != nil {
				return nil, err
			}
			reachable = append(reachable, "("+cond+")")
		}
	}
	if len(sent) == 0 {
		return nil, &UnknownError{fmt.Errorf("segment %q has not been sent anywhere yet: no sync of it has a snapshot (syncs of it: %s); run cohort sync first", name, listOrNone(res.Syncs))}
	}
	var value, first string // first: an event metric's first conversion of a member
	var args []any
	if t := s.Project.Trait(o.Metric); t != nil || o.Metric == "" {
		if o.Metric == "" {
			return nil, &UnknownError{fmt.Errorf("lift needs --metric: a boolean or numeric trait, or an event (SOURCE or SOURCE.EVENT)")}
		}
		if o.Since != nil {
			return nil, &UnknownError{fmt.Errorf("--since applies to event metrics; trait %q is read as it is now", o.Metric)}
		}
		cols, err := wh.Columns(ctx, c.Schema+"."+profiles.Table)
		if err != nil {
			return nil, err
		}
		kind := ""
		for _, col := range cols {
			if col.Name == o.Metric {
				kind = models.KindOf(col.Type)
			}
		}
		col := "p." + d.Quote(o.Metric)
		switch kind {
		case models.KindBoolean:
			res.Kind, value = "rate", "CASE WHEN "+col+" THEN 1.0 ELSE 0.0 END"
		case models.KindNumber:
			res.Kind, value = "mean", "CAST("+col+" AS "+d.TypeName(dialects.Number)+")"
		default:
			return nil, &UnknownError{fmt.Errorf("trait %q holds %s: lift measures a boolean trait (a rate) or a numeric one (a mean)", o.Metric, orWord(kind, "no known kind"))}
		}
	} else {
		srcName, event, _ := strings.Cut(o.Metric, ".")
		src := s.Project.Source(srcName)
		if src == nil {
			return nil, &UnknownError{fmt.Errorf("unknown metric %q: name a trait, or an event as SOURCE or SOURCE.EVENT_NAME", o.Metric)}
		}
		if src.Timestamp == "" {
			return nil, &UnknownError{fmt.Errorf("source %q has no timestamp, so its rows cannot be counted after a member entered the segment", src.Name)}
		}
		rows := "(" + identity.ProfileRows(c, src, c.Final(identity.GraphTable)) + ")"
		since := "m.entered_at"
		if o.Since != nil {
			// a naive local time, as segments' windows bind theirs: source
			// timestamps without a zone are the project's local time
			since = plan.TimeParam(d, "?")
			args = append(args, plan.TimeArg(o.Since.In(loc)))
			res.Since = o.Since.In(loc).Format(time.DateOnly) // the date as given
		}
		cond := "r.profile_id = m.profile_id AND r." + d.Quote(src.Timestamp) + " >= " + since
		if event != "" {
			if src.Event == "" {
				return nil, &UnknownError{fmt.Errorf("source %q has no event column, so %q cannot be matched by name: measure the source", src.Name, o.Metric)}
			}
			cond += " AND r." + d.Quote(src.Event) + " = ?"
			args = append(args, event)
			found, err := eventOccurs(ctx, wh, d, src, event)
			if err != nil {
				return nil, fmt.Errorf("lift of segment %s: %w", name, err)
			}
			if !found {
				res.Warnings = append(res.Warnings, fmt.Sprintf("no row of source %s has %s %q: the metric counts no conversions; check the event's name", src.Name, src.Event, event))
			}
		}
		res.Kind = "rate"
		first = "(SELECT min(r." + d.Quote(src.Timestamp) + ") FROM " + rows + " r WHERE " + cond + ")"
		value = "CASE WHEN " + first + " IS NOT NULL THEN 1.0 ELSE 0.0 END"
	}
	// variance of one member's value: population for a proportion (p(1-p)),
	// sample for a mean (Welch)
	vf := "var_samp"
	if res.Kind == "rate" {
		vf = "var_pop"
	}
	arm := "CASE WHEN m.holdout THEN 'holdout' ELSE 'sent' END"
	members := fmt.Sprintf(`FROM %s m
LEFT JOIN %s p ON p.profile_id = m.profile_id
WHERE m.segment = ? AND ((m.holdout AND (%s)) OR m.profile_id IN (%s))`,
		c.Final(segments.MembershipsTable), c.Final(profiles.Table), strings.Join(reachable, " OR "), strings.Join(sent, " UNION "))
	inner := fmt.Sprintf("SELECT %s AS arm, %s AS x\n%s", arm, value, members)
	args = append(args, name)
	q := fmt.Sprintf(`WITH v AS (%s),
g AS (SELECT
 count(CASE WHEN v.arm = 'sent' THEN 1 END) AS sn, count(CASE WHEN v.arm = 'sent' THEN v.x END) AS sk,
 avg(CASE WHEN v.arm = 'sent' THEN v.x END) AS sm, %[2]s(CASE WHEN v.arm = 'sent' THEN v.x END) AS sv,
 count(CASE WHEN v.arm = 'holdout' THEN 1 END) AS hn, count(CASE WHEN v.arm = 'holdout' THEN v.x END) AS hk,
 avg(CASE WHEN v.arm = 'holdout' THEN v.x END) AS hm, %[2]s(CASE WHEN v.arm = 'holdout' THEN v.x END) AS hv
 FROM v)
SELECT sn, sk, coalesce(sm, 0), hn, hk, coalesce(hm, 0),
 sm - hm,
 (sm - hm) / NULLIF(hm, 0),
 (sm - hm) - %[3]v * sqrt(sv / NULLIF(sk, 0) + hv / NULLIF(hk, 0)),
 (sm - hm) + %[3]v * sqrt(sv / NULLIF(sk, 0) + hv / NULLIF(hk, 0))
FROM g`, inner, vf, z95)
	q, err = d.Placeholder().ReplacePlaceholders(q)
	if err != nil {
		return nil, err
	}
	if err := plan.QueryRow(ctx, wh, q, args, &res.Sent.Members, &res.Sent.Measured, &res.Sent.Value,
		&res.Holdout.Members, &res.Holdout.Measured, &res.Holdout.Value, &res.Lift, &res.Relative, &res.Low, &res.High); err != nil {
		return nil, fmt.Errorf("lift of segment %s: %w", name, err)
	}
	if o.Points <= 0 {
		return res, nil
	}
	today := s.now().UTC().Truncate(24 * time.Hour)
	if first == "" { // a trait: as it is now
		res.Series = []LiftPoint{{Date: today.Format(time.DateOnly), Sent: res.Sent.Value, Holdout: res.Holdout.Value, Lift: res.Lift, Low: res.Low, High: res.High}}
		return res, nil
	}
	var from time.Time // the series' first day
	if o.Since != nil {
		y, m, dd := o.Since.In(loc).Date() // the day given, as the series' days are named
		from = time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	} else {
		q := dialects.Bind(d, "SELECT min(entered_at) FROM "+c.Final(segments.MembershipsTable)+" WHERE segment = ?")
		var at *time.Time
		if err := plan.QueryRow(ctx, wh, q, []any{name}, &at); err != nil {
			return nil, fmt.Errorf("lift of segment %s: %w", name, err)
		}
		if at == nil {
			return res, nil
		}
		from = at.UTC().Truncate(24 * time.Hour)
	}
	days := liftDays(from, today, min(o.Points, MaxLiftPoints))
	// one query: per day, the members of each arm converted before its end
	var cols []string
	var targs []any
	for _, day := range days {
		for _, a := range []string{"sent", "holdout"} {
			cols = append(cols, fmt.Sprintf("count(CASE WHEN v.arm = '%s' AND v.first_at < ? THEN 1 END)", a))
			targs = append(targs, day.AddDate(0, 0, 1))
		}
	}
	sq := fmt.Sprintf(`WITH v AS (SELECT %s AS arm, %s AS first_at
%s)
SELECT %s
FROM v`, arm, first, members, strings.Join(cols, ",\n "))
	sq, err = d.Placeholder().ReplacePlaceholders(sq)
	if err != nil {
		return nil, err
	}
	counts := make([]int64, len(cols))
	dest := make([]any, len(cols))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := plan.QueryRow(ctx, wh, sq, append(args[:len(args):len(args)], targs...), dest...); err != nil {
		return nil, fmt.Errorf("lift series of segment %s: %w", name, err)
	}
	for i, day := range days {
		res.Series = append(res.Series, ratePoint(day, counts[2*i], res.Sent.Members, counts[2*i+1], res.Holdout.Members))
	}
	return res, nil
}

// eventOccurs reports whether any row of src has event as its event name.
func eventOccurs(ctx context.Context, wh dialects.Warehouse, d dialects.Dialect, src *models.Source, event string) (bool, error) {
	q := dialects.Bind(d, "SELECT count(*) FROM (SELECT 1 AS one FROM "+plan.Relation(d, src)+" src WHERE src."+d.Quote(src.Event)+" = ? LIMIT 1) e")
	var n int64
	if err := plan.QueryRow(ctx, wh, q, []any{event}, &n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// liftDays are up to n days ending today, evenly spaced from from.
func liftDays(from, today time.Time, n int) []time.Time {
	if from.After(today) {
		from = today
	}
	span := int(today.Sub(from).Hours()/24) + 1
	step := (span + n - 1) / n
	var out []time.Time
	for d := today; !d.Before(from) && len(out) < n; d = d.AddDate(0, 0, -step) {
		out = append(out, d)
	}
	slices.Reverse(out)
	return out
}

// ratePoint is the lift of two conversion counts, with the normal 95%
// interval of a difference of proportions (the arithmetic of Lift's query).
func ratePoint(day time.Time, sk, sn, hk, hn int64) LiftPoint {
	p := LiftPoint{Date: day.Format(time.DateOnly)}
	if sn == 0 || hn == 0 {
		return p
	}
	ps, ph := float64(sk)/float64(sn), float64(hk)/float64(hn)
	p.Sent, p.Holdout = ps, ph
	lift := ps - ph
	se := math.Sqrt(ps*(1-ps)/float64(sn) + ph*(1-ph)/float64(hn))
	lo, hi := lift-z95*se, lift+z95*se
	p.Lift, p.Low, p.High = &lift, &lo, &hi
	return p
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(slices.Clone(xs), ", ")
}

func orWord(s, w string) string {
	if s == "" {
		return w
	}
	return s
}

func (r *LiftResult) String() string {
	var b strings.Builder
	unit := func(v float64) string {
		if r.Kind == "rate" {
			return fmt.Sprintf("%.2f%%", 100*v)
		}
		return fmt.Sprintf("%.4g", v)
	}
	opt := func(v *float64, f func(float64) string) string {
		if v == nil {
			return "n/a"
		}
		return f(*v)
	}
	fmt.Fprintf(&b, "segment %s, metric %s (%s), syncs %s\n", r.Segment, r.Metric, r.Kind, strings.Join(r.Syncs, ", "))
	if r.Since != "" {
		fmt.Fprintf(&b, "events since %s\n", r.Since)
	}
	fmt.Fprintf(&b, "%-8s %10s %10s %12s\n", "arm", "members", "measured", r.Kind)
	fmt.Fprintf(&b, "%-8s %10d %10d %12s\n", "sent", r.Sent.Members, r.Sent.Measured, unit(r.Sent.Value))
	fmt.Fprintf(&b, "%-8s %10d %10d %12s\n", "holdout", r.Holdout.Members, r.Holdout.Measured, unit(r.Holdout.Value))
	fmt.Fprintf(&b, "lift %s (relative %s), 95%% CI [%s, %s]\n", opt(r.Lift, unit),
		opt(r.Relative, func(v float64) string { return fmt.Sprintf("%+.1f%%", 100*v) }), opt(r.Low, unit), opt(r.High, unit))
	return b.String()
}
