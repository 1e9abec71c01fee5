package segments_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/profiles/profilestest"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/models"
)

var parts = []engine.Part{
	{Name: "profiles", Steps: profiles.Steps},
	{Name: "segments", Steps: segments.Steps},
}

// segmentsYAML uses every operator and combinator once at least.
const segmentsYAML = `
segments:
  - {name: op_eq, where: {trait: country, eq: NL}}
  - {name: op_neq, where: {trait: country, neq: NL}}
  - name: op_gt_lt
    where: {all: [{trait: lifetime_value, gt: 100}, {trait: lifetime_value, lt: 400}]}
  - name: op_gte_lte
    where: {all: [{trait: order_count, gte: 2}, {trait: order_count, lte: 4}]}
  - {name: op_in, where: {trait: first_name, in: [Anna, Bram]}}
  - {name: op_not_in, where: {trait: first_name, not_in: [Anna, Bram]}}
  - {name: op_contains, where: {trait: email, contains: "-1@"}}
  - {name: op_starts_with, where: {trait: email, starts_with: "c1"}}
  - {name: op_is_null, where: {trait: email, is_null: true}}
  - {name: op_not_null, where: {trait: email, is_null: false}}
  - {name: op_between, where: {trait: avg_order, between: [50, 120]}}
  - {name: op_before, where: {trait: last_order_at, before: 90d}}
  - {name: op_after, where: {trait: last_order_at, after: 30d}}
  - {name: op_within, where: {trait: last_order_at, within: 60d}}
  - {name: op_bool, where: {trait: big_buyer, eq: true}}
  - {name: op_text_gt, where: {trait: tier, gt: "s"}}
  - name: any_not_ref
    where:
      any:
        - not: {trait: country, eq: NL}
        - segment: op_gt_lt
  - name: ev_name
    where: {event: {source: events, name: add_to_cart}}
  - name: ev_within_count
    where: {event: {source: events, within: 14d, count: {gte: 2}}}
  - name: ev_where
    where:
      event:
        source: events
        where:
          - {column: page, contains: "50%_"}
          - any: [{column: price, gte: 20}, {not: {column: price, is_null: false}}]
  - name: ev_zero_ok
    where: {event: {source: events, name: purchase, count: {lt: 2}}}
  - name: ev_range
    where: {event: {source: events, count: {gte: 2, lte: 4}}}
  - name: ev_not
    where:
      all:
        - not: {event: {source: orders, within: 30d}}
        - {trait: order_count, gte: 1}
  - name: ev_not_where
    where:
      all:
        - {trait: order_count, gte: 1}
        - all:
            - not: {event: {source: events, name: add_to_cart, where: [{column: price, gte: 20}]}}
  - name: ev_not_zero_ok
    where:
      not: {event: {source: events, name: purchase, count: {lt: 2}}}
  - name: ev_not_any
    where:
      any:
        - not: {event: {source: orders, within: 30d}}
        - {trait: tier, eq: vip}
  - name: split
    where: {segment: op_not_null}
    holdout: 20.5%
    splits: {a: 30, b: 70}
  - name: nested
    where:
      all:
        - segment: split
        - any:
            - segment: ev_name
            - all: [{trait: tier, eq: vip}, {not: {segment: op_eq}}]
`

// ---- the independent Go evaluation of conditions ----

type world struct {
	f      *profilestest.Fixture
	traits profilestest.Profiles
	now    time.Time
}

func (w *world) members(seg *models.Segment) map[string]bool {
	out := map[string]bool{}
	for pid := range w.traits {
		if w.eval(seg.Where, pid, nil) {
			out[pid] = true
		}
	}
	return out
}

// row is an event or order as column -> value.
type row map[string]any

