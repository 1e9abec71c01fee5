package segments

import (
	"context"
	"fmt"
	"strings"

	sq "github.com/Masterminds/squirrel"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/models"
)

// The public tables segments stage.
const (
	MembershipsTable = "segment_memberships"
	HistoryTable     = "segment_history"
)

// Steps is the segments part of a run: one step staging segment_memberships
// and segment_history.
func Steps(c *plan.Context) ([]plan.Step, error) {
	s := &Step{c: c, segs: c.Project.SegmentOrder()}
	// compile once now so that a bad definition fails at compile time
	if _, err := s.statements(true); err != nil {
		return nil, err
	}
	c.AppendOnPublish(HistoryTable, historyCols, true) // as on every run but the first
	return []plan.Step{s}, nil
}

// historyCols are segment_history's columns.
const historyCols = "segment, profile_id, change, changed_at"

// Step computes every segment's members, keeps entered_at of members who
// stay, assigns holdouts and arms, and stages this run's entries and exits,
// which the publish step appends to the history (its cost does not grow
// with all the history before). Which statements run depends on whether the previous
// tables exist (not on a first run), so Run decides.
type Step struct {
	c    *plan.Context
	segs []*models.Segment
}

func (s *Step) Name() string      { return "segments" }
func (s *Step) Outputs() []string { return []string{MembershipsTable, HistoryTable} }

func (s *Step) SQL() string {
	sts, err := s.statements(true)
	if err != nil {
		return plan.Comment("error: " + err.Error())
	}
	return (&plan.SQLStep{Header: s.header(), Statements: sts}).SQL()
}

func (s *Step) header() string {
	lines := []string{"segments: members of every segment, holdouts, splits and the history of entries and exits",
		"(on a first run, when segment_memberships and segment_history do not exist yet, the parts reading them are left out)"}
	for _, seg := range s.segs {
		lines = append(lines, fmt.Sprintf("segment %s (%s)", seg.Name, seg.Pos))
	}
	return strings.Join(lines, "\n")
}

func (s *Step) Run(ctx context.Context, wh dialects.Warehouse, p plan.Progress) (plan.Stats, error) {
	prevMembers, err := s.c.FinalExists(ctx, wh, MembershipsTable)
	if err != nil {
		return plan.Stats{}, err
	}
	prevHistory, err := s.c.FinalExists(ctx, wh, HistoryTable)
	if err != nil {
		return plan.Stats{}, err
	}
	sts, err := s.statements(prevMembers)
	if err != nil {
		return plan.Stats{}, err
	}
	// the first history is published whole, later runs append their changes
	s.c.AppendOnPublish(HistoryTable, historyCols, prevHistory)
	stats := plan.Stats{Rows: map[string]int64{}}
	for _, st := range sts {
		if p != nil {
			p(st.Def)
		}
		if err := wh.Exec(ctx, st.SQL, st.Args...); err != nil {
			return stats, &dialects.StatementError{Def: st.Def, SQL: st.SQL, Err: err}
		}
	}
	for _, t := range s.Outputs() {
		n, err := plan.CountRows(ctx, wh, s.c.Staged(t))
		if err != nil {
			return stats, err
		}
		stats.Rows[t] = n
	}
	return stats, nil
}

// memberQuery is the SELECT of one segment's current members (segment,
// profile_id, holdout, arm) from the profiles table.
func memberQuery(c *plan.Context, seg *models.Segment) (sq.SelectBuilder, error) {
	d := c.Dialect
	where, err := Where(c, seg)
	if err != nil {
		return sq.SelectBuilder{}, fmt.Errorf("segment %s: %w", seg.Name, err)
	}
	holdout, arm := assignment(d, seg)
	return sq.Select(
		"CAST("+lit(seg.Name)+" AS "+d.TypeName(dialects.Text)+") AS segment",
		"p.profile_id",
		holdout+" AS holdout",
		arm+" AS arm",
	).From(c.Input(profiles.Table) + " p").Where(where), nil
}

