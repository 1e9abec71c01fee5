package dialecttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cohort-cdp/cohort/dialects"
	_ "github.com/cohort-cdp/cohort/dialects/bigquery"  // registers bigquery
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
// environment variable naming one to test against (make test-snowflake and
// make test-bigquery start an emulator and set it).
var Remote = map[string]string{
	"snowflake": "COHORT_TEST_SNOWFLAKE", // a gosnowflake DSN
	"bigquery":  "COHORT_TEST_BIGQUERY",  // project@http://host:port of an emulator
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
	wh, err := dialects.Open(ctx, typ, cfg)
	if err != nil {
		t.Fatalf("open %s: %v", typ, err)
	}
	t.Cleanup(func() { wh.Close() })
	return Fresh{Type: typ, Config: cfg, WH: wh}
}

// ForEach runs f as a parallel subtest on a fresh warehouse of every live type.
func ForEach(t *testing.T, f func(t *testing.T, w Fresh)) {
	t.Helper()
	for _, typ := range Live() {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			f(t, Open(t, typ))
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

// remote is the configuration of a test warehouse of a remote dialect, from
// its environment variable; the test is skipped, saying how to run it, when
// none is set.
func remote(t testing.TB, typ string) dialects.Config {
	t.Helper()
	env := Remote[typ]
	v := os.Getenv(env)
	if v == "" {
		t.Skipf("%s is not set: make test-%s runs this test against an emulator", env, typ)
	}
	if typ == "snowflake" {
		return dialects.Config{DSN: v}
	}
	project, endpoint, _ := strings.Cut(v, "@")
	return dialects.Config{Project: project, Endpoint: endpoint, Schema: "cohort"}
}
