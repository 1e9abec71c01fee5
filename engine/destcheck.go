package engine

import (
	"context"
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
	return keyProblems(spec.CheckMapping(mode, s.Match, fields, traitType))
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
}

// CheckDestinations opens every destination of the project and, where the
// connector can, asks the vendor whether the key is accepted and the list
// or audience exists, before any data moves (validate --check-destinations).
// Destinations are checked one after the other, each within timeout. The
// error lists the failures at their destinations' positions.
func (s *Service) CheckDestinations(ctx context.Context, timeout time.Duration) ([]DestinationCheck, error) {
	client := &http.Client{Timeout: timeout}
	var out []DestinationCheck
	var errs models.ErrorList
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
				c.Err = fmt.Errorf("destination %s: %w", d.Name, c.Err)
			}
		}
		if c.Err != nil {
			errs = append(errs, models.Error{Pos: d.Pos, Msg: c.Err.Error()})
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

// DestinationSpecs lists the connectors compiled in, by type.
func DestinationSpecs() []destinations.Spec { return destinations.Specs() }
