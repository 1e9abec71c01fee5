package identity

import (
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// stmt builds one statement with ? placeholders and its bound values; st
// rewrites the placeholders into the dialect's format.
type stmt struct {
	b    strings.Builder
	args []any
}

// w writes SQL text.
func (s *stmt) w(parts ...string) *stmt {
	for _, p := range parts {
		s.b.WriteString(p)
	}
	return s
}

// arg binds a value and returns its placeholder.
func (s *stmt) arg(v any) string {
	s.args = append(s.args, v)
	return "?"
}

func (s *stmt) st(d dialects.Dialect) plan.Statement {
	return plan.Statement{SQL: dialects.Bind(d, s.b.String()), Args: s.args}
}

// lit is a SQL string literal of a validated name (identifier types, rule
// names): they are part of the query's shape, not user data.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

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
