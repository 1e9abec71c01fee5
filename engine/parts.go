package engine

import (
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
)

// DefaultParts are the stages of a run, in order: `cohort run --only NAME` picks one.
var DefaultParts = []Part{
	{Name: "identity", Steps: identity.Steps},
	{Name: "profiles", Steps: profiles.Steps},
	{Name: "segments", Steps: segments.Steps},
}
