package duckdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cohort-cdp/cohort/dialects"
)

// DuckDB's lock error, as its driver words it, becomes a message that says
// who holds the file and why.
func TestLockErrorNamesTheHolder(t *testing.T) {
	err := openError("/p/.cohort/warehouse.duckdb", errors.New(`IO Error: Could not set lock on file "/p/.cohort/warehouse.duckdb": Conflicting lock is held in /usr/bin/cohort (PID 4242) by user me. See also https://duckdb.org/docs/connect/concurrency`))
	for _, want := range []string{"/p/.cohort/warehouse.duckdb is in use by another process (PID 4242)", "`cohort run`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwants %q", err, want)
		}
	}
	if got := openError("x", errors.New("other")).Error(); got != "duckdb: open x: other" {
		t.Errorf("other errors unchanged: %s", got)
	}
}

// A read-only file answers queries with arguments through statements it
// keeps: the same answers as unprepared queries, a bad query's own error,
// and rows still being read when their statement is let go.
func TestReadOnlyKeepsStatements(t *testing.T) {
	ctx := context.Background()
	cfg := dialects.Config{Dir: t.TempDir(), Path: "w.duckdb"}
	rw, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Exec(ctx, "CREATE TABLE t AS SELECT i, 'v' || i AS v FROM range(1000) r(i)"); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	cfg.ReadOnly = true
	wh, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	one := func(q string, arg any) string {
		t.Helper()
		rows, err := wh.Query(ctx, q, arg)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var v string
		for rows.Next() {
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for i := range 3 {
		if got := one("SELECT v FROM t WHERE i = ?", i); got != fmt.Sprint("v", i) {
			t.Fatalf("i = %d: %q", i, got)
		}
	}
	if _, err := wh.Query(ctx, "SELECT nope FROM t WHERE i = ?", 1); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("a bad query says what is wrong: %v", err)
	}
	// rows of the oldest statement stay readable while more than keptStmts
	// others push it out
	open, err := wh.Query(ctx, "SELECT v FROM t WHERE i < ? ORDER BY i", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range keptStmts + 10 {
		if got := one(fmt.Sprintf("SELECT v || '-%d' FROM t WHERE i = ?", i), i); got != fmt.Sprintf("v%d-%d", i, i) {
			t.Fatalf("statement %d: %q", i, got)
		}
	}
	n := 0
	for open.Next() {
		n++
	}
	if err := open.Err(); err != nil || n != 1000 {
		t.Fatalf("rows of a statement let go: %d, %v", n, err)
	}
	open.Close()
	if got := one("SELECT v FROM t WHERE i = ?", 7); got != "v7" {
		t.Fatalf("prepared again: %q", got)
	}
}
