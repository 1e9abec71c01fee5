package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/state"
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
				fmt.Fprintf(cmd.ErrOrStderr(), "waiting for %s to end\n", h.By)
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
