// Package consent decides, in SQL, which profiles a sync may send: the
// sync's consent purpose, and transfer consent for a destination outside the
// EU/EEA. It is the one place that filter is written, so that suppression of
// forgotten people (cohort forget) joins it here.
package consent

import (
	"fmt"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// Rule is what a sync's audience must satisfy, for people and for SQL.
type Rule struct {
	// Traits are the boolean traits a profile must have true, in order
	// (the purpose's, then transfer_outside_eu's).
	Traits []string
	// Why says in words what Traits stand for, one per trait.
	Why []string
}

// For is the rule of sync s sending to a destination in region (already
// resolved: Spec.RegionOf), internal when the destination keeps the data
// inside the company. It is an error, not an empty audience, when the
// project cannot say who may be sent: a sync to an outside tool without a
// purpose, or a destination outside the EU/EEA without
// consent.transfer_outside_eu.
func For(p *models.Project, s *models.Sync, region string, internal bool) (Rule, error) {
	var r Rule
	if s.Purpose == "" {
		if !internal {
			return r, fmt.Errorf("sync %s has no purpose: name the consent purpose its people agreed to (purpose: marketing_email), "+
				"or mark its destination internal when the data stays inside the company", s.Name)
		}
	} else {
		var pur *models.Purpose
		if p.Consent != nil {
			for _, x := range p.Consent.Purposes {
				if x.Name == s.Purpose {
					pur = x
				}
			}
		}
		if pur == nil {
			return r, fmt.Errorf("sync %s: unknown consent purpose %q (define it under consent.purposes)", s.Name, s.Purpose)
		}
		r.Traits = append(r.Traits, pur.Trait)
		r.Why = append(r.Why, fmt.Sprintf("consent for %s (%s)", pur.Name, pur.Trait))
	}
	if !destinations.InEEA(region) {
		if p.Consent == nil || p.Consent.TransferOutsideEU == nil {
			return r, fmt.Errorf("sync %s sends to region %q, outside the EU/EEA: define consent.transfer_outside_eu "+
				"(the trait saying a person agreed to that), or use a destination in the EU", s.Name, region)
		}
		t := p.Consent.TransferOutsideEU.Trait
		r.Traits = append(r.Traits, t)
		r.Why = append(r.Why, fmt.Sprintf("consent to transfer outside the EU/EEA (%s)", t))
	}
	return r, nil
}

// Condition is the rule as a SQL condition over a profiles row aliased
// alias; quote quotes an identifier. "" when the rule asks nothing.
func (r Rule) Condition(quote func(parts ...string) string, alias string) string {
	var c []string
	for _, t := range r.Traits {
		c = append(c, quote(alias, t)+" IS TRUE")
	}
	return strings.Join(c, " AND ")
}

// String says the rule in words.
func (r Rule) String() string {
	if len(r.Why) == 0 {
		return "none needed (an internal destination inside the EU/EEA)"
	}
	return strings.Join(r.Why, " and ")
}

// Unsuppressed is the SQL condition that a profiles row aliased alias holds
// no identifier on the suppression list (cohort forget), in the output
// schema: a forgotten person is never sent, even before the next run has
// taken them out of the output tables.
func Unsuppressed(d dialects.Dialect, schema, alias string) string {
	return "NOT EXISTS (SELECT 1 " + suppressedFrom(d, schema) + " WHERE g.profile_id = " + alias + ".profile_id)"
}

// Suppressed is the query of the profile ids (profile_id, one row per
// identifier) that hold an identifier on the suppression list.
func Suppressed(d dialects.Dialect, schema string) string {
	return "SELECT g.profile_id " + suppressedFrom(d, schema)
}

func suppressedFrom(d dialects.Dialect, schema string) string {
	return fmt.Sprintf("FROM %s g JOIN %s x ON x.identifier_hash = %s",
		d.Quote(schema, identity.GraphTable), d.Quote(schema, plan.SuppressionsTable),
		d.SHA256Hex("g.identifier_type || ':' || g.identifier_value"))
}
