package engine

import (
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
)

// DefaultParts are the stages of a run, in order: `cohort run --only NAME` picks one.
var DefaultParts = []Part{
	{Name: "identity", Steps: identitySteps},
	{Name: "profiles", Steps: profiles.Steps, Reads: []string{identity.GraphTable}},
	{Name: "segments", Steps: segments.Steps, Reads: []string{profiles.Table}},
}

// identitySteps are identity's steps, then the tables the profile look-up
// reads: which sources hold each identifier, and each profile's
// identifiers with their sources where the warehouse builds that.
func identitySteps(c *plan.Context) ([]plan.Step, error) {
	steps, err := identity.Steps(c)
	if err != nil {
		return nil, err
	}
	steps = append(steps, identity.SourcesStep(c))
	if st := identity.ProfileIdentifiersStep(c); st != nil {
		steps = append(steps, st)
	}
	return steps, nil
}
