package main

import (
	"context"
	"fmt"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
)

// tokensCmd manages the API tokens of `cohort serve`.
func tokensCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke the API tokens of cohort serve (people log in with one too)",
	}
	var name, role string
	create := &cobra.Command{
		Use:   "create --role admin|editor|marketer|support --name NAME",
		Short: "Create a token and print it once: only its SHA-256 is kept",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !engine.ValidRole(role) {
				return usagef("--role must be one of %s", strings.Join(engine.Roles, ", "))
			}
			if strings.TrimSpace(name) == "" {
				return usagef("--name is required: who or what uses the token")
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			secret, tok, err := svc.CreateToken(cmd.Context(), name, role)
			if err != nil {
				return err
			}
			audit(cmd.Context(), svc, "token.create", tok.Name, "role "+tok.Role)
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"token": secret, "name": tok.Name, "role": tok.Role, "id": tok.ID})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s (%s, role %s): copy it now, it is not shown again\n", tok.Name, tok.ID, tok.Role)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "who or what uses the token (unique)")
	create.Flags().StringVar(&role, "role", "", "admin (everything), editor (segments and syncs), marketer (segments, run syncs; personal data masked), support (profile look-up)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (names, roles, dates; never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			toks, err := svc.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				if toks == nil {
					toks = []engine.Token{}
				}
				return printJSON(cmd.OutOrStdout(), toks)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tID\tROLE\tCREATED\tREVOKED")
			for _, t := range toks {
				revoked := "-"
				if t.RevokedAt != nil {
					revoked = engine.ShowTime(*t.RevokedAt, svc.Project.Location())
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, t.Role, engine.ShowTime(t.CreatedAt, svc.Project.Location()), revoked)
			}
			return w.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke NAME|ID",
		Short: "Revoke a token: requests and sessions with it are refused at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			if err := svc.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			audit(cmd.Context(), svc, "token.revoke", args[0], "")
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s revoked\n", args[0])
			return nil
		},
	}
	c.AddCommand(create, list, revoke)
	return c
}

// audit records a change made from the command line, by the system
// user running it (cli:jan): the command line holds the warehouse's
// credentials, so its role is admin.
func audit(ctx context.Context, svc *engine.Service, action, target, detail string) {
	actor := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		actor += ":" + u.Username
	}
	_ = svc.Audit(ctx, engine.AuditEntry{Actor: actor, Role: "admin", Action: action, Target: target, Detail: detail})
}
