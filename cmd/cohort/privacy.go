package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

func forgetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "forget TYPE:VALUE",
		Short: "Erasure: suppress a person, remove them from the output tables and destinations, report which sources still hold them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := engine.ParseIdent(args[0])
			if err != nil {
				return usageError{err}
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			rep, err := svc.Forget(cmd.Context(), id, engine.ForgetOptions{Waiting: func(h *state.HeldError) {
				fmt.Fprintf(cmd.ErrOrStderr(), "waiting for %s to end\n", engine.Holder(h.By, svc.Project.Location()))
			}})
			if rep != nil {
				// the audit names the person masked, and the request by its hash
				audit(cmd.Context(), svc, "profile.forget", rep.Identifier, "request "+rep.RequestID)
				if perr := g.emit(cmd.OutOrStdout(), rep); perr != nil {
					return perr
				}
			}
			return err
		},
	}
}

func exportProfileCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export-profile TYPE:VALUE [--output FILE]",
		Short: "Subject access request: everything Cohort holds about a person, as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := engine.ParseIdent(args[0])
			if err != nil {
				return usageError{err}
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			exp, err := svc.ExportProfile(cmd.Context(), id)
			// asking is a view of personal data, found or not
			audit(cmd.Context(), svc, "profile.export", id.Type+":"+models.Mask(id.Value), exportDetail(exp))
			if err != nil {
				return err
			}
			if output == "" {
				return printJSON(cmd.OutOrStdout(), exp)
			}
			// only its owner may read the file: it names the person in clear
			f, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			if err := errors.Join(printJSON(f, exp), f.Close()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d identifiers, %d deliveries)\n", output, len(exp.Identifiers), len(exp.Deliveries))
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the JSON to FILE (mode 0600) instead of standard output")
	return cmd
}

// exportDetail names an export in the audit log by its profile only.
func exportDetail(e *engine.ProfileExport) string {
	switch {
	case e == nil:
		return "not found"
	case e.Suppressed:
		return "forgotten"
	}
	return "profile " + e.ProfileID
}

// showPIIFlag adds --show-pii to a command printing people's data.
func showPIIFlag(c *cobra.Command, v *bool) {
	c.Flags().BoolVar(v, "show-pii", false, "show personal data in clear (pii: true columns and the traits built from them, e-mail and phone identifiers, match keys); recorded in the audit log")
}

// redact masks the personal data in v (engine.Service.Redact), unless --show-pii:
// whoever runs the command line holds the warehouse's credentials (see
// README, Privacy and GDPR), so showing is their choice, and it is audited.
func redact(cmd *cobra.Command, svc *engine.Service, showPII bool, what string, v any) {
	if showPII {
		audit(cmd.Context(), svc, "pii.show", what, "cohort "+cmd.Name()+" --show-pii")
		return
	}
	svc.Redact(v)
}