func (w *world) rows(source, pid string) []row {
	var out []row
	switch source {
	case "events":
		for _, e := range w.f.Events {
			if profilestest.ProfileID(e.CustomerID) == pid {
				r := row{"customer_id": e.CustomerID, "event_name": e.Name, "occurred_at": e.At, "page": nil, "price": nil}
				if e.Page != nil {
					r["page"] = *e.Page
				}
				if e.Price != nil {
					r["price"] = *e.Price
				}
				out = append(out, r)
			}
		}
	case "orders":
		for _, o := range w.f.Orders {
			if profilestest.ProfileID(o.CustomerID) == pid {
				out = append(out, row{"total": o.Total, "ordered_at": o.OrderedAt})
			}
		}
	}
	return out
}

func (w *world) eval(c *models.Condition, pid string, ev row) bool {
	switch {
	case c.All != nil:
		for _, x := range c.All {
			if !w.eval(x, pid, ev) {
				return false
			}
		}
		return true
	case c.Any != nil:
		for _, x := range c.Any {
			if w.eval(x, pid, ev) {
				return true
			}
		}
		return false
	case c.Not != nil:
		return !w.eval(c.Not, pid, ev)
	case c.Segment != "":
		return w.eval(w.f.Project.Segment(c.Segment).Where, pid, ev)
	case c.Trait != "":
		return w.op(c.Ops()[0], w.traits[pid][c.Trait])
	case c.Column != "":
		return w.op(c.Ops()[0], ev[c.Column])
	case c.Event != nil:
		e := c.Event
		src := w.f.Project.Source(e.Source)
		n := 0
		for _, r := range w.rows(e.Source, pid) {
			if e.Name != "" && r[src.Event] != e.Name {
				continue
			}
			if e.Within.Set() {
				at := r[src.Timestamp].(time.Time)
				if at.Before(w.now.Add(-e.Within.D)) || at.After(w.now) {
					continue
				}
			}
			ok := true
			for _, x := range e.Where {
				ok = ok && w.eval(x, pid, r)
			}
			if ok {
				n++
			}
		}
		if e.Count == nil {
			return n >= 1
		}
		b := e.Count
		return (b.Eq == nil || n == *b.Eq) && (b.Gt == nil || n > *b.Gt) && (b.Gte == nil || n >= *b.Gte) &&
			(b.Lt == nil || n < *b.Lt) && (b.Lte == nil || n <= *b.Lte)
	}
	panic("unknown condition")
}

// cmp orders a value against an operand: numbers as numbers, times against
// time text, text byte by byte.
func cmp(v, operand any) int {
	switch x := v.(type) {
	case time.Time:
		o, err := time.Parse("2006-01-02 15:04:05", fmt.Sprint(operand))
		if err != nil {
			panic(err)
		}
		return x.Compare(o)
	case string:
		return strings.Compare(x, fmt.Sprint(operand))
	case bool:
		if x == operand.(bool) {
			return 0
		}
		return 1
	}
	a, b := toF(v), toF(operand)
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toF(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("not a number: %#v", v))
}

func (w *world) op(op models.Op, v any) bool {
	if op.Name == "is_null" {
		return (v == nil) == op.Value.(bool)
	}
	if v == nil {
		return false
	}
	switch op.Name {
	case "eq":
		return cmp(v, op.Value) == 0
	case "neq":
		return cmp(v, op.Value) != 0
	case "gt":
		return cmp(v, op.Value) > 0
	case "gte":
		return cmp(v, op.Value) >= 0
	case "lt":
		return cmp(v, op.Value) < 0
	case "lte":
		return cmp(v, op.Value) <= 0
	case "in", "not_in":
		found := false
		for _, x := range op.Value.([]any) {
			found = found || cmp(v, x) == 0
		}
		return found == (op.Name == "in")
	case "contains":
		return strings.Contains(fmt.Sprint(v), op.Value.(string))
	case "starts_with":
		return strings.HasPrefix(fmt.Sprint(v), op.Value.(string))
	case "between":
		l := op.Value.([]any)
		return cmp(v, l[0]) >= 0 && cmp(v, l[1]) <= 0
	case "before":
		return v.(time.Time).Before(w.now.Add(-op.Value.(models.Duration).D))
	case "after":
		return v.(time.Time).After(w.now.Add(-op.Value.(models.Duration).D))
	case "within":
		t := v.(time.Time)
		return !t.Before(w.now.Add(-op.Value.(models.Duration).D)) && !t.After(w.now)
	}
	panic(op.Name)
}

