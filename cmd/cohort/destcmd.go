package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
)

func destinationsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "destinations",
		Short: "The destination connectors: config keys, regions, modes, match keys, fields and limits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs := engine.Connectors()
			if g.json {
				return printJSON(cmd.OutOrStdout(), cs)
			}
			for i := range cs {
				printConnector(cmd.OutOrStdout(), &cs[i])
			}
			return nil
		},
	}
}

func printConnector(w io.Writer, c *engine.Connector) {
	fmt.Fprintf(w, "%s (%s): %s\n", c.Type, c.Title, c.Description)
	region := c.Region
	if len(c.Regions) > 0 {
		region += " (one of " + strings.Join(c.Regions, ", ") + ")"
	}
	fmt.Fprintf(w, "  region %s; modes %s; removes people: %s; erases people: %s\n", region, strings.Join(c.Modes, ", "), yesNo(c.CanDelete), yesNo(c.CanErase))
	var cfg []string
	for _, k := range c.Config {
		var notes []string
		if k.Required {
			notes = append(notes, "required")
		}
		if k.Secret {
			notes = append(notes, "secret")
		}
		if k.Default != nil {
			notes = append(notes, fmt.Sprintf("default %v", k.Default))
		}
		if len(k.Enum) > 0 {
			notes = append(notes, strings.Join(k.Enum, "|"))
		}
		if len(notes) > 0 {
			cfg = append(cfg, k.Name+" ("+strings.Join(notes, ", ")+")")
		} else {
			cfg = append(cfg, k.Name)
		}
	}
	fmt.Fprintf(w, "  config: %s\n", strings.Join(cfg, ", "))
	match := fieldList(c.Match)
	if len(c.MatchRequired) > 0 {
		match += " (always " + strings.Join(c.MatchRequired, ", ") + ")"
	}
	fmt.Fprintf(w, "  match: %s\n", match)
	if len(c.Fields) > 0 {
		fmt.Fprintf(w, "  fields: %s\n", fieldList(c.Fields))
	}
	if c.Custom != "" {
		fmt.Fprintf(w, "  custom fields: %s\n", c.Custom)
	}
	l := c.Limits
	limits := engine.Count(int64(l.BatchRecords), "record")
	if l.BatchBytes > 0 {
		limits += fmt.Sprintf(" or %d KB", l.BatchBytes>>10)
	}
	limits += " per write"
	if l.Requests > 0 {
		limits += fmt.Sprintf(", %d writes per %s", l.Requests, interval(l.Per))
	}
	fmt.Fprintf(w, "  limits: %s, %d at once\n\n", limits, l.Concurrency)
}

// interval is a duration as people write it: 10s, 1m, 1h.
func interval(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func fieldList(fs []engine.ConnectorField) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
		if f.Type != "string" && f.Type != "" {
			names[i] += " (" + f.Type + ")"
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

func printDestinationChecks(w io.Writer, checks []engine.DestinationCheck) {
	for _, c := range checks {
		switch {
		case c.Unreachable:
			fmt.Fprintf(w, "destination %s (%s): NOT CHECKED: the vendor did not answer\n", c.Name, c.Type)
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
			out[i]["unreachable"] = c.Unreachable
		}
	}
	return out
}
