package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/destinations"
)

func destinationsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "destinations",
		Short: "The destination connectors: config keys, regions, modes, match keys, fields and limits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs := engine.DestinationSpecs()
			if g.json {
				out := make([]map[string]any, len(specs))
				for i := range specs {
					out[i] = specJSON(&specs[i])
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			for i := range specs {
				printSpec(cmd.OutOrStdout(), &specs[i])
			}
			return nil
		},
	}
}

func printSpec(w io.Writer, s *destinations.Spec) {
	fmt.Fprintf(w, "%s (%s): %s\n", s.Type, s.Title, s.Description)
	region := s.Region
	if len(s.Regions) > 0 {
		region += " (one of " + strings.Join(s.Regions, ", ") + ")"
	}
	modes := make([]string, len(s.Modes))
	for i, m := range s.Modes {
		modes[i] = string(m)
	}
	fmt.Fprintf(w, "  region %s; modes %s; removes people: %s; erases people: %s\n", region, strings.Join(modes, ", "), yesNo(s.CanDelete), yesNo(s.CanErase))
	var cfg []string
	for _, f := range s.Config {
		var notes []string
		if f.Required {
			notes = append(notes, "required")
		}
		if f.Secret {
			notes = append(notes, "secret")
		}
		if f.Default != nil {
			notes = append(notes, fmt.Sprintf("default %v", f.Default))
		}
		if len(f.Enum) > 0 {
			notes = append(notes, strings.Join(f.Enum, "|"))
		}
		if len(notes) > 0 {
			cfg = append(cfg, f.Name+" ("+strings.Join(notes, ", ")+")")
		} else {
			cfg = append(cfg, f.Name)
		}
	}
	fmt.Fprintf(w, "  config: %s\n", strings.Join(cfg, ", "))
	match := fieldList(s.Match)
	if len(s.MatchRequired) > 0 {
		match += " (always " + strings.Join(s.MatchRequired, ", ") + ")"
	}
	fmt.Fprintf(w, "  match: %s\n", match)
	if len(s.Fields) > 0 {
		fmt.Fprintf(w, "  fields: %s\n", fieldList(s.Fields))
	}
	if s.Custom != nil {
		fmt.Fprintf(w, "  custom fields: %s\n", s.Custom.Description)
	}
	l := s.Limits
	limits := fmt.Sprintf("%d records", l.BatchRecords)
	if l.BatchBytes > 0 {
		limits += fmt.Sprintf(" or %d KB", l.BatchBytes>>10)
	}
	limits += " per write"
	if l.Requests > 0 {
		limits += fmt.Sprintf(", %d writes per %s", l.Requests, strings.TrimSuffix(l.Per.String(), "m0s")+map[bool]string{true: "m"}[strings.HasSuffix(l.Per.String(), "m0s")])
	}
	fmt.Fprintf(w, "  limits: %s, %d at once\n\n", limits, max(l.Concurrency, 1))
}

func fieldList(fs []destinations.Field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
		if f.Type != destinations.String && f.Type != "" {
			names[i] += " (" + string(f.Type) + ")"
		}
	}
	return strings.Join(names, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// specJSON is a spec as data (Spec itself holds a function).
func specJSON(s *destinations.Spec) map[string]any {
	cfg := make([]map[string]any, len(s.Config))
	for i, f := range s.Config {
		cfg[i] = map[string]any{"name": f.Name, "type": f.Type, "description": f.Description, "required": f.Required,
			"secret": f.Secret, "default": f.Default, "enum": f.Enum}
	}
	fields := func(fs []destinations.Field) []map[string]any {
		out := make([]map[string]any, len(fs))
		for i, f := range fs {
			out[i] = map[string]any{"name": f.Name, "type": f.Type, "description": f.Description}
		}
		return out
	}
	out := map[string]any{"type": s.Type, "title": s.Title, "description": s.Description, "config": cfg,
		"region": s.Region, "regions": s.Regions, "modes": s.Modes, "can_delete": s.CanDelete, "can_erase": s.CanErase,
		"match": fields(s.Match), "match_required": s.MatchRequired, "fields": fields(s.Fields),
		"limits": map[string]any{"batch_records": s.Limits.BatchRecords, "batch_bytes": s.Limits.BatchBytes,
			"requests": s.Limits.Requests, "per_seconds": s.Limits.Per.Seconds(), "concurrency": max(s.Limits.Concurrency, 1)}}
	if s.Custom != nil {
		out["custom"] = map[string]any{"description": s.Custom.Description, "pattern": s.Custom.Pattern}
	}
	return out
}

func printDestinationChecks(w io.Writer, checks []engine.DestinationCheck) {
	for _, c := range checks {
		switch {
		case c.Err != nil:
			fmt.Fprintf(w, "destination %s (%s): FAILED\n", c.Name, c.Type)
		case c.Checked:
			fmt.Fprintf(w, "destination %s (%s): accepted by the vendor\n", c.Name, c.Type)
		default:
			fmt.Fprintf(w, "destination %s (%s): config valid (the connector has nothing to ask the vendor)\n", c.Name, c.Type)
		}
	}
}

func destinationChecksJSON(checks []engine.DestinationCheck) []map[string]any {
	out := make([]map[string]any, len(checks))
	for i, c := range checks {
		out[i] = map[string]any{"name": c.Name, "type": c.Type, "checked": c.Checked, "ok": c.Err == nil}
		if c.Err != nil {
			out[i]["error"] = c.Err.Error()
		}
	}
	return out
}