// bucket is the md5 bucket the dialects compute: the first 32 bits of the
// md5 of the text, modulo n.
func bucket(s string, n int) int {
	sum := md5.Sum([]byte(s))
	v, _ := strconv.ParseUint(hex.EncodeToString(sum[:])[:8], 16, 64)
	return int(v % uint64(n))
}

// heldOut is whether a member is in the holdout: its bucket of 100, then a
// second digit pair (the bucket of 10,000 divided by 100) for hundredths of a
// percent, below the holdout.
func heldOut(seg *models.Segment, pid string) bool {
	k := seg.Name + ":" + pid
	fine := bucket(k, 100)*100 + bucket(k, 10000)/100
	return fine < int(math.Round(float64(seg.Holdout)*100))
}

// assign is the expected holdout and arm of a member.
func assign(seg *models.Segment, pid string) (bool, string) {
	if heldOut(seg, pid) {
		return true, ""
	}
	if len(seg.Splits) == 0 {
		return false, ""
	}
	total := 0
	for _, s := range seg.Splits {
		total += s.Weight
	}
	b, cum := bucket("split:"+seg.Name+":"+pid, total), 0
	for _, s := range seg.Splits {
		cum += s.Weight
		if b < cum {
			return false, s.Name
		}
	}
	return false, ""
}

// ---- reading the warehouse ----

type membership struct {
	enteredAt time.Time
	holdout   bool
	arm       string
}

func readMembers(t *testing.T, wh dialects.Warehouse, schema string) map[string]map[string]membership {
	t.Helper()
	rows, err := wh.Query(context.Background(), "SELECT segment, profile_id, entered_at, holdout, arm FROM "+wh.Dialect().Quote(schema, segments.MembershipsTable))
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]map[string]membership{}
	for rows.Next() {
		var seg, pid string
		var m membership
		var arm *string
		require.NoError(t, rows.Scan(&seg, &pid, &m.enteredAt, &m.holdout, &arm))
		if arm != nil {
			m.arm = *arm
		}
		if out[seg] == nil {
			out[seg] = map[string]membership{}
		}
		out[seg][pid] = m
	}
	require.NoError(t, rows.Err())
	return out
}

type change struct {
	seg, pid, change string
	at               time.Time
}

