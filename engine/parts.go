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
	{Name: "profiles", Steps: profiles.Steps},
	{Name: "segments", Steps: segments.Steps},
}

// identitySteps are identity's steps, then the table of which sources hold
// each identifier that the profile look-up reads.
func identitySteps(c *plan.Context) ([]plan.Step, error) {
	steps, err := identity.Steps(c)
	if err != nil {
		return nil, err
	}
	return append(steps, identity.SourcesStep(c)), nil
}
