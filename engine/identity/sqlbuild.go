package identity

import (
	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/models"
)

// lit is a SQL string literal of a validated name (identifier types, rule
// names): they are part of the query's shape, not user data.
var lit = dialects.StringLiteral

// rank is an identifier type's priority: its position in identity.identifiers;
// types without a rule come after every ruled type.
func rank(p *models.Project, typ string) int {
	for i, r := range p.Identity.Identifiers {
		if r.Type == typ {
			return i
		}
	}
	return len(p.Identity.Identifiers)
}