func (s *Step) statements(prevMembers bool) ([]plan.Statement, error) {
	c, d := s.c, s.c.Dialect
	text, ts := d.TypeName(dialects.Text), d.TypeName(dialects.Timestamp)
	var b strings.Builder
	var args []any
	var ctes []string
	for _, seg := range s.segs {
		q, err := memberQuery(c, seg)
		if err != nil {
			return nil, err
		}
		sql, a, err := q.ToSql()
		if err != nil {
			return nil, err
		}
		cte := d.Quote("segment_" + seg.Name)
		ctes = append(ctes, cte)
		if len(ctes) == 1 {
			b.WriteString("WITH\n")
		} else {
			b.WriteString(",\n")
		}
		b.WriteString(plan.Comment(fmt.Sprintf("segment %s (%s)", seg.Name, seg.Pos)))
		b.WriteString(cte + " AS (\n  " + sql + "\n)")
		args = append(args, a...)
	}
	now := "CAST(? AS " + ts + ")"
	if len(ctes) == 0 {
		b.WriteString(fmt.Sprintf("SELECT CAST(NULL AS %s) AS segment, CAST(NULL AS %s) AS profile_id, CAST(NULL AS %s) AS entered_at, false AS holdout, CAST(NULL AS %s) AS arm WHERE 1 = 0",
			text, text, ts, text))
	} else {
		var union []string
		for _, cte := range ctes {
			union = append(union, "SELECT * FROM "+cte)
		}
		b.WriteString(",\n" + d.Quote("current") + " AS (\n  " + strings.Join(union, "\n  UNION ALL ") + "\n)\n")
		if prevMembers {
			b.WriteString("SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, " + now + ") AS entered_at, cur.holdout, cur.arm\nFROM " +
				d.Quote("current") + " cur\nLEFT JOIN " + c.Final(MembershipsTable) + " prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id")
		} else {
			b.WriteString("SELECT cur.segment, cur.profile_id, " + now + " AS entered_at, cur.holdout, cur.arm\nFROM " + d.Quote("current") + " cur")
		}
		args = append(args, plan.TimeArg(c.Now))
	}
	var defs []string
	for _, seg := range s.segs {
		defs = append(defs, fmt.Sprintf("%s (%s)", seg.Name, seg.Pos))
	}
	members := plan.Statement{SQL: d.CreateTableAs(c.Staged(MembershipsTable), dialects.Bind(d, b.String()), false), Args: args,
		Def: "segment_memberships of segments " + strings.Join(defs, ", ")}

	var h []string
	var hargs []any
	entered := "SELECT cur.segment, cur.profile_id, CAST('entered' AS " + text + ") AS change, " + now + " AS changed_at\nFROM " + c.Staged(MembershipsTable) + " cur"
	if prevMembers {
		entered += "\nWHERE NOT EXISTS (SELECT 1 FROM " + c.Final(MembershipsTable) + " prev WHERE prev.segment = cur.segment AND prev.profile_id = cur.profile_id)"
	}
	h = append(h, entered)
	hargs = append(hargs, plan.TimeArg(c.Now))
	if prevMembers {
		h = append(h, "SELECT prev.segment, prev.profile_id, CAST('exited' AS "+text+") AS change, "+now+" AS changed_at\nFROM "+c.Final(MembershipsTable)+" prev"+
			"\nWHERE NOT EXISTS (SELECT 1 FROM "+c.Staged(MembershipsTable)+" cur WHERE cur.segment = prev.segment AND cur.profile_id = prev.profile_id)")
		hargs = append(hargs, plan.TimeArg(c.Now))
	}
	history := plan.Statement{
		SQL:  plan.Comment("history: this run's entries and exits, appended to segment_history when the run is published") + d.CreateTableAs(c.Staged(HistoryTable), dialects.Bind(d, strings.Join(h, "\nUNION ALL\n")), false),
		Args: hargs,
		Def:  "segment_history",
	}
	return []plan.Statement{members, history}, nil
}
