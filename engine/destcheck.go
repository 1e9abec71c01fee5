package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/models"
)

// Validation checks destinations and syncs against the connectors' specs
// (engine/destinations), which models cannot import.
func init() {
	models.CheckDestination = checkDestination
	models.CheckSync = checkSync
	models.DestinationRegion = destinationRegion
}

func destinationRegion(d *models.Destination) (string, bool) {
	spec, err := destinations.Lookup(d.Type)
	if err != nil {
		return "", false
	}
	region := spec.RegionOf(d.Region, d.Config)
	return region, !destinations.InEEA(region)
}

func checkDestination(d *models.Destination) []models.KeyProblem {
	spec, err := destinations.Lookup(d.Type)
	if err != nil {
		return nil // an unknown type is reported by models
	}
	return keyProblems(spec.CheckConfig(d.Region, d.Config))
}

func checkSync(s *models.Sync, d *models.Destination, traitType func(string) string) []models.KeyProblem {
	spec, err := destinations.Lookup(d.Type)
	if err != nil || len(s.Match) == 0 {
		return nil // models says what is missing
	}
	mode := destinations.Mode(s.Mode)
	if !slices.Contains(models.SyncModes, s.Mode) {
		mode = "" // models names the unknown mode
	}
	fields := map[string]string{}
	for f, trait := range s.Fields {
		if trait != "" {
			fields[f] = trait
		}
	}
	ps := keyProblems(spec.CheckMapping(mode, s.Match, fields, traitType))
	if s.Purpose == "" && !spec.IsInternal(d.Config) {
		how := "a destination of type " + d.Type + " is always outside the company"
		if spec.ConfigField("internal") != nil {
			how = fmt.Sprintf("or set internal: true in destination %s's config when it is your own service", d.Name)
		}
		ps = append(ps, models.KeyProblem{Msg: "has no purpose: name the consent purpose its people agreed to " +
			"(purpose: marketing_email, defined under consent.purposes); " + how})
	}
	return ps
}

func keyProblems(ps []destinations.Problem) []models.KeyProblem {
	out := make([]models.KeyProblem, len(ps))
	for i, p := range ps {
		out[i] = models.KeyProblem{Key: p.Key, Msg: p.Msg}
	}
	return out
}

// DestinationCheck is what checking one destination against its vendor found.
type DestinationCheck struct {
	Name, Type string
	// Checked: the connector asked the vendor (key accepted, list found);
	// false when it has nothing to ask and only its config was checked.
	Checked bool
	Err     error
	// Unreachable: Err is the vendor not answering (no connection, a
	// timeout, a 5xx or 429), so nothing was learned about the config.
	Unreachable bool
}

// UnreachableError is a check of destinations that failed only because
// vendors did not answer: a failure of the work (exit 1), where a key the
// vendor refused or a list it does not have is bad config (a
// models.ErrorList, exit 2). It unwraps to the list of failures, at their
// destinations' positions.
type UnreachableError struct{ Errs models.ErrorList }

func (e *UnreachableError) Error() string { return e.Errs.Error() }
func (e *UnreachableError) Unwrap() error { return e.Errs }

// unanswered reports a check that failed for want of an answer.
func unanswered(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	e, ok := destinations.AsError(err)
	return ok && e.Retryable
}

