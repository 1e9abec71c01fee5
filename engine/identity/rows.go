package identity

import (
	"fmt"
	"strings"

	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// ProfileRows is a query returning every column of a source's rows plus
// profile_id: the profile of the row's highest-priority identifier found in
// graph (a quoted identity_graph table). Rows with no identifier in the graph
// (excluded, junk, empty) are left out. Identifier types are validated names,
// and are compared as literals so the query stays a plain relation.
//
// Each identifier is normalized in the join's condition (ProbeExpr), where
// the warehouse computes it once per row it compares. A join after the first
// compares its identifier only when the joins before it found nothing (the
// key is NULL otherwise, and a NULL key matches no row), and a CASE computes
// its THEN only for the rows that reach it: the result is the same, and a
// row whose first identifier resolves it is neither normalized nor probed
// again for its other identifiers. (1M demo, DuckDB: a shop_customers row
// mostly resolves by its customer_id; its email and phone were probed for
// nothing until the joins were made conditional, the seven sources' rows
// 32.7-37.8 s of processor time before, 29.3-31.7 s after; and normalized
// for nothing until the normalization moved into the condition: the
// profiles step 10.5-12.7 s, median 11.1 s, against 11.6-13.2 s, median
// 12.2 s, five runs each alternated, its processor time median 22.7 s
// against 24.3 s.)
func ProfileRows(c *plan.Context, src *models.Source, graph string) string {
	d := c.Dialect
	ids := byPriority(c.Project, src.Identifiers)
	var joins, picks []string
	for i, id := range ids {
		alias := fmt.Sprintf("g%d", i+1)
		probe := ProbeExpr(d, c.Project.Identity.Rule(id.Type), "src."+d.Quote(id.Column))
		if i > 0 {
			probe = fmt.Sprintf("CASE WHEN %s IS NULL THEN %s END", coalesce(picks), probe)
		}
		joins = append(joins, fmt.Sprintf("LEFT JOIN %s %s ON %s.identifier_type = '%s' AND %s.identifier_value = %s",
			graph, alias, alias, id.Type, alias, probe))
		picks = append(picks, alias+".profile_id")
	}
	pid := coalesce(picks)
	return fmt.Sprintf("SELECT src.*, %s AS profile_id\nFROM %s src\n%s\nWHERE %s IS NOT NULL",
		pid, SourceRows(c, src), strings.Join(joins, "\n"), pid)
}

// coalesce is the first non-NULL of exprs.
func coalesce(exprs []string) string {
	if len(exprs) == 1 {
		return exprs[0]
	}
	return "coalesce(" + strings.Join(exprs, ", ") + ")"
}

// byPriority orders a source's identifiers by the identity rules' order;
// types without a rule come last, in the source's order.
func byPriority(p *models.Project, ids []*models.SourceIdentifier) []*models.SourceIdentifier {
	rank := func(t string) int {
		for i, r := range p.Identity.Identifiers {
			if r.Type == t {
				return i
			}
		}
		return len(p.Identity.Identifiers)
	}
	out := append([]*models.SourceIdentifier(nil), ids...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && rank(out[j].Type) < rank(out[j-1].Type); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
