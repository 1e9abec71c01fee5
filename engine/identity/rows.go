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
// Each identifier is normalized once, in a subquery, as a column
// "_identifier_<n>" the join compares (the query's rows carry them too).
// Written in the join's condition, DuckDB computed a normalization twice
// per row: it plans NULLIF(x, ”) as CASE WHEN x = ” THEN NULL ELSE x END
// and shares no common expression inside a join condition, where it does
// in a projection (1M demo: the rows of shop_customers, three identifiers,
// 2.5 s of processor time before, 2.0 s after).
//
// A join after the first compares its identifier only when the joins before
// it found nothing (the key is NULL otherwise, and a NULL key matches no
// row): the result is the same, and a warehouse probes the graph for a row
// once where its first identifier resolves it, instead of once per
// identifier (1M demo, DuckDB: the seven sources' rows 32.7-37.8 s of
// processor time before, 29.3-31.7 s after, alternated four times; a
// shop_customers row mostly resolves by its customer_id, and its email and
// phone were probed for nothing).
func ProfileRows(c *plan.Context, src *models.Source, graph string) string {
	d := c.Dialect
	ids := byPriority(c.Project, src.Identifiers)
	var keys, joins, picks []string
	for i, id := range ids {
		alias, key := fmt.Sprintf("g%d", i+1), d.Quote(fmt.Sprintf("_identifier_%d", i+1))
		rule := c.Project.Identity.Rule(id.Type)
		keys = append(keys, NormalizeExpr(d, rule, "src."+d.Quote(id.Column))+" AS "+key)
		probe := "src." + key
		if i > 0 {
			probe = fmt.Sprintf("CASE WHEN %s IS NULL THEN %s END", coalesce(picks), probe)
		}
		joins = append(joins, fmt.Sprintf("LEFT JOIN %s %s ON %s.identifier_type = '%s' AND %s.identifier_value = %s",
			graph, alias, alias, id.Type, alias, probe))
		picks = append(picks, alias+".profile_id")
	}
	pid := coalesce(picks)
	return fmt.Sprintf("SELECT src.*, %s AS profile_id\nFROM (\n  SELECT src.*,\n    %s\n  FROM %s src\n) src\n%s\nWHERE %s IS NOT NULL",
		pid, strings.Join(keys, ",\n    "), SourceRows(c, src), strings.Join(joins, "\n"), pid)
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
