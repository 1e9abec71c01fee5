package dialecttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/bigquery"
	_ "github.com/cohort-cdp/cohort/dialects/duckdb"    // registers duckdb
	_ "github.com/cohort-cdp/cohort/dialects/postgres"  // registers postgres
	_ "github.com/cohort-cdp/cohort/dialects/snowflake" // registers snowflake
)

// AdminDSN is the PostgreSQL server tests create their databases on;
// COHORT_TEST_POSTGRES overrides it.
func AdminDSN() string {
	if v := os.Getenv("COHORT_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Fresh is a warehouse made for one test with the config that opens it again.
type Fresh struct {
	Type   string
	Config dialects.Config
	WH     dialects.Warehouse
}

// Types are every registered dialect: the compiler's golden files hold the
// SQL of each, and a new dialect registered here fails those tests until
// they do.
var Types = dialects.Names()

// Remote are the dialects whose warehouse is not on this machine, with the
// environment variable naming the emulator binary to test against (make
// test-snowflake and make test-bigquery build one and set it).
var Remote = map[string]string{
	"snowflake": "COHORT_TEST_SNOWFLAKE_EMULATOR",
	"bigquery":  "COHORT_TEST_BIGQUERY_EMULATOR",
}

// Slow says why a dialect's test warehouse is too slow for more than one
// run of the demo project in a test, "" when it is not.
func Slow(typ string) string {
	if typ == "bigquery" {
		return "each DROP TABLE takes the BigQuery emulator seconds (it builds its analyzer's catalog anew) and a run drops about a hundred tables"
	}
	return ""
}

// Live are the dialects the engine's tests run against: DuckDB and
// PostgreSQL always, a remote one when its environment variable is set.
func Live() []string {
	var live []string
	for _, typ := range Types {
		if env, remote := Remote[typ]; !remote || os.Getenv(env) != "" {
			live = append(live, typ)
		}
	}
	return live
}

// Open returns a new, empty warehouse of the given type for this test, closed
// and removed when the test ends.
func Open(t testing.TB, typ string) Fresh {
	t.Helper()
	return OpenWith(t, typ, nil)
}

// OpenWith is Open with the configuration changed by adjust (when not nil)
// before the warehouse opens: a memory limit, threads.
func OpenWith(t testing.TB, typ string, adjust func(*dialects.Config)) Fresh {
	t.Helper()
	ctx := context.Background()
	var cfg dialects.Config
	switch typ {
	case "duckdb":
		cfg = dialects.Config{Dir: t.TempDir(), Path: "warehouse.duckdb"}
	case "postgres":
		cfg = dialects.Config{DSN: NewPostgresDB(t)}
	case "snowflake", "bigquery":
		cfg = remote(t, typ)
	default:
		t.Fatalf("dialecttest: no test warehouse for dialect %q: add one to dialecttest.Open", typ)
	}
	if adjust != nil {
		adjust(&cfg)
	}
	wh, err := dialects.Open(ctx, typ, cfg)
	if err != nil {
		t.Fatalf("open %s: %v", typ, err)
	}
	if bq, ok := wh.(*bigquery.Warehouse); ok {
		wh = bigqueryEmulator{bq, cfg}
	}
	t.Cleanup(func() { wh.Close() })
	return Fresh{Type: typ, Config: cfg, WH: wh}
}

// ForEach runs f as a parallel subtest on a fresh warehouse of every live type.
func ForEach(t *testing.T, f func(t *testing.T, w Fresh)) {
	t.Helper()
	ForEachWith(t, nil, f)
}

// ForEachWith is ForEach on warehouses opened with OpenWith(adjust).
func ForEachWith(t *testing.T, adjust func(*dialects.Config), f func(t *testing.T, w Fresh)) {
	t.Helper()
	for _, typ := range Live() {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			f(t, OpenWith(t, typ, adjust))
		})
	}
}

// NewPostgresDB creates a database for this test and returns its DSN; the
// database is dropped when the test ends.
func NewPostgresDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := dialects.Open(ctx, "postgres", dialects.Config{DSN: AdminDSN()})
	if err != nil {
		t.Fatalf("postgres for tests: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "cohort_t_" + hex.EncodeToString(b)
	if err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:5432/%s?sslmode=disable", name)
}

// remote starts an emulator of a remote dialect for this test alone (its
// binary named by the dialect's environment variable), stopped when the
// test ends, and returns the configuration that reaches it. The test is
// skipped, saying how to run it, when the variable is not set.
func remote(t testing.TB, typ string) dialects.Config {
	t.Helper()
	env := Remote[typ]
	bin := os.Getenv(env)
	if bin == "" {
		t.Skipf("%s is not set: make test-%s runs this test against an emulator", env, typ)
	}
	port := freePort(t)
	var args, environ []string
	var ready string
	var cfg dialects.Config
	switch typ {
	case "snowflake":
		args = []string{"-addr", "127.0.0.1:" + port, "-stages", t.TempDir()}
		ready = "http://127.0.0.1:" + port + "/health"
		cfg = dialects.Config{DSN: "cohort:cohort@127.0.0.1:" + port + "/COHORT_TEST/PUBLIC?account=test&protocol=http"}
	case "bigquery":
		args = []string{"--project=test", "--host=127.0.0.1", "--port=" + port, "--grpc-port=" + freePort(t), "--log-level=error"}
		ready = "http://127.0.0.1:" + port + "/bigquery/v2/projects/test/datasets"
		cfg = dialects.Config{Project: "test", Endpoint: "http://127.0.0.1:" + port, Schema: "cohort"}
		// Its GoogleSQL analyzer is WebAssembly with a heap of 2 GB. Each DROP
		// TABLE builds the analyzer's catalog anew, and the old one is freed
		// only when Go collects its handle: at Go's default pace the heap is
		// full after a few dozen drops, and from then on every job fails
		// ("slice bounds out of range [-2147...]"). Collecting at every 10%
		// of growth keeps the emulator under 1 GB.
		environ = []string{"GOGC=10"}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), environ...)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s emulator %s: %v", typ, bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s emulator output:\n%s", typ, log.String())
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cfg
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s emulator did not answer on %s within 2 minutes: %v\n%s", typ, ready, err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort is a TCP port on 127.0.0.1 nothing listens on now.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
