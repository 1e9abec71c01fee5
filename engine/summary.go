package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
)

// Summary is what the output schema holds after a run.
type Summary struct {
	Profiles    int64          `json:"profiles"`
	Identifiers int64          `json:"identifiers"`
	Rejections  int64          `json:"rejections"`
	Segments    []SegmentCount `json:"segments"`
}

// SegmentCount is the size of one segment.
type SegmentCount struct {
	Name    string `json:"name"`
	Members int64  `json:"members"`
	Holdout int64  `json:"holdout"`
}

// Summarize counts the final output tables; tables not built yet count as empty.
func Summarize(ctx context.Context, wh dialects.Warehouse, c *plan.Context) (*Summary, error) {
	s := &Summary{}
	for table, dst := range map[string]*int64{"profiles": &s.Profiles, "identity_graph": &s.Identifiers, "identity_rejections": &s.Rejections} {
		n, err := countIfExists(ctx, wh, c, table)
		if err != nil {
			return nil, err
		}
		*dst = n
	}
	if ok, err := c.FinalExists(ctx, wh, "segment_memberships"); !ok {
		return s, err
	}
	rows, err := wh.Query(ctx, `SELECT segment, count(*), sum(CASE WHEN holdout THEN 1 ELSE 0 END)
FROM `+c.Final("segment_memberships")+` GROUP BY segment`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]SegmentCount{}
	for rows.Next() {
		var sc SegmentCount
		if err := rows.Scan(&sc.Name, &sc.Members, &sc.Holdout); err != nil {
			return nil, err
		}
		counts[sc.Name] = sc
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, seg := range c.Project.Segments { // project order, empty segments included
		sc := counts[seg.Name]
		sc.Name = seg.Name
		s.Segments = append(s.Segments, sc)
	}
	return s, nil
}

func countIfExists(ctx context.Context, wh dialects.Warehouse, c *plan.Context, table string) (int64, error) {
	if ok, err := c.FinalExists(ctx, wh, table); !ok {
		return 0, err
	}
	return plan.CountRows(ctx, wh, c.Final(table))
}

func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profiles     %12s\n", plan.Thousands(s.Profiles))
	fmt.Fprintf(&b, "identifiers  %12s\n", plan.Thousands(s.Identifiers))
	fmt.Fprintf(&b, "rejections   %12s\n", plan.Thousands(s.Rejections))
	if len(s.Segments) > 0 {
		b.WriteString("segments\n")
		w := 0
		for _, sc := range s.Segments {
			w = max(w, len(sc.Name))
		}
		for _, sc := range s.Segments {
			fmt.Fprintf(&b, "  %-*s %12s", w, sc.Name, plan.Thousands(sc.Members))
			if sc.Holdout > 0 {
				fmt.Fprintf(&b, "  (holdout %s)", plan.Thousands(sc.Holdout))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
