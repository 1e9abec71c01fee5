package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/models"
)

func readAll(r io.Reader) ([]byte, error) { return io.ReadAll(r) }

func initCmd(g *globals) *cobra.Command {
	var (
		withDemo bool
		force    bool
		profiles int
		seed     int64
		whType   string
		dsn      string
	)
	c := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a project; --demo adds a realistic demo webshop in the embedded warehouse",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			ctx := cmd.Context()
			dir := g.dir()
			if len(args) == 1 {
				dir = args[0]
			}
			if profiles < 1 {
				return usagef("--profiles must be at least 1")
			}
			if err := engine.CheckWarehouseChoice(whType, dsn); err != nil {
				return usageError{err}
			}
			now, err := g.clock()
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(dir, "cohort.yaml")); err == nil && !force {
				return usagef("%s already holds a cohort.yaml: choose another folder, or pass --force to overwrite its project files", dir)
			}
			// A failed init leaves the folder as it found it.
			undo, err := snapshotDir(dir)
			if err != nil {
				return err
			}
			defer func() {
				if err != nil {
					undo()
				}
			}()
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !withDemo {
				if err := models.WriteStarter(dir, projectName(dir), force); err != nil {
					return err
				}
				if err := engine.UseWarehouse(dir, whType, dsn); err != nil {
					return err
				}
				fmt.Fprintf(out, "created project %s: describe your sources in %s, then run `%s`\n", dir, filepath.Join(dir, "models", "project.yaml"), cdThen(dir, "validate"))
				return nil
			}
			if err := engine.WriteDemoProject(dir, force); err != nil {
				return usageError{err}
			}
			if err := engine.UseWarehouse(dir, whType, dsn); err != nil {
				return err
			}
			svc, err := openDemo(dir)
			if err != nil {
				return err
			}
			defer svc.Close()
			// Cohort never replaces tables it did not create.
			existing, err := svc.DemoTables(ctx)
			if err != nil {
				return err
			}
			if len(existing) > 0 && !force {
				return usagef("the warehouse already holds tables the demo writes: %s\nCohort does not overwrite tables it did not create: drop them, use another warehouse, or pass --force to replace them", strings.Join(existing, ", "))
			}
			defer func() {
				if err != nil && len(existing) == 0 {
					_ = svc.DropDemo(context.WithoutCancel(ctx))
				}
			}()
			o := engine.DemoOptions{Profiles: profiles, Seed: seed, Now: now}
			if g.interactive() {
				o.Progress = func(msg string) { fmt.Fprintf(os.Stderr, "  %s\n", msg) }
			}
			sum, err := svc.GenerateDemo(ctx, o)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(out, sum)
			}
			fmt.Fprintf(out, "created demo project %s with %s in %s:\n", dir, engine.Count(int64(profiles), "person"), sum.Elapsed.Round(time.Millisecond))
			for _, t := range sum.Tables {
				fmt.Fprintf(out, "  %-28s %12s %s\n", t.Table, engine.Thousands(t.Rows), engine.Noun(t.Rows, "row"))
			}
			fmt.Fprintf(out, "next: %s\n", cdThen(dir, "validate", "run"))
			return nil
		},
	}
	c.Flags().BoolVar(&withDemo, "demo", false, "add demo sources and data (webshop, events, newsletter, support, lead ads, CMS) in schemas cohort_demo and demo_truth")
	c.Flags().BoolVar(&force, "force", false, "overwrite existing project files and demo tables")
	c.Flags().IntVar(&profiles, "profiles", 1000, "people in the demo data")
	c.Flags().Int64Var(&seed, "seed", 1, "seed of the demo data: the same seed gives the same data")
	c.Flags().StringVar(&whType, "warehouse", "duckdb", "duckdb (embedded file) | postgres")
	c.Flags().StringVar(&dsn, "dsn", "", "postgres: the connection URL written to cohort.yaml (e.g. '${COHORT_WAREHOUSE_DSN}')")
	return c
}

// snapshotDir records which files and folders exist under dir, and returns
// a function that removes every one created since (dir itself included).
func snapshotDir(dir string) (undo func(), err error) {
	before := map[string]bool{}
	walk := func(f func(path string)) error {
		return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			f(path)
			return nil
		})
	}
	if err := walk(func(p string) { before[p] = true }); err != nil {
		return nil, err
	}
	return func() {
		var created []string
		_ = walk(func(p string) {
			if !before[p] {
				created = append(created, p)
			}
		})
		for i := len(created) - 1; i >= 0; i-- { // children before their folder
			_ = os.RemoveAll(created[i])
		}
	}, nil
}

// cdThen is the hint to go into the project dir and run cohort commands
// there: "cd shop && ../bin/cohort validate && ../bin/cohort run".
func cdThen(dir string, commands ...string) string {
	bin := binaryFrom(dir)
	var parts []string
	if filepath.Clean(dir) != "." {
		parts = append(parts, "cd "+dir)
	}
	for _, c := range commands {
		parts = append(parts, bin+" "+c)
	}
	return strings.Join(parts, " && ")
}

