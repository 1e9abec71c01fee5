package main

// Every destination connector registers itself; one blank import each.
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
