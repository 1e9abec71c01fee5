package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/state"
)

// proc is the cohort command running in another process (this test binary).
type proc struct {
	cmd    *exec.Cmd
	stderr *bufio.Reader
	lines  []string
}

func startCohort(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--project", dir}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"COHORT_TEST_MAIN=1", "CI=true", "COHORT_NOW=2026-11-23T10:00:00Z"}, env...)...)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	cmd.Stdout = io.Discard
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return &proc{cmd: cmd, stderr: bufio.NewReader(errPipe)}
}

// waitFor reads standard error until a line containing s, and returns it.
func (p *proc) waitFor(t *testing.T, s string) string {
	t.Helper()
	for {
		line, err := p.stderr.ReadString('\n')
		p.lines = append(p.lines, line)
		if strings.Contains(line, s) {
			return line
		}
		if err != nil {
			t.Fatalf("no %q on stderr; got:\n%s", s, strings.Join(p.lines, ""))
		}
	}
}

// end waits for the process and returns its exit code and the rest of its stderr.
func (p *proc) end(t *testing.T) (int, string) {
	t.Helper()
	rest, _ := io.ReadAll(p.stderr)
	err := p.cmd.Wait()
	all := strings.Join(p.lines, "") + string(rest)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), all
	}
	require.NoError(t, err, all)
	return 0, all
}

func runsOf(t *testing.T, dir string) []state.Run {
	t.Helper()
	out, stderr, code := cohortIn(t, "--project", dir, "--json", "runs")
	require.Equal(t, 0, code, stderr)
	var runs []state.Run
	require.NoError(t, json.Unmarshal([]byte(out), &runs))
	return runs
}

// Two real processes running one project: the second is refused naming the
// first (or waits with --wait); a signal cancels a run cleanly (exit
// 130/143, recorded as cancelled, nothing left behind); a run killed with
// -9 is marked failed (abandoned) by the next one, which drops its leftovers
// and only those.
func TestRunsOfOneProjectNeverInterleave(t *testing.T) {
	for _, typ := range dialecttest.Types {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "shop")
			args := []string{"init", dir, "--demo", "--profiles", "150"}
			if typ == "postgres" {
				args = append(args, "--warehouse", "postgres", "--dsn", dialecttest.NewPostgresDB(t))
			}
			_, stderr, code := cohortIn(t, args...)
			require.Equal(t, 0, code, stderr)

			a := startCohort(t, dir, []string{"COHORT_TEST_PAUSE_AFTER=identity"}, "run")
			a.waitFor(t, "paused after identity")
			b := startCohort(t, dir, nil, "run")
			code, out := b.end(t)
			require.Equal(t, 1, code, out)
			require.Contains(t, out, fmt.Sprintf("project shop is busy: cohort run (pid %d on ", a.cmd.Process.Pid))
			require.Regexp(t, `busy: cohort run \(pid \d+ on .+, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T\)`, out, "since when, in the project's timezone")
			require.Contains(t, out, "--wait")

			c := startCohort(t, dir, nil, "run", "--wait")
			c.waitFor(t, fmt.Sprintf("waiting for cohort run (pid %d on ", a.cmd.Process.Pid))
			require.NoError(t, a.cmd.Process.Signal(syscall.SIGINT))
			code, out = a.end(t)
			require.Equal(t, 130, code, out)
			require.Contains(t, out, "cancelled (interrupted by SIGINT): the tables it built were dropped")
			code, out = c.end(t)
			require.Equal(t, 0, code, out)
			require.Contains(t, out, "segments   done in", "a line per finished step when not a terminal")

			runs := runsOf(t, dir)
			require.Len(t, runs, 2)
			require.Equal(t, state.Succeeded, runs[0].Status)
			require.Equal(t, state.Cancelled, runs[1].Status)
			require.Equal(t, "interrupted by SIGINT", runs[1].Error)

			// A run that ends well reports what it built before it lets the
			// waiting run in, which then finds the warehouse free.
			resume := filepath.Join(t.TempDir(), "resume")
			a = startCohort(t, dir, []string{"COHORT_TEST_PAUSE_AFTER=identity", "COHORT_TEST_RESUME_FILE=" + resume}, "run")
			a.waitFor(t, "paused after identity")
			c = startCohort(t, dir, nil, "run", "--wait")
			c.waitFor(t, fmt.Sprintf("waiting for cohort run (pid %d on ", a.cmd.Process.Pid))
			require.NoError(t, os.WriteFile(resume, nil, 0o644))
			code, out = a.end(t)
			require.Equal(t, 0, code, out)
			code, out = c.end(t)
			require.Equal(t, 0, code, out)
			runs = runsOf(t, dir)
			require.Len(t, runs, 4)
			require.Equal(t, []string{state.Succeeded, state.Succeeded}, []string{runs[0].Status, runs[1].Status})

			d := startCohort(t, dir, []string{"COHORT_TEST_PAUSE_AFTER=profiles"}, "run")
			d.waitFor(t, "paused after profiles")
			// A read command in another process during the run: PostgreSQL
			// serves the previous run's tables; the embedded file is locked,
			// and the message names the run's process.
			r := startCohort(t, dir, nil, "preview", "vip")
			code, out = r.end(t)
			if typ != "postgres" { // the others are the embedded file here
				require.Equal(t, 1, code, out)
				require.Contains(t, out, fmt.Sprintf("is in use by another process (PID %d)", d.cmd.Process.Pid))
				require.Contains(t, out, "`cohort run`")
				require.NotContains(t, out, "Conflicting lock")
			} else {
				require.Equal(t, 0, code, out)
			}
			require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
			code, out = d.end(t)
			require.Equal(t, 143, code, out)

			// kill -9 mid-run leaves its staged tables and a "running" record.
			e := startCohort(t, dir, []string{"COHORT_TEST_PAUSE_AFTER=profiles"}, "run")
			e.waitFor(t, "paused after profiles")
			require.NoError(t, e.cmd.Process.Kill())
			_, _ = e.end(t)
			runs = runsOf(t, dir)
			require.Equal(t, state.Running, runs[0].Status)
			killed := runs[0].ID

			p, err := (&globals{project: dir}).load()
			require.NoError(t, err)
			scratch := func() []string {
				wh, err := engine.OpenWarehouse(ctx, p)
				require.NoError(t, err)
				defer wh.Close()
				rows, err := wh.Query(ctx, dialects.Bind(wh.Dialect(), `SELECT table_name FROM information_schema.tables
WHERE table_schema = 'cohort' AND (table_name LIKE '%__stage_%' OR table_name LIKE '\_work\_%' ESCAPE '\') ORDER BY 1`))
				require.NoError(t, err)
				defer rows.Close()
				var names []string
				for rows.Next() {
					var n string
					require.NoError(t, rows.Scan(&n))
					names = append(names, n)
				}
				return names
			}
			left := scratch()
			require.NotEmpty(t, left)
			for _, n := range left {
				require.True(t, strings.HasSuffix(n, "_"+killed), n)
			}
			// A table of a run this project never recorded (another project's) stays.
			func() {
				wh, err := engine.OpenWarehouse(ctx, p)
				require.NoError(t, err)
				defer wh.Close()
				require.NoError(t, wh.Exec(ctx, `CREATE TABLE cohort."_work_other_0badc0de" (x integer)`))
			}()

			_, stderr, code = cohortIn(t, "--project", dir, "run")
			require.Equal(t, 0, code, stderr)
			runs = runsOf(t, dir)
			require.Equal(t, killed, runs[1].ID)
			require.Equal(t, state.Failed, runs[1].Status)
			require.True(t, strings.HasPrefix(runs[1].Error, state.Abandoned), runs[1].Error)
			require.Equal(t, []string{"_work_other_0badc0de"}, scratch())
			out, _, _ = cohortIn(t, "--project", dir, "runs")
			require.Contains(t, out, "failed (abandoned)")
			require.Contains(t, out, "cancelled")
		})
	}
}

