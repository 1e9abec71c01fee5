package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/state"
)

func validateCmd(g *globals) *cobra.Command {
	var offline, checkDest, strict bool
	c := &cobra.Command{
		Use:   "validate",
		Short: "Check the project and the warehouse (tables and columns exist); every error as file:line:col",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			p := svc.Project
			var warnings []string
			if !offline {
				if err := svc.Validate(cmd.Context()); err != nil {
					return err
				}
				warnings = svc.Warnings(cmd.Context())
				if strict {
					keys, err := svc.KeyWarnings(cmd.Context())
					if err != nil {
						return err
					}
					warnings = append(warnings, keys...)
				}
			}
			// where each sync sends, and how many people may go there (counted in the warehouse)
			reach, err := svc.Reach(cmd.Context(), !offline)
			if err != nil {
				return err
			}
			var checks []engine.DestinationCheck
			var checkErr error
			if checkDest {
				checks, checkErr = svc.CheckDestinations(cmd.Context(), 30*time.Second)
			}
			if strict && len(warnings) > 0 && checkErr == nil {
				checkErr = fmt.Errorf("--strict: %s (above)", engine.Count(int64(len(warnings)), "warning"))
			}
			if g.json {
				out := map[string]any{"valid": checkErr == nil, "sources": len(p.Sources), "traits": len(p.Traits), "segments": len(p.Segments),
					"syncs": reach}
				if checkDest {
					out["destinations"] = destinationChecksJSON(checks)
				}
				if len(warnings) > 0 {
					out["warnings"] = warnings
				}
				if err := printJSON(cmd.OutOrStdout(), out); err != nil {
					return err
				}
				return checkErr
			}
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+w)
			}
			printDestinationChecks(cmd.OutOrStdout(), checks)
			if checkErr != nil {
				return checkErr
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is valid: %s, %s, %s, %s, %s\n", p.Name,
				engine.Count(int64(len(p.Sources)), "source"), engine.Count(int64(len(p.Identity.Identifiers)), "identifier type"),
				engine.Count(int64(len(p.Traits)), "trait"), engine.Count(int64(len(p.Segments)), "segment"), engine.Count(int64(len(p.Syncs)), "sync"))
			for _, r := range reach {
				fmt.Fprintln(cmd.OutOrStdout(), "  "+r.String())
			}
			return nil
		},
	}
	c.Flags().BoolVar(&offline, "offline", false, "check the YAML only, without connecting to the warehouse")
	c.Flags().BoolVar(&strict, "strict", false, "also read each source's primary_key for repeated or missing keys, and fail (exit 1) on any warning")
	c.Flags().BoolVar(&checkDest, "check-destinations", false, "also ask each destination's vendor whether the key is accepted and the list or audience exists")
	return c
}

func compileCmd(g *globals) *cobra.Command {
	var dialect, only string
	c := &cobra.Command{
		Use:   "compile",
		Short: "Print the SQL of a run for any dialect, without a warehouse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOnly(only); err != nil {
				return err
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			pl, err := svc.Compile(cmd.Context(), engine.CompileOptions{Dialect: dialect, Only: only})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), pl.Compiled())
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), pl.SQL())
			return err
		},
	}
	c.Flags().StringVar(&dialect, "dialect", "", strings.Join(engine.Dialects(), " | ")+" (default: the project's warehouse type)")
	c.Flags().StringVar(&only, "only", "", "identity | profiles | segments")
	return c
}

