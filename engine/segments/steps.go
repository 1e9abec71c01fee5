package segments

import (
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
// and this run's segment_history rows. Whether the previous tables exist
// (not on a first run) is a branch of its plan, so compile prints both.
func Steps(c *plan.Context) ([]plan.Step, error) {
	segs := c.Project.SegmentOrder()
	withPrev, err := statements(c, segs, true)
	if err != nil {
		return nil, err
	}
	first, err := statements(c, segs, false)
	if err != nil {
		return nil, err
	}
	nodes := []plan.Node{
		plan.IfExists{Table: MembershipsTable, Then: execs(withPrev), Else: execs(first)},
		// the first history is published whole, later runs append their changes
		plan.IfExists{Table: HistoryTable,
			Then: []plan.Node{plan.Publish{Table: HistoryTable, Cols: historyCols, Append: true}},
			Else: []plan.Node{plan.Publish{Table: HistoryTable, Cols: historyCols}}},
	}
	count := map[string]string{}
	for _, t := range []string{MembershipsTable, HistoryTable} {
		count[t] = c.Staged(t)
	}
	return []plan.Step{&plan.SQLStep{StepName: "segments", Header: header(segs), Nodes: nodes, Ctx: c,
		Out: []string{MembershipsTable, HistoryTable}, Count: count}}, nil
}

// historyCols are segment_history's columns.
const historyCols = "segment, profile_id, change, changed_at"

func execs(sts []plan.Statement) []plan.Node {
	nodes := make([]plan.Node, len(sts))
	for i, st := range sts {
		nodes[i] = plan.Exec{Statement: st}
	}
	return nodes
}

// header names the step and the segments it computes: members of every
// segment, entered_at kept for members who stay, holdouts and arms, and
// this run's entries and exits, which the publish step appends to the
// history (its cost does not grow with all the history before).
func header(segs []*models.Segment) string {
	lines := []string{"segments: members of every segment, holdouts, splits and the history of entries and exits"}
	for _, seg := range segs {
		lines = append(lines, fmt.Sprintf("segment %s (%s)", seg.Name, seg.Pos))
	}
	return strings.Join(lines, "\n")
}

// memberQuery is the SELECT of one segment's current members (segment,
// profile_id, holdout, arm) from the profiles table.
func memberQuery(c *plan.Context, seg *models.Segment) (sq.SelectBuilder, error) {
	d := c.Dialect
	f, err := Where(c, seg)
	if err != nil {
		return sq.SelectBuilder{}, fmt.Errorf("segment %s: %w", seg.Name, err)
	}
	holdout, arm := assignment(d, seg)
	return f.Apply(sq.Select(
		"CAST("+dialects.Literal(d, seg.Name)+" AS "+d.TypeName(dialects.Text)+") AS segment",
		"p.profile_id",
		holdout+" AS holdout",
		arm+" AS arm",
	).From(c.Input(profiles.Table) + " p")), nil
}

func statements(c *plan.Context, segs []*models.Segment, prevMembers bool) ([]plan.Statement, error) {
	d := c.Dialect
	text, ts := d.TypeName(dialects.Text), d.TypeName(dialects.Timestamp)
	var b strings.Builder
	var args []any
	var ctes []string
	for _, seg := range segs {
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
		b.WriteString(fmt.Sprintf("SELECT CAST(NULL AS %s) AS segment, CAST(NULL AS %s) AS profile_id, CAST(NULL AS %s) AS entered_at, false AS holdout, CAST(NULL AS %s) AS arm LIMIT 0",
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
	for _, seg := range segs {
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
