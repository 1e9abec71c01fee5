package identity

import (
	"context"
	"fmt"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// Warnings is advice for `cohort validate` on how the sources are read: an
// incremental run reads the rows after the previous run's newest timestamp
// and looks the newest timestamp up; where a scan cannot skip the older rows
// by min/max, a source table without an index on its timestamp is read whole
// for each of those (five times per run on PostgreSQL).
func Warnings(ctx context.Context, wh dialects.Warehouse, p *models.Project) ([]string, error) {
	d := wh.Dialect()
	q := dialects.LeadingIndex(d)
	if q == "" || d.Capabilities().MinMaxPruning {
		return nil, nil
	}
	var out []string
	for _, src := range p.Sources {
		if len(src.Identifiers) == 0 || src.Timestamp == "" || src.Table == "" {
			continue
		}
		var table, indexed bool
		if err := plan.QueryRow(ctx, wh, q, []any{src.Timestamp, plan.Relation(d, src)}, &table, &indexed); err != nil {
			return out, fmt.Errorf("source %s: %w", src.Name, err)
		}
		if table && !indexed {
			out = append(out, fmt.Sprintf("source %s: table %s has no index on its timestamp column %s, so each incremental identity run reads the whole table "+
				"instead of its new rows; index it: CREATE INDEX ON %s (%s)", src.Name, src.Table, src.Timestamp, plan.Relation(d, src), d.Quote(src.Timestamp)))
		}
	}
	return out, nil
}