func readHistory(t *testing.T, wh dialects.Warehouse, schema string) []change {
	t.Helper()
	rows, err := wh.Query(context.Background(), "SELECT segment, profile_id, change, changed_at FROM "+wh.Dialect().Quote(schema, segments.HistoryTable))
	require.NoError(t, err)
	defer rows.Close()
	var out []change
	for rows.Next() {
		var c change
		require.NoError(t, rows.Scan(&c.seg, &c.pid, &c.change, &c.at))
		c.at = c.at.UTC()
		out = append(out, c)
	}
	require.NoError(t, rows.Err())
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// arms records, per dialect, every member's arm, to compare the dialects.
var arms = struct {
	ch chan map[string]string
}{ch: make(chan map[string]string, 2)}

func TestSegments(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, wf dialecttest.Fresh) {
		f := profilestest.New(t, profilestest.TraitsYAML+segmentsYAML)
		f.Load(t, wf.WH)
		schema := f.Project.Warehouse.Schema
		runs := []time.Time{profilestest.Now, profilestest.Now.Add(20 * 24 * time.Hour)}
		var prev map[string]map[string]bool
		var history []change
		for run, now := range runs {
			f.Run(t, wf.WH, now, parts...)
			w := &world{f: f, traits: f.Expected(now), now: now}
			got := readMembers(t, wf.WH, schema)
			cur := map[string]map[string]bool{}
			for _, seg := range f.Project.Segments {
				want := w.members(seg)
				cur[seg.Name] = want
				// every segment must be neither empty nor everyone, or it tests little
				if run == 0 {
					require.NotEmpty(t, want, "segment %s is empty in the fixture", seg.Name)
					require.Less(t, len(want), len(f.ProfileIDs), "segment %s holds everyone", seg.Name)
				}
				require.Equal(t, keys(want), keys(got[seg.Name]), "members of %s at run %d", seg.Name, run+1)
				for pid, m := range got[seg.Name] {
					h, a := assign(seg, pid)
					require.Equal(t, h, m.holdout, "holdout of %s in %s", pid, seg.Name)
					require.Equal(t, a, m.arm, "arm of %s in %s", pid, seg.Name)
					entered := now
					if prev != nil && prev[seg.Name][pid] {
						entered = runs[run-1]
					}
					require.True(t, m.enteredAt.UTC().Equal(entered), "entered_at of %s in %s: %v, want %v", pid, seg.Name, m.enteredAt, entered)
				}
				for pid := range want {
					if prev == nil || !prev[seg.Name][pid] {
						history = append(history, change{seg.Name, pid, "entered", now})
					}
				}
				for pid := range prev[seg.Name] {
					if !want[pid] {
						history = append(history, change{seg.Name, pid, "exited", now})
					}
				}
			}
			gotHist := readHistory(t, wf.WH, schema)
			key := func(c change) string { return c.seg + "|" + c.pid + "|" + c.change + "|" + c.at.Format(time.RFC3339) }
			var a, b []string
			for _, c := range history {
				a = append(a, key(c))
			}
			for _, c := range gotHist {
				b = append(b, key(c))
			}
			sort.Strings(a)
			sort.Strings(b)
			require.Equal(t, a, b, "segment_history after run %d", run+1)
			prev = cur
		}
		exits := 0
		for _, c := range history {
			if c.change == "exited" {
				exits++
			}
		}
		require.Greater(t, exits, 0, "the moved clock should make some members leave")

		// splits: both arms and the holdout are used, and the arms agree across dialects
		m := readMembers(t, wf.WH, schema)["split"]
		seen := map[string]int{}
		armOf := map[string]string{}
		for pid, x := range m {
			k := x.arm
			if x.holdout {
				k = "holdout"
			}
			seen[k]++
			armOf[pid] = k
		}
		require.Len(t, seen, 3, "arms seen: %v", seen)
		arms.ch <- armOf
	})
	t.Cleanup(func() {
		if len(arms.ch) == 2 {
			a, b := <-arms.ch, <-arms.ch
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("arms differ between dialects:\n%v\n%v", a, b)
			}
		}
	})
}

