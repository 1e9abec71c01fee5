package duckdb_test

import (
	"context"
	"testing"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
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
