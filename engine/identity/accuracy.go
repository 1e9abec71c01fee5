package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
)

// TruthTable is where the demo generator writes who each identifier really belongs to.
const TruthTable = "demo_truth.identifiers"

// AccuracyReport is pairwise precision and recall of identity_graph against
// the demo's truth: a pair is two identifiers; predicted when they share a
// profile, true when they share a person.
type AccuracyReport struct {
	TruthIdentifiers int64   `json:"truth_identifiers"`
	InGraph          int64   `json:"in_graph"`           // truth identifiers found in identity_graph
	PairsPredicted   int64   `json:"pairs_same_profile"` // among truth identifiers in the graph
	PairsTrue        int64   `json:"pairs_same_person"`  // among all truth identifiers
	PairsCorrect     int64   `json:"pairs_both"`
	Precision        float64 `json:"precision"`
	Recall           float64 `json:"recall"`
}

func (a *AccuracyReport) String() string {
	return fmt.Sprintf("identity accuracy against demo_truth: precision %.4f, recall %.4f (%s of %s in the graph; %s predicted, %s true, %s both)",
		a.Precision, a.Recall, plan.Thousands(a.InGraph), plan.Count(a.TruthIdentifiers, "identifier"), plan.Count(a.PairsPredicted, "pair"),
		plan.Thousands(a.PairsTrue), plan.Thousands(a.PairsCorrect))
}

// Accuracy compares the final identity_graph with demo_truth.identifiers,
// counting pairs per cell (profile, person) as n·(n-1)/2 so that no pair is
// materialized. It returns nil, nil when the warehouse has no truth table.
func Accuracy(ctx context.Context, wh dialects.Warehouse, c *plan.Context) (*AccuracyReport, error) {
	if _, err := wh.Columns(ctx, TruthTable); err != nil {
		if errors.Is(err, dialects.ErrNoTable) {
			return nil, nil
		}
		return nil, err
	}
	if err := c.RequireFinal(ctx, wh, GraphTable); err != nil {
		return nil, err
	}
	d := wh.Dialect()
	truth := d.Quote(dialects.SplitTable(TruthTable))
	q := `-- pairwise accuracy of identity resolution against the demo's truth
WITH matched AS (
  SELECT g.profile_id, t.person_id
  FROM ` + c.Final(GraphTable) + ` g
  JOIN ` + truth + ` t ON t.identifier_type = g.identifier_type AND t.identifier_value = g.identifier_value
),
cells AS (SELECT count(*) AS n FROM matched GROUP BY profile_id, person_id),
profiles AS (SELECT count(*) AS n FROM matched GROUP BY profile_id),
persons AS (SELECT count(*) AS n FROM ` + truth + ` GROUP BY person_id)
SELECT
  (SELECT count(*) FROM ` + truth + `),
  (SELECT count(*) FROM matched),
  (SELECT CAST(coalesce(sum(n * (n - 1)), 0) AS BIGINT) FROM profiles),
  (SELECT CAST(coalesce(sum(n * (n - 1)), 0) AS BIGINT) FROM persons),
  (SELECT CAST(coalesce(sum(n * (n - 1)), 0) AS BIGINT) FROM cells)`
	r := &AccuracyReport{}
	if err := plan.QueryRow(ctx, wh, q, nil, &r.TruthIdentifiers, &r.InGraph, &r.PairsPredicted, &r.PairsTrue, &r.PairsCorrect); err != nil {
		return nil, err
	}
	r.PairsPredicted /= 2
	r.PairsTrue /= 2
	r.PairsCorrect /= 2
	r.Precision, r.Recall = 1, 1
	if r.PairsPredicted > 0 {
		r.Precision = float64(r.PairsCorrect) / float64(r.PairsPredicted)
	}
	if r.PairsTrue > 0 {
		r.Recall = float64(r.PairsCorrect) / float64(r.PairsTrue)
	}
	return r, nil
}