func TestPreviewAndOverlap(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, wf dialecttest.Fresh) {
		ctx := context.Background()
		f := profilestest.New(t, profilestest.TraitsYAML+segmentsYAML)
		f.Load(t, wf.WH)
		now := profilestest.Now
		f.Run(t, wf.WH, now, parts...)
		c := f.ReadContext(wf.WH.Dialect(), now)
		w := &world{f: f, traits: f.Expected(now), now: now}

		// an unsaved definition, as the UI sends it while a marketer edits
		unsaved, err := models.ParseSegment([]byte(`{"name": "draft", "holdout": "50%", "where": {"all": [
			{"event": {"source": "events", "name": "view"}},
			{"trait": "order_count", "gte": 1}]}}`))
		require.NoError(t, err)
		require.NoError(t, models.ValidateSegment(f.Project, unsaved))
		want := w.members(unsaved)
		require.NotEmpty(t, want)
		p, err := segments.Preview(ctx, wf.WH, c, unsaved, segments.PreviewOptions{Sample: 3, WithSQL: true})
		require.NoError(t, err)
		require.EqualValues(t, len(want), p.Count)
		holdout := 0
		for pid := range want {
			if h, _ := assign(unsaved, pid); h {
				holdout++
			}
		}
		require.EqualValues(t, holdout, p.Holdout)
		require.Nil(t, p.Previous)
		require.Len(t, p.Sample, min(3, len(want)))
		require.Equal(t, "order_count", p.Traits[0])
		for _, m := range p.Sample {
			require.True(t, want[m.ProfileID], m.ProfileID)
			require.EqualValues(t, w.traits[m.ProfileID]["order_count"], m.Traits["order_count"])
		}
		require.Contains(t, p.SQL, "count(*) OVER ()")
		require.Contains(t, p.String(), "draft: ")

		// no sample asked for: the counts all the same
		none, err := segments.Preview(ctx, wf.WH, c, unsaved, segments.PreviewOptions{Sample: -1})
		require.NoError(t, err)
		require.Empty(t, none.Sample)
		require.Equal(t, []int64{p.Count, p.Holdout}, []int64{none.Count, none.Holdout})

		// an event filter on a column no saved definition reads: the rows
		// table lacks it, so the source is joined to identity on the fly
		adhoc, err := models.ParseSegment([]byte(`
name: adhoc
where:
  event: {source: events, name: view, where: [{column: customer_id, starts_with: "c1"}]}
`))
		require.NoError(t, err)
		require.NoError(t, models.ValidateSegment(f.Project, adhoc))
		want = w.members(adhoc)
		require.NotEmpty(t, want)
		p, err = segments.Preview(ctx, wf.WH, c, adhoc, segments.PreviewOptions{WithSQL: true})
		require.NoError(t, err)
		require.EqualValues(t, len(want), p.Count)
		require.Contains(t, p.SQL, `"raw"."events"`)

		// a saved segment, changed: the change since the last run
		saved := *f.Project.Segment("op_gte_lte")
		saved.Where = &models.Condition{Trait: "order_count", Gte: int64(2)}
		p, err = segments.Preview(ctx, wf.WH, c, &saved, segments.PreviewOptions{Traits: []string{"email", "tier"}})
		require.NoError(t, err)
		before := len(w.members(f.Project.Segment("op_gte_lte")))
		after := len(w.members(&saved))
		require.NotEqual(t, before, after)
		require.NotNil(t, p.Previous)
		require.EqualValues(t, before, *p.Previous)
		require.EqualValues(t, after-before, *p.Change)
		require.Equal(t, []string{"email", "tier"}, p.Traits)

		// overlap of four saved and one unsaved segment: every combination;
		// two of them join event sets (under any:), each its own
		segs := []*models.Segment{f.Project.Segment("op_eq"), f.Project.Segment("ev_name"), unsaved,
			f.Project.Segment("ev_not_any"), f.Project.Segment("nested")}
		o, err := segments.Overlap(ctx, wf.WH, c, segs)
		require.NoError(t, err)
		require.Len(t, o.Sizes, 31)
		sets := make([]map[string]bool, len(segs))
		for i, s := range segs {
			sets[i] = w.members(s)
		}
		for _, size := range o.Sizes {
			n := 0
			for pid := range w.traits {
				in := true
				for _, name := range size.Segments {
					for i, s := range segs {
						if s.Name == name {
							in = in && sets[i][pid]
						}
					}
				}
				if in {
					n++
				}
			}
			require.EqualValues(t, n, size.Count, "overlap of %v", size.Segments)
		}
		require.Contains(t, o.String(), "op_eq ∩ ev_name ∩ draft ∩ ev_not_any ∩ nested")

		// the profile view lists the segments of a member
		pid := keys(w.members(f.Project.Segment("split")))[0]
		v, err := profiles.View(ctx, wf.WH, c, pid)
		require.NoError(t, err)
		var in []string
		for _, m := range v.Segments {
			in = append(in, m.Segment)
		}
		var wantIn []string
		for _, s := range f.Project.Segments {
			if w.members(s)[pid] {
				wantIn = append(wantIn, s.Name)
			}
		}
		sort.Strings(wantIn)
		require.Equal(t, wantIn, in)
	})
}

