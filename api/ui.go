package api

import (
	"net/http"

	"github.com/cohort-cdp/cohort/ui"
)

// WebUI is the embedded web UI (package ui), for Options.UI: the command
// line may import the API but not the UI's package (docs/architecture.md).
func WebUI() http.Handler { return ui.Handler() }
