package segments

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/models"
)

// PreviewOptions shape a preview.
type PreviewOptions struct {
	Sample  int      // sample members to show; 0 means DefaultSample, below 0 none
	Traits  []string // traits shown per sample member; none means the condition's traits and a few useful ones
	WithSQL bool     // also return the SQL of the count
}

// DefaultSample is the number of sample members of a preview.
const DefaultSample = 10

// PreviewResult is what a segment would hold now.
type PreviewResult struct {
	Segment  string   `json:"segment"`
	Count    int64    `json:"count"`
	Holdout  int64    `json:"holdout"`
	Previous *int64   `json:"previous,omitempty"` // members at the last run, for a saved segment
	Change   *int64   `json:"change,omitempty"`   // Count - Previous
	Traits   []string `json:"traits"`
	Sample   []Member `json:"sample"`
	SQL      string   `json:"sql,omitempty"`
}

// Member is one sample member of a preview.
type Member struct {
	ProfileID string         `json:"profile_id"`
	Holdout   bool           `json:"holdout"`
	Arm       string         `json:"arm,omitempty"`
	Traits    map[string]any `json:"traits"`
}

// Preview counts and samples a segment, saved or not, against the final
// tables of the last run.
func Preview(ctx context.Context, wh dialects.Warehouse, c *plan.Context, seg *models.Segment, o PreviewOptions) (*PreviewResult, error) {
	d := c.Dialect
	switch {
	case o.Sample == 0:
		o.Sample = DefaultSample
	case o.Sample < 0: // none asked for
		o.Sample = 0
	}
	traits := o.Traits
	if len(traits) == 0 {
		traits = defaultTraits(c.Project, seg)
	}
	for _, t := range traits {
		if c.Project.Trait(t) == nil {
			return nil, fmt.Errorf("unknown trait %q", t)
		}
	}
	out := &PreviewResult{Segment: seg.Name, Traits: traits, Sample: []Member{}}

	// one scan: the sampled members with the totals as window aggregates;
	// then their traits, read for those few ids only (carrying every
	// member's traits through the window cost more than the scan)
	holdout, arm := assignment(d, seg)
	f, err := Where(c, seg)
	if err != nil {
		return nil, err
	}
	q := f.Apply(sq.Select("p.profile_id", holdout+" AS holdout", arm+" AS arm",
		"count(*) OVER () AS members",
		"sum(CASE WHEN "+holdout+" THEN 1 ELSE 0 END) OVER () AS holdout_members").
		From(c.Input(profiles.Table) + " p")).
		OrderBy("p.profile_id").Limit(uint64(max(o.Sample, 1))).PlaceholderFormat(d.Placeholder()) // a row carries the counts
	sql, args, err := q.ToSql()
	if err != nil {
		return nil, err
	}
	if o.WithSQL {
		out.SQL = plan.Comment(fmt.Sprintf("preview of segment %s (%s)", seg.Name, seg.Pos)) + plan.Render(plan.Statement{SQL: sql, Args: args})
	}
	rows, err := wh.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("preview %s: %w", seg.Name, err)
	}
	defer rows.Close()
	var ids []any
	for rows.Next() {
		var id string
		var hold bool
		var armV, n, h any
		if err := rows.Scan(&id, &hold, &armV, &n, &h); err != nil {
			return nil, err
		}
		m := Member{ProfileID: id, Holdout: hold, Traits: map[string]any{}}
		if armV != nil {
			m.Arm = fmt.Sprint(Value(armV))
		}
		out.Count, out.Holdout = toInt(n), toInt(h)
		if len(out.Sample) == o.Sample {
			break // no sample asked for
		}
		out.Sample = append(out.Sample, m)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(ids) > 0 && len(traits) > 0 {
		cols := []string{"p.profile_id"}
		for _, t := range traits {
			cols = append(cols, "p."+d.Quote(t))
		}
		sql, args, err := sq.Select(cols...).From(c.Input(profiles.Table) + " p").
			Where(sq.Eq{"p.profile_id": ids}).PlaceholderFormat(d.Placeholder()).ToSql()
		if err != nil {
			return nil, err
		}
		tr, err := wh.Query(ctx, sql, args...)
		if err != nil {
			return nil, fmt.Errorf("preview %s sample: %w", seg.Name, err)
		}
		defer tr.Close()
		byID := map[string]map[string]any{}
		for tr.Next() {
			vals := make([]any, 1+len(traits))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := tr.Scan(ptrs...); err != nil {
				return nil, err
			}
			m := map[string]any{}
			for i, t := range traits {
				m[t] = plan.WallClocks(Value(vals[1+i]), c.Loc)
			}
			byID[fmt.Sprint(Value(vals[0]))] = m
		}
		if err := tr.Err(); err != nil {
			return nil, err
		}
		for i := range out.Sample {
			if m := byID[out.Sample[i].ProfileID]; m != nil {
				out.Sample[i].Traits = m
			}
		}
	}
	if err := previous(ctx, wh, c, seg, out); err != nil {
		return nil, err
	}
	return out, nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	}
	var n int64
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

// previous sets the count at the last run of a saved segment of that name.
func previous(ctx context.Context, wh dialects.Warehouse, c *plan.Context, seg *models.Segment, out *PreviewResult) error {
	if seg.Name == "" || c.Project.Segment(seg.Name) == nil {
		return nil
	}
	ok, err := c.FinalExists(ctx, wh, MembershipsTable)
	if err != nil || !ok {
		return err
	}
	var prev int64
	q := dialects.Bind(c.Dialect, "SELECT count(*) FROM "+c.Final(MembershipsTable)+" WHERE segment = ?")
	if err := plan.QueryRow(ctx, wh, q, []any{seg.Name}, &prev); err != nil {
		return err
	}
	if prev > 0 {
		change := out.Count - prev
		out.Previous, out.Change = &prev, &change
	}
	return nil
}

