package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// SuppressionHash is how a forgotten identifier is kept: the SHA-256 hex
// of "type:normalized value". SuppressedExpr computes the same in SQL.
func SuppressionHash(typ, normalized string) string {
	h := sha256.Sum256([]byte(typ + ":" + normalized))
	return hex.EncodeToString(h[:])
}

// SuppressedExpr is the SQL suppression hash of an identifier of type typ
// whose normalized value is the expression value.
func SuppressedExpr(d dialects.Dialect, typ, value string) string {
	return d.SHA256Hex(lit(typ+":") + " || " + value)
}

// SourceRows is the FROM item (aliased by the caller) every step reads a
// source's rows through: the source itself, or, once someone was forgotten
// (c.Suppressed), the source without the rows holding any suppressed
// identifier. A whole row goes, not only the identifier: its other columns
// (a name, an address) belong to the forgotten person too. This is the one
// place a run reads source rows, so nothing built from them can bring a
// forgotten person back.
func SourceRows(c *plan.Context, src *models.Source) string {
	rel := plan.Relation(c.Dialect, src)
	if len(c.Suppressed) == 0 || len(src.Identifiers) == 0 {
		return rel
	}
	d := c.Dialect
	// one anti-join per identifier column, each on an equality the
	// warehouse can hash (one NOT EXISTS with an IN over every column is
	// planned as a nested loop: rows × suppressions comparisons)
	var conds []string
	for _, id := range src.Identifiers {
		norm := NormalizeExpr(d, c.Project.Identity.Rule(id.Type), "src."+d.Quote(id.Column))
		conds = append(conds, "NOT EXISTS (SELECT 1 FROM "+d.Quote(c.Schema, plan.SuppressionsTable)+" x WHERE x.identifier_hash = "+
			SuppressedExpr(d, id.Type, norm)+")")
	}
	return "(\n  -- " + src.Name + " without the rows of forgotten people (cohort forget)\n  SELECT src.* FROM " + rel +
		" src\n  WHERE " + strings.Join(conds, "\n    AND ") + "\n)"
}

// HeldBy counts, per source with identifiers, the rows holding one of the
// identifiers whose suppression hashes are given: what the data team must
// still delete at the source after an erasure. Sources without such rows
// are left out.
func HeldBy(ctx context.Context, wh dialects.Warehouse, c *plan.Context, hashes []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(hashes) == 0 {
		return out, nil
	}
	d := c.Dialect
	lits := make([]string, len(hashes))
	for i, h := range hashes {
		lits[i] = lit(h)
	}
	for _, src := range c.Project.Sources {
		if len(src.Identifiers) == 0 {
			continue
		}
		var conds []string
		for _, id := range src.Identifiers {
			norm := NormalizeExpr(d, c.Project.Identity.Rule(id.Type), "src."+d.Quote(id.Column))
			conds = append(conds, SuppressedExpr(d, id.Type, norm)+" IN ("+strings.Join(lits, ", ")+")")
		}
		var n int64
		q := "SELECT count(*) FROM " + plan.Relation(d, src) + " src WHERE " + strings.Join(conds, " OR ")
		if err := plan.QueryRow(ctx, wh, q, nil, &n); err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		if n > 0 {
			out[src.Name] = n
		}
	}
	return out, nil
}