// binaryFrom is the command as the user invoked it, as typed from the
// folder dir, for `next:` hints ("../bin/cohort" after `cd shop`).
func binaryFrom(dir string) string {
	name := "cohort"
	if len(os.Args) > 0 && os.Args[0] != "" {
		name = os.Args[0]
	}
	if !strings.ContainsRune(name, filepath.Separator) || filepath.IsAbs(name) {
		return name // found on PATH, or absolute
	}
	abs, err1 := filepath.Abs(name)
	absDir, err2 := filepath.Abs(dir)
	rel, err3 := filepath.Rel(absDir, abs)
	if err1 != nil || err2 != nil || err3 != nil {
		return abs
	}
	if !strings.ContainsRune(rel, filepath.Separator) {
		rel = "." + string(filepath.Separator) + rel
	}
	return rel
}

// openDemo is the engine over the demo project just written to dir.
func openDemo(dir string) (*engine.Service, error) {
	p, err := models.LoadAndValidate(dir)
	if err != nil {
		return nil, err
	}
	return engine.NewService(p, engine.ServiceOptions{}), nil
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// projectName derives a project name from its folder.
func projectName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	n := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "_"), "_")
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		n = "project_" + n
	}
	return n
}

func benchCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Benchmarks: identity against union-find, segments on demo data"}
	var (
		edges, threads int
		increment      int
		seed           int64
		memLimit, typ  string
		dsn, schema    string
		noCheck, timed bool
		rules          bool
	)
	id := &cobra.Command{
		Use:   "identity",
		Short: "Generate a graph in the warehouse, resolve it, check it against an in-memory union-find",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if g.json {
				out = io.Discard
			}
			rep, err := engine.BenchIdentity(ctx, typ, dsn, engine.IdentityBenchOptions{Edges: edges, Seed: seed, MemoryLimit: memLimit, Threads: threads,
				Check: !noCheck, Increment: increment, Timestamped: timed, Schema: schema, Rules: rules, Trace: os.Getenv("COHORT_BENCH_TRACE")}, out)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), rep)
			}
			if rep.Checked && (!rep.Correct || rep.Increment != nil && !rep.Increment.Correct) {
				return fmt.Errorf("the partition differs from union-find")
			}
			return nil
		},
	}
	id.Flags().IntVar(&edges, "edges", 1_000_000, "links in the generated graph")
	id.Flags().Int64Var(&seed, "seed", 1, "seed of the generated graph")
	id.Flags().StringVar(&memLimit, "memory-limit", "", "DuckDB memory limit, e.g. 2GB (larger graphs spill to disk)")
	id.Flags().IntVar(&threads, "threads", 0, "DuckDB threads (0: all cores)")
	id.Flags().StringVar(&typ, "warehouse", "duckdb", "duckdb (a temporary file) | postgres (needs --dsn)")
	id.Flags().StringVar(&dsn, "dsn", "", "postgres: the database to run in (tables go to --schema)")
	id.Flags().StringVar(&schema, "schema", "cohort_bench", "the schema of the generated table and the run's tables; another name lets two benchmarks share a database")
	id.Flags().BoolVar(&noCheck, "no-check", false, "skip the union-find comparison")
	id.Flags().IntVar(&increment, "increment", 0, "then append this many links and resolve them with an incremental run")
	id.Flags().BoolVar(&timed, "timestamped", false, "give the source a timestamp column (as --increment does), so first and last seen are carried")
	id.Flags().BoolVar(&rules, "rules", false, "add max_links and limit rules that no identifier reaches: the runs keep and read the state those rules need")

	var (
		profiles int
		keep     string
	)
	seg := &cobra.Command{
		Use:   "segments",
		Short: "Generate demo data, then time the profiles and segments steps and a segment preview",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			svc, done, err := g.benchDemo(keep, "cohort-bench-")
			if err != nil {
				return err
			}
			defer done()
			now := svc.Clock()
			out := cmd.OutOrStdout()
			if g.json {
				out = io.Discard
			}
			sum, err := svc.GenerateDemo(ctx, engine.DemoOptions{Profiles: profiles, Seed: 1, Now: now})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "demo data: %s, %s (%s), generated in %s\n", engine.Count(int64(profiles), "person"),
				engine.Count(sum.RawRows(), "raw row"), engine.Count(sum.Events(), "event"), sum.Elapsed.Round(time.Millisecond))
			rep, err := svc.BenchSegments(ctx, out)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"generate_seconds": sum.Elapsed.Seconds(), "bench": rep})
			}
			fmt.Fprint(out, rep.String())
			return nil
		},
	}
	seg.Flags().IntVar(&profiles, "profiles", 100_000, "people in the generated demo data")
	seg.Flags().StringVar(&keep, "keep", "", "build the demo project in this folder and keep it (default: a temporary folder)")
	c.AddCommand(id, seg, benchSyncCmd(g), benchAPICmd(g))
	return c
}

// benchDemo writes the demo project into keep, or into a temporary folder
// that done removes, and opens it on the run's clock; done closes it too.
func (g *globals) benchDemo(keep, prefix string) (svc *engine.Service, done func(), err error) {
	dir, cleanup := keep, func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", prefix)
		if err != nil {
			return nil, nil, err
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	now, err := g.clock()
	if err == nil {
		err = engine.WriteDemoProject(dir, true)
	}
	if err == nil {
		svc, err = openDemo(dir)
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	svc.Clock = func() time.Time { return now }
	return svc, func() { svc.Close(); cleanup() }, nil
}