// TestNoSubplansOnPostgres: PostgreSQL runs a subquery that it cannot turn
// into a join as a subplan, once per profile, which scans the subquery's
// rows again for each once they outgrow work_mem (hours for 300,000
// profiles and 150,000 orders). No segment's members may be planned so,
// whatever its event conditions sit under.
func TestNoSubplansOnPostgres(t *testing.T) {
	wf := dialecttest.Open(t, "postgres")
	f := profilestest.New(t, profilestest.TraitsYAML+segmentsYAML)
	f.Load(t, wf.WH)
	f.Run(t, wf.WH, profilestest.Now, parts...)
	c := f.ReadContext(wf.WH.Dialect(), profilestest.Now)
	for _, seg := range f.Project.Segments {
		q, err := segments.MemberQuery(c, seg)
		require.NoError(t, err)
		sql, args, err := q.PlaceholderFormat(wf.WH.Dialect().Placeholder()).ToSql()
		require.NoError(t, err)
		plan := strings.Join(dialecttest.Lines(t, wf.WH, "EXPLAIN "+sql, args...), "\n")
		require.NotContains(t, plan, "SubPlan", "segment %s:\n%s", seg.Name, plan)
	}
}

func TestNoSegments(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, wf dialecttest.Fresh) {
		f := profilestest.New(t, profilestest.TraitsYAML)
		f.Load(t, wf.WH)
		f.Run(t, wf.WH, profilestest.Now, parts...)
		f.Run(t, wf.WH, profilestest.Now.Add(time.Hour), parts...)
		require.Empty(t, readMembers(t, wf.WH, f.Project.Warehouse.Schema))
		require.Empty(t, readHistory(t, wf.WH, f.Project.Warehouse.Schema))
	})
}

// TestFractionalHoldout: 12.5% holds out an eighth of 10,000 ids, the ones
// the expected assignment names, on every dialect; everyone 12% holds out is
// among them, and all of them are among 13%'s.
func TestFractionalHoldout(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, wf dialecttest.Fresh) {
		d := wf.WH.Dialect()
		var digits [][]string
		for i := range 10 {
			digits = append(digits, []string{dialects.Literal(d, strconv.Itoa(i))})
		}
		from := ""
		for i, a := range []string{"a", "b", "c", "e"} {
			if i > 0 {
				from += " CROSS JOIN "
			}
			from += dialects.Values(d, digits, a, []string{"x"})
		}
		segs := []*models.Segment{{Name: "h", Holdout: 12}, {Name: "h", Holdout: 12.5}, {Name: "h", Holdout: 13}}
		cols := []string{"p.profile_id"}
		for _, seg := range segs {
			h, _ := segments.Assignment(d, seg)
			cols = append(cols, h)
		}
		rows, err := wf.WH.Query(context.Background(), "SELECT "+strings.Join(cols, ", ")+
			" FROM (SELECT 'p_' || a.x || b.x || c.x || e.x AS profile_id FROM "+from+") p")
		require.NoError(t, err)
		defer rows.Close()
		held := make([]int, len(segs))
		for rows.Next() {
			var pid string
			got := make([]bool, len(segs))
			require.NoError(t, rows.Scan(&pid, &got[0], &got[1], &got[2]))
			for i, seg := range segs {
				require.Equal(t, heldOut(seg, pid), got[i], "%s at %g%%", pid, float64(seg.Holdout))
				if got[i] {
					held[i]++
				}
			}
			require.True(t, !got[0] || got[1], "%s: held out at 12%% but not at 12.5%%", pid)
			require.True(t, !got[1] || got[2], "%s: held out at 12.5%% but not at 13%%", pid)
		}
		require.NoError(t, rows.Err())
		t.Logf("held out of 10,000 at 12%%, 12.5%%, 13%%: %v", held)
		require.InDelta(t, 1250, held[1], 100, "12.5%% of 10,000")
		require.Greater(t, held[1], held[0])
		require.Greater(t, held[2], held[1])
	})
}