// SIGINT while a statement runs in PostgreSQL: the statement is cancelled
// in the server (not left running after the process ends), the run exits
// 130 and is recorded as cancelled, no staged or work table is left, and
// the previous run's public tables are as they were.
func TestSignalCancelsTheRunningStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := dialecttest.NewPostgresDB(t)
	dir := filepath.Join(t.TempDir(), "shop")
	_, stderr, code := cohortIn(t, "init", dir, "--demo", "--profiles", "150", "--warehouse", "postgres", "--dsn", dsn)
	require.Equal(t, 0, code, stderr)
	_, stderr, code = cohortIn(t, "--project", dir, "run")
	require.Equal(t, 0, code, stderr)

	wh, err := dialects.Open(ctx, "postgres", dialects.Config{DSN: dsn})
	require.NoError(t, err)
	defer wh.Close()
	count := func(q string) int64 {
		var n int64
		require.NoError(t, plan.QueryRow(ctx, wh, q, nil, &n))
		return n
	}
	profiles := count("SELECT count(*) FROM cohort.profiles")
	require.Positive(t, profiles)

	// a trait that sleeps a second per profile (pg_sleep is volatile: it
	// runs for each row): the profiles statement runs for minutes unless it
	// is cancelled
	require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "slow.yaml"),
		[]byte("traits:\n  - {name: slow, sql: \"order_count + length(CAST(pg_sleep(1) AS text))\", type: integer}\n"), 0o644))
	// (pg_stat_activity keeps the first 1 kB of a statement: its start)
	sleeping := `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
AND pid <> pg_backend_pid() AND query LIKE 'CREATE TABLE "cohort"."profiles\_\_stage\_%'`
	a := startCohort(t, dir, nil, "run")
	a.waitFor(t, "identity   done in")
	for deadline := time.Now().Add(3 * time.Minute); count(sleeping) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the profiles statement never started")
		}
	}
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGINT))
	code, out := a.end(t)
	require.Equal(t, 130, code, out)
	require.Contains(t, out, "cancelled (interrupted by SIGINT)")
	require.Zero(t, count(sleeping), "the statement was cancelled in the server, not left running")

	runs := runsOf(t, dir)
	require.Equal(t, state.Cancelled, runs[0].Status)
	require.Equal(t, "interrupted by SIGINT", runs[0].Error)
	require.Zero(t, count(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'cohort'
AND (table_name LIKE '%\_\_stage\_%' OR table_name LIKE '\_work\_%')`), "no staged or work table left")
	require.Equal(t, profiles, count("SELECT count(*) FROM cohort.profiles"), "the previous profiles are intact")
	require.Zero(t, count("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'cohort' AND table_name = 'profiles' AND column_name = 'slow'"))
}
