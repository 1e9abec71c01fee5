package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/cohort-cdp/cohort/dialects/bigquery"  // registers bigquery
	_ "github.com/cohort-cdp/cohort/dialects/duckdb"    // registers duckdb
	_ "github.com/cohort-cdp/cohort/dialects/postgres"  // registers postgres
	_ "github.com/cohort-cdp/cohort/dialects/snowflake" // registers snowflake
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/models"
)

// globals are the flags every command shares.
type globals struct {
	project string
	json    bool
	verbose bool
	now     string
}

func (g *globals) dir() string {
	if g.project != "" {
		return g.project
	}
	return "."
}

// clock is the run's time: --now when given, else the wall clock.
func (g *globals) clock() (time.Time, error) {
	if g.now == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, g.now)
	if err != nil {
		return time.Time{}, usagef("--now %q: want RFC 3339 such as 2026-11-23T10:00:00Z", g.now)
	}
	return t, nil
}

// load reads and validates the project (an invalid project is exit code 2).
func (g *globals) load() (*models.Project, error) {
	dir := g.dir()
	if _, err := os.Stat(filepath.Join(dir, "cohort.yaml")); err != nil {
		abs, _ := filepath.Abs(dir)
		return nil, usagef("no cohort.yaml in %s: run `cohort init` to create a project, or pass --project DIR", abs)
	}
	p, err := models.LoadAndValidate(dir)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// service is the engine over the loaded project, its clock set by --now
// and its trace by COHORT_TRACE. The caller closes it.
func (g *globals) service() (*engine.Service, error) {
	p, err := g.load()
	if err != nil {
		return nil, err
	}
	now, err := g.clock()
	if err != nil {
		return nil, err
	}
	svc := engine.NewService(p, engine.ServiceOptions{Trace: engine.Trace{Mode: os.Getenv("COHORT_TRACE"), Out: os.Stderr}})
	if g.now != "" {
		svc.Clock = func() time.Time { return now }
	}
	return svc, nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// emit prints v as JSON with --json, else its String() for people.
func (g *globals) emit(w io.Writer, v fmt.Stringer) error {
	if g.json {
		return printJSON(w, v)
	}
	_, err := fmt.Fprint(w, strings.TrimRight(v.String(), "\n")+"\n")
	return err
}

// interactive reports whether progress should be shown: a terminal, not --json, not CI.
func (g *globals) interactive() bool {
	if g.json || os.Getenv("CI") != "" {
		return false
	}
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// firstLine is the first line of a recorded error, for one-line listings.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