func runCmd(g *globals) *cobra.Command {
	var only string
	var fullRefresh, wait bool
	c := &cobra.Command{
		Use:   "run",
		Short: "Build the output tables in the warehouse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := checkOnly(only); err != nil {
				return err
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			o := engine.RunOptions{Only: only, FullRefresh: fullRefresh, Progress: g.progress(ctx, svc.Project.Location()), Report: true}
			if wait {
				o.Waiting = func(held *state.HeldError) {
					fmt.Fprintf(os.Stderr, "waiting for %s to finish with project %s ...\n", engine.Holder(held.By, svc.Project.Location()), svc.Project.Name)
				}
			}
			res, err := svc.Run(ctx, o)
			if err != nil {
				return err
			}
			sum, acc := res.Report.Summary, res.Report.Accuracy
			out := cmd.OutOrStdout()
			if g.json {
				return printJSON(out, map[string]any{"run": res, "summary": sum, "accuracy": acc})
			}
			for _, st := range res.Steps {
				fmt.Fprintf(out, "%-10s %7.2fs", st.Name, st.Seconds)
				for _, d := range st.Details {
					fmt.Fprintf(out, "  %s", d)
				}
				fmt.Fprintln(out)
			}
			fmt.Fprint(out, sum.String())
			if acc != nil {
				fmt.Fprintln(out, acc)
			}
			fmt.Fprintf(out, "run %s finished in %s\n", res.RunID, res.Elapsed.Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().StringVar(&only, "only", "", "identity | profiles | segments: rebuild one part, read the others as they are")
	c.Flags().BoolVar(&fullRefresh, "full-refresh", false, "rebuild identity from scratch instead of incrementally")
	c.Flags().BoolVar(&wait, "wait", false, "when another run (or sync) of the project is going on, wait for it to end instead of failing")
	return c
}

// progress reports a run's steps on standard error: every event on a
// terminal, one line per finished step with its time otherwise (CI logs),
// nothing with --json. COHORT_TEST_PAUSE_AFTER=STEP holds the run after
// that step until it is cancelled (tests send signals then), or until the
// file COHORT_TEST_RESUME_FILE names exists.
func (g *globals) progress(ctx context.Context, loc *time.Location) func(engine.Event) {
	pause, resume := os.Getenv("COHORT_TEST_PAUSE_AFTER"), os.Getenv("COHORT_TEST_RESUME_FILE")
	interactive := g.interactive()
	return func(e engine.Event) {
		switch {
		case g.json:
		case interactive:
			msg := e.Message
			if e.Done {
				msg = fmt.Sprintf("done in %s", e.Elapsed.Round(time.Millisecond))
			}
			fmt.Fprintf(os.Stderr, "  %-10s %s\n", e.Step, msg)
		case e.Done:
			fmt.Fprintf(os.Stderr, "%s  %-10s done in %s\n", engine.ShowTime(time.Now(), loc), e.Step, e.Elapsed.Round(time.Millisecond))
		}
		if e.Done && pause != "" && e.Step == pause {
			fmt.Fprintf(os.Stderr, "paused after %s\n", e.Step)
			for ctx.Err() == nil {
				if _, err := os.Stat(resume); resume != "" && err == nil {
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
}

func runsCmd(g *globals) *cobra.Command {
	var limit int
	return withLimit(&cobra.Command{
		Use:   "runs",
		Short: "Show the history of runs from the state store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			runs, err := svc.Runs(ctx, limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.json {
				if runs == nil {
					runs = []state.Run{}
				}
				return printJSON(out, runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(out, "project %s has not run yet: `cohort run` builds its tables\n", svc.Project.Name)
			}
			for _, r := range runs {
				took := ""
				if r.FinishedAt != nil {
					took = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
				}
				status := r.Status
				if status == state.Failed && strings.HasPrefix(r.Error, state.Abandoned) {
					status += " (abandoned)"
				}
				fmt.Fprintf(out, "%s  %s  %-9s %8s", r.ID, engine.ShowTime(r.StartedAt, svc.Project.Location()), status, took)
				var steps []string
				for _, st := range r.Steps {
					steps = append(steps, fmt.Sprintf("%s %.2fs", st.Name, st.Seconds))
				}
				fmt.Fprintf(out, "  %s", strings.Join(steps, ", "))
				switch {
				case r.Error != "" && r.FailedStep != "":
					fmt.Fprintf(out, "\n    %s at %s: %s", r.Status, r.FailedStep, firstLine(r.Error))
				case r.Error != "":
					fmt.Fprintf(out, "\n    %s", firstLine(r.Error))
				}
				fmt.Fprintln(out)
			}
			return nil
		},
	}, &limit)
}

// checkOnly rejects an unknown --only part as bad usage.
func checkOnly(only string) error {
	if only == "" {
		return nil
	}
	var names []string
	for _, p := range engine.DefaultParts {
		if p.Name == only {
			return nil
		}
		names = append(names, p.Name)
	}
	return usagef("--only %q: unknown part (one of %s)", only, strings.Join(names, ", "))
}
