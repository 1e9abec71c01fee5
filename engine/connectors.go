package engine

// Every destination connector registers itself in engine/destinations when
// its package is linked: the engine links them all, so that validation
// (models.DestinationTypes) and syncs see every one wherever the engine
// runs (the binary, the API, tests). A new connector adds its import here.
import (
	_ "github.com/cohort-cdp/cohort/engine/destinations/braze"
	_ "github.com/cohort-cdp/cohort/engine/destinations/customerio"
	_ "github.com/cohort-cdp/cohort/engine/destinations/google"
	_ "github.com/cohort-cdp/cohort/engine/destinations/hubspot"
	_ "github.com/cohort-cdp/cohort/engine/destinations/klaviyo"
	_ "github.com/cohort-cdp/cohort/engine/destinations/mailchimp"
	_ "github.com/cohort-cdp/cohort/engine/destinations/meta"
	_ "github.com/cohort-cdp/cohort/engine/destinations/postgres"
	_ "github.com/cohort-cdp/cohort/engine/destinations/slack"
	_ "github.com/cohort-cdp/cohort/engine/destinations/webhook"
)
