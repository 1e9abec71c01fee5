package dialecttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/cohort-cdp/cohort/dialects"
	_ "github.com/cohort-cdp/cohort/dialects/duckdb"   // registers duckdb
	_ "github.com/cohort-cdp/cohort/dialects/postgres" // registers postgres
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

// Types are the dialects every engine test runs against: every registered
// one. A new dialect registered here fails those tests until Open knows how
// to make a test warehouse of it and the golden files have its SQL.
var Types = dialects.Names()

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

// ForEach runs f as a parallel subtest on a fresh warehouse of every type.
func ForEach(t *testing.T, f func(t *testing.T, w Fresh)) {
	t.Helper()
	for _, typ := range Types {
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
