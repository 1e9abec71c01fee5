// Command cohort is the single Cohort binary: it wires flags to one engine
// function per command and prints the result for people or, with --json, for
// programs. No SQL lives here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/models"
)

// Exit codes: 0 success, 1 failure of the work, 2 bad usage or an invalid project.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks an error as bad usage (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func main() {
	ctx := withSignals()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	code := exitCode(err)
	var sig signalled
	if errors.As(context.Cause(ctx), &sig) {
		code = sig.exitCode()
	}
	verbose, _ := root.PersistentFlags().GetBool("verbose")
	asJSON, _ := root.PersistentFlags().GetBool("json")
	reportError(os.Stderr, err, code, verbose, asJSON || wantsJSON(os.Args[1:]))
	os.Exit(code)
}

// reportError prints a failed command's error: for people, one message and,
// for a statement the warehouse refused, its SQL only with --verbose; with
// --json, one JSON object (also on standard error).
func reportError(w io.Writer, err error, code int, verbose, asJSON bool) {
	var se *engine.StatementError
	hasSQL := errors.As(err, &se)
	if asJSON {
		out := map[string]any{"error": err.Error(), "exit_code": code}
		var el models.ErrorList
		if errors.As(err, &el) {
			var list []map[string]any
			for _, e := range el {
				list = append(list, map[string]any{"file": e.Pos.File, "line": e.Pos.Line, "column": e.Pos.Col, "message": e.Msg})
			}
			out["errors"] = list
		}
		if hasSQL && verbose {
			out["statement"] = se.SQL
		}
		_ = printJSON(w, out)
		return
	}
	fmt.Fprintln(w, "cohort: "+err.Error())
	switch {
	case hasSQL && verbose:
		fmt.Fprintf(w, "the statement the warehouse refused:\n%s\n", se.SQL)
	case hasSQL:
		fmt.Fprintln(w, "(--verbose prints the SQL statement)")
	}
}

// wantsJSON reports --json among the arguments, for the errors cobra finds
// before it parses flags (an unknown command).
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}

// signalled is the cause of a command's context ended by SIGINT or SIGTERM.
type signalled struct{ sig syscall.Signal }

func (s signalled) Error() string { return "interrupted by " + signalName(s.sig) }

// exitCode is the shell's convention: 128 + the signal's number (130, 143).
func (s signalled) exitCode() int { return 128 + int(s.sig) }

func signalName(s syscall.Signal) string {
	if s == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGTERM"
}

// withSignals is a context that SIGINT or SIGTERM cancels, so that a run
// stops cleanly (drops what it built, records itself as cancelled); a
// second signal ends the process at once.
func withSignals() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := (<-ch).(syscall.Signal)
		if !wantsJSON(os.Args[1:]) { // standard error holds one JSON object then
			fmt.Fprintf(os.Stderr, "cohort: %s received: stopping and cleaning up (send it again to quit at once)\n", signalName(first))
		}
		cancel(signalled{first})
		second := (<-ch).(syscall.Signal)
		os.Exit(signalled{second}.exitCode())
	}()
	return ctx
}

func exitCode(err error) int {
	var unreachable *engine.UnreachableError
	if errors.As(err, &unreachable) { // a list of errors, but not of the project's
		return exitFailure
	}
	var ue usageError
	var el models.ErrorList
	var ce *engine.ConfigError
	if errors.As(err, &ue) || errors.As(err, &el) || isUnknown(err) || errors.As(err, &ce) || strings.HasPrefix(err.Error(), "unknown command ") {
		return exitUsage
	}
	return exitFailure
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "cohort",
		Short:         "Cohort: a warehouse-native customer data platform",
		Long:          "Cohort compiles a YAML project (sources, identity rules, traits, segments, syncs) into SQL\nthat runs inside your warehouse and writes unified profiles and segments there.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.project, "project", os.Getenv("COHORT_PROJECT"), "project folder (default: the current folder; env COHORT_PROJECT)")
	pf.BoolVar(&g.json, "json", false, "print JSON for programs instead of text for people (errors too, on standard error)")
	pf.BoolVar(&g.verbose, "verbose", false, "on a failed statement, print its SQL")
	pf.StringVar(&g.now, "now", os.Getenv("COHORT_NOW"), "the clock of the run, RFC 3339 (for reproducible runs; env COHORT_NOW)")
	_ = pf.MarkHidden("now")
	root.AddCommand(versionCmd(g))
	root.AddCommand(
		initCmd(g), validateCmd(g), compileCmd(g), runCmd(g), runsCmd(g),
		previewCmd(g), overlapCmd(g), liftCmd(g), profileCmd(g), explainCmd(g), forgetCmd(g), exportProfileCmd(g), benchCmd(g), serveCmd(g), scheduleCmd(g),
		syncCmd(g), syncsCmd(g), destinationsCmd(g), webhookReceiverCmd(), tokensCmd(g),
	)
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	return root
}

// wrapArgs turns argument-count errors into usage errors (exit 2), and
// makes a command that only groups others (bench, tokens) refuse an
// unknown subcommand as the root does, where cobra would print its help
// and succeed.
func wrapArgs(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if cmd.SuggestionsMinimumDistance <= 0 {
				cmd.SuggestionsMinimumDistance = 2 // as cobra sets it for the root
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return usagef("%s\nusage: %s", msg, strings.Join(subcommandUses(cmd), "\n       "))
		}
	}
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{fmt.Errorf("%s: %w\nusage: %s", cmd.Name(), err, cmd.UseLine())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

// subcommandUses are the usage lines of c's subcommands.
func subcommandUses(c *cobra.Command) []string {
	var out []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			out = append(out, sub.UseLine())
		}
	}
	return out
}
