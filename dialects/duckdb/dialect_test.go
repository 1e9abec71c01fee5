package duckdb_test

import (
	"context"
	"testing"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/dialects/duckdb"
	"github.com/cohort-cdp/cohort/engine/plan"
)

func TestConformance(t *testing.T) { dialecttest.Conformance(t, "duckdb") }

// TestBlockAllocator: an opened warehouse keeps the buffer memory it touched
// for reuse (see Open).
func TestBlockAllocator(t *testing.T) {
	w := dialecttest.Open(t, "duckdb")
	var pool string
	if err := plan.QueryRow(context.Background(), w.WH, "SELECT CAST(current_setting('block_allocator_memory') AS VARCHAR)", nil, &pool); err != nil {
		t.Fatal(err)
	}
	if pool == "0 bytes" {
		t.Fatalf("block_allocator_memory is %s after Open", pool)
	}
}

// TestUnorderedWritesKeepSorts: under UnorderedWrites a CREATE TABLE AS
// with ORDER BY still writes its rows in that order (the profiles step
// relies on it for the rows tables sorted by profile), on several threads.
func TestUnorderedWritesKeepSorts(t *testing.T) {
	ctx := context.Background()
	w := dialecttest.Open(t, "duckdb")
	set, reset := duckdb.Dialect{}.UnorderedWrites()
	for _, st := range append([]string{"SET threads = 4"}, set...) {
		if err := w.WH.Exec(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WH.Exec(ctx, "CREATE TABLE sorted AS SELECT 'p_' || md5(CAST(i AS VARCHAR)) AS k, i FROM range(1000000) r(i) ORDER BY k"); err != nil {
		t.Fatal(err)
	}
	for _, st := range reset {
		if err := w.WH.Exec(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	var out int64
	if err := plan.QueryRow(ctx, w.WH, "SELECT count(*) FROM (SELECT k, lag(k) OVER (ORDER BY rowid) AS prev FROM sorted) WHERE k < prev", nil, &out); err != nil {
		t.Fatal(err)
	}
	if out != 0 {
		t.Fatalf("%d rows of the sorted table come before a greater key", out)
	}
	var kept string
	if err := plan.QueryRow(ctx, w.WH, "SELECT CAST(current_setting('preserve_insertion_order') AS VARCHAR)", nil, &kept); err != nil {
		t.Fatal(err)
	}
	if kept != "true" {
		t.Fatalf("preserve_insertion_order is %s after the reset", kept)
	}
}