// Value turns what a driver scanned into a plain JSON-friendly value.
func Value(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case fmt.Stringer:
		if _, ok := v.(time.Time); !ok {
			return x.String()
		}
	}
	return v
}

// defaultTraits are the traits a condition tests, then the first traits of
// the project, up to five.
func defaultTraits(p *models.Project, seg *models.Segment) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] && p.Trait(n) != nil && len(out) < 5 {
			seen[n] = true
			out = append(out, n)
		}
	}
	var walk func(n *models.Condition, depth int)
	walk = func(n *models.Condition, depth int) {
		if n == nil || depth > 20 {
			return
		}
		add(n.Trait)
		for _, x := range append(append([]*models.Condition{}, n.All...), n.Any...) {
			walk(x, depth+1)
		}
		walk(n.Not, depth+1)
		if s := p.Segment(n.Segment); s != nil {
			walk(s.Where, depth+1)
		}
	}
	walk(seg.Where, 0)
	for _, t := range p.Traits {
		add(t.Name)
	}
	return out
}

func (p *PreviewResult) String() string {
	var b strings.Builder
	name := p.Segment
	if name == "" {
		name = "(unsaved segment)"
	}
	fmt.Fprintf(&b, "%s: %s", name, plan.Count(p.Count, "member"))
	if p.Holdout > 0 {
		fmt.Fprintf(&b, " (%d in the holdout)", p.Holdout)
	}
	if p.Previous != nil {
		fmt.Fprintf(&b, ", %+d since the last run (%d)", *p.Change, *p.Previous)
	}
	b.WriteString("\n")
	if len(p.Sample) > 0 {
		b.WriteString("\nprofile_id")
		for _, t := range p.Traits {
			b.WriteString("\t" + t)
		}
		b.WriteString("\n")
		for _, m := range p.Sample {
			b.WriteString(m.ProfileID)
			for _, t := range p.Traits {
				b.WriteString("\t" + plan.Show(m.Traits[t]))
			}
			if m.Holdout {
				b.WriteString("\t(holdout)")
			} else if m.Arm != "" {
				b.WriteString("\t(arm " + m.Arm + ")")
			}
			b.WriteString("\n")
		}
	}
	if p.SQL != "" {
		b.WriteString("\n" + p.SQL + "\n")
	}
	return b.String()
}

// OverlapResult is the size of each segment and of each intersection.
type OverlapResult struct {
	Segments []string      `json:"segments"`
	Sizes    []OverlapSize `json:"sizes"` // every non-empty combination, singles first
}

// OverlapSize is the number of profiles in every one of Segments.
type OverlapSize struct {
	Segments []string `json:"segments"`
	Count    int64    `json:"count"`
}

// MaxOverlap is the most segments Overlap compares at once.
const MaxOverlap = 5

// Overlap counts, for segments saved or not, the members of each and of
// every intersection, in one scan of profiles. Holdout members count.
func Overlap(ctx context.Context, wh dialects.Warehouse, c *plan.Context, segs []*models.Segment) (*OverlapResult, error) {
	if len(segs) < 1 || len(segs) > MaxOverlap {
		return nil, fmt.Errorf("overlap compares 1 to %d segments, got %d", MaxOverlap, len(segs))
	}
	d := c.Dialect
	out := &OverlapResult{}
	flags := sq.Select().From(c.Input(profiles.Table) + " p")
	cp := &compiler{c: c} // one set of joins for all the segments
	for i, seg := range segs {
		w, err := cp.segment(seg)
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", seg.Name, err)
		}
		flags = flags.Column(sq.Alias(sq.Expr("CASE WHEN ? THEN 1 ELSE 0 END", w), fmt.Sprintf("s%d", i)))
		name := seg.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		out.Segments = append(out.Segments, name)
	}
	flags = joined(flags, cp.joins)
	var combos [][]int
	for mask := 1; mask < 1<<len(segs); mask++ {
		var set []int
		for i := range segs {
			if mask&(1<<i) != 0 {
				set = append(set, i)
			}
		}
		combos = append(combos, set)
	}
	sort.SliceStable(combos, func(a, b int) bool { return len(combos[a]) < len(combos[b]) })
	q := sq.Select().FromSelect(flags, "f").PlaceholderFormat(d.Placeholder())
	for _, set := range combos {
		var terms []string
		var names []string
		for _, i := range set {
			terms = append(terms, fmt.Sprintf("f.s%d = 1", i))
			names = append(names, out.Segments[i])
		}
		q = q.Column("coalesce(sum(CASE WHEN " + strings.Join(terms, " AND ") + " THEN 1 ELSE 0 END), 0)")
		out.Sizes = append(out.Sizes, OverlapSize{Segments: names})
	}
	sql, args, err := q.ToSql()
	if err != nil {
		return nil, err
	}
	dest := make([]any, len(out.Sizes))
	for i := range out.Sizes {
		dest[i] = &out.Sizes[i].Count
	}
	if err := plan.QueryRow(ctx, wh, sql, args, dest...); err != nil {
		return nil, fmt.Errorf("overlap: %w", err)
	}
	return out, nil
}

func (o *OverlapResult) String() string {
	var b strings.Builder
	for _, s := range o.Sizes {
		fmt.Fprintf(&b, "%-40s %d\n", strings.Join(s.Segments, " ∩ "), s.Count)
	}
	return b.String()
}