// CheckDestinations opens every destination of the project and, where the
// connector can, asks the vendor whether the key is accepted and the list
// or audience exists, before any data moves (validate --check-destinations).
// Destinations are checked one after the other, each within timeout. The
// error lists the failures at their destinations' positions: a
// models.ErrorList when one is bad config, an *UnreachableError when every
// failure is a vendor that did not answer.
func (s *Service) CheckDestinations(ctx context.Context, timeout time.Duration) ([]DestinationCheck, error) {
	client := &http.Client{Timeout: timeout}
	var out []DestinationCheck
	var errs models.ErrorList
	config := false // a failure that is the config's
	for _, d := range s.Project.Destinations {
		if d == nil {
			continue
		}
		c := DestinationCheck{Name: d.Name, Type: d.Type}
		dst, _, err := destinations.Open(d.Type, destinations.Config{Name: d.Name, Region: d.Region, Values: d.Config, HTTP: client})
		if err != nil {
			c.Err = err
		} else if ch, ok := dst.(destinations.Checker); ok {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			c.Checked, c.Err = true, ch.Check(cctx)
			cancel()
			if c.Err != nil {
				c.Unreachable = unanswered(c.Err)
				c.Err = fmt.Errorf("destination %s: %w", d.Name, c.Err)
			}
		}
		if c.Err != nil {
			errs = append(errs, models.Error{Pos: d.Pos, Msg: c.Err.Error()})
			config = config || !c.Unreachable
		}
		out = append(out, c)
	}
	switch {
	case config:
		return out, errs
	case len(errs) > 0:
		return out, &UnreachableError{errs}
	}
	return out, nil
}

// Connector is a connector's spec as data, for listings (cohort
// destinations, the API).
type Connector struct {
	Type          string           `json:"type"`
	Title         string           `json:"title"`
	Description   string           `json:"description"`
	Region        string           `json:"region"`
	Regions       []string         `json:"regions,omitempty"`
	Modes         []string         `json:"modes"`
	CanDelete     bool             `json:"can_delete"`
	CanErase      bool             `json:"can_erase"`
	Config        []ConnectorKey   `json:"config"`
	Match         []ConnectorField `json:"match"`
	MatchRequired []string         `json:"match_required,omitempty"`
	Fields        []ConnectorField `json:"fields"`
	Custom        string           `json:"custom,omitempty"` // the rule for custom field names, "" when none are taken
	CustomPattern string           `json:"custom_pattern,omitempty"`
	Limits        ConnectorLimits  `json:"limits"`
}

// ConnectorKey is a key of a destination's config.
type ConnectorKey struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Secret      bool     `json:"secret,omitempty"`
	Default     any      `json:"default,omitempty"`
	Enum        []string `json:"enum,omitempty"`
}

// ConnectorField is a match key or field a sync may map.
type ConnectorField struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// ConnectorLimits are a connector's batch size, pace and concurrency.
type ConnectorLimits struct {
	BatchRecords int           `json:"batch_records"`
	BatchBytes   int           `json:"batch_bytes,omitempty"`
	Requests     int           `json:"requests,omitempty"`
	Per          time.Duration `json:"-"`
	PerSeconds   float64       `json:"per_seconds,omitempty"`
	Concurrency  int           `json:"concurrency"`
}

// Connectors lists the connectors compiled in, by type.
func Connectors() []Connector {
	var out []Connector
	for _, s := range destinations.Specs() {
		c := Connector{Type: s.Type, Title: s.Title, Description: s.Description, Region: s.Region, Regions: s.Regions,
			CanDelete: s.CanDelete, CanErase: s.CanErase, MatchRequired: s.MatchRequired,
			Match: connectorFields(s.Match), Fields: connectorFields(s.Fields),
			Limits: ConnectorLimits{BatchRecords: s.Limits.BatchRecords, BatchBytes: s.Limits.BatchBytes, Requests: s.Limits.Requests,
				Per: s.Limits.Per, PerSeconds: s.Limits.Per.Seconds(), Concurrency: max(s.Limits.Concurrency, 1)}}
		for _, m := range s.Modes {
			c.Modes = append(c.Modes, string(m))
		}
		for _, f := range s.Config {
			c.Config = append(c.Config, ConnectorKey{Name: f.Name, Type: string(f.Type), Description: f.Description,
				Required: f.Required, Secret: f.Secret, Default: f.Default, Enum: f.Enum})
		}
		if s.Custom != nil {
			c.Custom, c.CustomPattern = s.Custom.Description, s.Custom.Pattern
		}
		out = append(out, c)
	}
	return out
}

func connectorFields(fs []destinations.Field) []ConnectorField {
	out := make([]ConnectorField, len(fs))
	for i, f := range fs {
		out[i] = ConnectorField{Name: f.Name, Type: string(f.Type), Description: f.Description}
	}
	return out
}
