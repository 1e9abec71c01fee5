package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/plan"
)

// cohortIn runs the command line in this process and returns its output and
// exit code (0 on success).
func cohortIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"--now", "2026-11-23T10:00:00Z"}, args...))
	if err := root.Execute(); err != nil {
		errb.WriteString(err.Error())
		return out.String(), errb.String(), exitCode(err)
	}
	return out.String(), errb.String(), 0
}

// A demo init never replaces a table it did not create: it refuses with
// exit 2, names the tables, leaves the user's rows and no project behind;
// --force replaces them. The demo's data goes into its own schema, so a
// user's raw.orders is not even looked at.
func TestInitNeverOverwritesTables(t *testing.T) {
	ctx := context.Background()
	dsn := dialecttest.NewPostgresDB(t)
	wh, err := dialects.Open(ctx, "postgres", dialects.Config{DSN: dsn})
	require.NoError(t, err)
	defer wh.Close()
	for _, q := range []string{
		"CREATE SCHEMA raw", "CREATE TABLE raw.orders (id integer)", "INSERT INTO raw.orders VALUES (1)",
		"CREATE SCHEMA cohort_demo", "CREATE TABLE cohort_demo.orders (id integer)", "INSERT INTO cohort_demo.orders VALUES (7)",
	} {
		require.NoError(t, wh.Exec(ctx, q))
	}
	dir := filepath.Join(t.TempDir(), "shop")
	_, stderr, code := cohortIn(t, "init", dir, "--demo", "--profiles", "50", "--warehouse", "postgres", "--dsn", dsn)
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "cohort_demo.orders")
	require.Contains(t, stderr, "--force")
	require.NoDirExists(t, dir, "a refused init leaves no project")
	count := func(table string) int64 {
		n, err := plan.CountRows(ctx, wh, table)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, int64(1), count("cohort_demo.orders"), "the user's row is still there")

	require.NoError(t, wh.Exec(ctx, "DROP TABLE cohort_demo.orders"))
	out, stderr, code := cohortIn(t, "init", dir, "--demo", "--profiles", "50", "--warehouse", "postgres", "--dsn", dsn)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "cohort_demo.orders")
	require.Equal(t, int64(1), count("raw.orders"), "the user's raw.orders is not the demo's")

	// A second demo into the same warehouse: its tables exist now.
	dir2 := filepath.Join(t.TempDir(), "shop2")
	_, stderr, code = cohortIn(t, "init", dir2, "--demo", "--profiles", "50", "--warehouse", "postgres", "--dsn", dsn)
	require.Equal(t, 2, code, stderr)
	require.NoDirExists(t, dir2)
	_, stderr, code = cohortIn(t, "init", dir2, "--demo", "--profiles", "60", "--warehouse", "postgres", "--dsn", dsn, "--force")
	require.Equal(t, 0, code, stderr)
}

// A failed init leaves the folder as it was: no project files, no warehouse.
func TestFailedInitLeavesNothing(t *testing.T) {
	bad := "postgres://postgres@127.0.0.1:5432/cohort_no_such_database?sslmode=disable"
	dir := filepath.Join(t.TempDir(), "shop")
	_, stderr, code := cohortIn(t, "init", dir, "--demo", "--warehouse", "postgres", "--dsn", bad)
	require.Equal(t, 1, code, stderr)
	require.NoDirExists(t, dir)

	// In a folder that held the user's files, only those remain.
	dir = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "models"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "notes.txt"), []byte("mine"), 0o644))
	_, stderr, code = cohortIn(t, "init", dir, "--demo", "--warehouse", "postgres", "--dsn", bad)
	require.Equal(t, 1, code, stderr)
	var left []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		left = append(left, p)
		return err
	}))
	require.Equal(t, []string{dir, filepath.Join(dir, "models"), filepath.Join(dir, "models", "notes.txt")}, left)

	// Into an existing project: bad usage, and --force is named.
	dir = filepath.Join(t.TempDir(), "p")
	_, stderr, code = cohortIn(t, "init", dir)
	require.Equal(t, 0, code, stderr)
	_, stderr, code = cohortIn(t, "init", dir)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--force")
	_, stderr, code = cohortIn(t, "init", dir, "--force")
	require.Equal(t, 0, code, stderr)
}

// The `next:` hint names the command as the user invoked it, as typed from
// the folder the hint tells them to cd into.
func TestNextHintNamesTheBinaryAsInvoked(t *testing.T) {
	saved := os.Args[0]
	defer func() { os.Args[0] = saved }()
	for _, c := range []struct{ arg0, dir, want string }{
		{"cohort", "shop", "cohort"}, // found on PATH
		{"/usr/local/bin/cohort", "shop", "/usr/local/bin/cohort"},
		{"bin/cohort", "shop", "../bin/cohort"},
		{"./cohort", "a/b", "../../cohort"},
		{"bin/cohort", ".", "bin/cohort"},
		{"cohort-dev", ".", "cohort-dev"},
		{"../bin/cohort", ".", "../bin/cohort"},
	} {
		os.Args[0] = c.arg0
		require.Equal(t, c.want, binaryFrom(c.dir), "%s from %s", c.arg0, c.dir)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	os.Args[0] = "bin/cohort"
	out, stderr, code := cohortIn(t, "init", "p")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "then run `cd p && ../bin/cohort validate`")
	out, stderr, code = cohortIn(t, "init", "--project", "q")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "then run `cd q && ../bin/cohort validate`")
	require.NoError(t, os.Mkdir("r", 0o755))
	t.Chdir("r")
	out, stderr, code = cohortIn(t, "init")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "then run `bin/cohort validate`")
}

// validate --strict fails (exit 1) on a warning, here an order id that two
// rows of the orders export hold; without --strict it is valid.
func TestValidateStrictFailsOnRepeatedKeys(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "shop")
	_, stderr, code := cohortIn(t, "init", dir, "--demo", "--profiles", "150")
	require.Equal(t, 0, code, stderr)
	_, stderr, code = cohortIn(t, "--project", dir, "validate", "--strict")
	require.Equal(t, 0, code, stderr)

	p, err := (&globals{project: dir}).load()
	require.NoError(t, err)
	wh, err := engine.OpenWarehouse(ctx, p)
	require.NoError(t, err)
	require.NoError(t, wh.Exec(ctx, "INSERT INTO cohort_demo.orders SELECT * FROM cohort_demo.orders LIMIT 1"))
	require.NoError(t, wh.Close())

	_, stderr, code = cohortIn(t, "--project", dir, "validate")
	require.Equal(t, 0, code, stderr)
	out, stderr, code := cohortIn(t, "--project", dir, "validate", "--strict")
	require.Equal(t, 1, code, out)
	require.Regexp(t, `warning: models/sources\.yaml:\d+:\d+: source orders: primary_key order_id is not a key: 1 of [\d,]+ rows repeat a key another row holds`, stderr)
	require.Contains(t, stderr, "--strict: 1 warning (above)")
}

// A dry run's sample shows fields as they are sent: a time in UTC, a
// missing value as the JSON null.
func TestFieldTextShowsWhatIsSent(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	require.NoError(t, err)
	require.Equal(t, "  at=2026-11-23T09:00:00Z ltv=null n=2",
		fieldText(map[string]any{"ltv": nil, "at": time.Date(2026, 11, 23, 10, 0, 0, 0, ams), "n": 2}))
}
