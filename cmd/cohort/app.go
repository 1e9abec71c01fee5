package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	_ "github.com/cohort-cdp/cohort/dialects/duckdb"   // registers duckdb
	_ "github.com/cohort-cdp/cohort/dialects/postgres" // registers postgres
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// globals are the flags every command shares.
type globals struct {
	project string
	json    bool
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

// openWarehouse connects to the project's warehouse.
func openWarehouse(ctx context.Context, p *models.Project) (dialects.Warehouse, error) {
	w := p.Warehouse
	return dialects.Open(ctx, w.Type, dialects.Config{
		Dir: p.Dir, Path: w.Path, DSN: w.DSN, Project: w.Project, Location: w.Location,
		MemoryLimit: w.MemoryLimit, Threads: w.Threads,
	})
}

// session is a loaded project with its open warehouse.
type session struct {
	p  *models.Project
	wh dialects.Warehouse
}

func (g *globals) open(ctx context.Context) (*session, error) {
	p, err := g.load()
	if err != nil {
		return nil, err
	}
	wh, err := openWarehouse(ctx, p)
	if err != nil {
		return nil, err
	}
	return &session{p: p, wh: wh}, nil
}

func (s *session) Close() { s.wh.Close() }

// openRead opens the project for commands that read the final output tables
// (preview, overlap, profile, explain) and gives their plan context.
func (g *globals) openRead(ctx context.Context) (*session, *plan.Context, error) {
	s, err := g.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	pctx, err := s.context(g)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, pctx, nil
}

// context is a plan context reading the final tables (previews, lookups).
func (s *session) context(g *globals) (*plan.Context, error) {
	now, err := g.clock()
	if err != nil {
		return nil, err
	}
	pl, err := engine.Compile(s.p, s.wh.Dialect(), nil, engine.Options{Now: now})
	if err != nil {
		return nil, err
	}
	return pl.Ctx, nil
}

func openStore(ctx context.Context, p *models.Project) (*state.Store, error) {
	return state.Open(ctx, p.Dir, p.State)
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
