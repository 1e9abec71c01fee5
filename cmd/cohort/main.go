// Command cohort is the single Cohort binary: it wires flags to one engine
// function per command and prints the result for people or, with --json, for
// programs. No SQL lives here.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

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
	root := newRoot()
	err := root.Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "cohort: "+err.Error())
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	var ue usageError
	var el models.ErrorList
	if errors.As(err, &ue) || errors.As(err, &el) || isUnknown(err) {
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
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.project, "project", os.Getenv("COHORT_PROJECT"), "project folder (default: the current folder; env COHORT_PROJECT)")
	pf.BoolVar(&g.json, "json", false, "print JSON for programs instead of text for people")
	pf.StringVar(&g.now, "now", os.Getenv("COHORT_NOW"), "the clock of the run, RFC 3339 (for reproducible runs; env COHORT_NOW)")
	_ = pf.MarkHidden("now")
	root.AddCommand(
		initCmd(g), validateCmd(g), compileCmd(g), runCmd(g), runsCmd(g),
		previewCmd(g), overlapCmd(g), profileCmd(g), explainCmd(g), benchCmd(g),
	)
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	return root
}

// wrapArgs turns argument-count errors into usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
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
