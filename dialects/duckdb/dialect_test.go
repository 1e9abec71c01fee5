package duckdb_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/cohort-cdp/cohort/dialects"
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

// TestHexKey: the integer of 1 to 16 hex digits, beyond the signed range
// too, as Go parses them (the rows tables' profile_key, see HexKeyer).
func TestHexKey(t *testing.T) {
	w := dialecttest.Open(t, "duckdb")
	for _, hex := range []string{"0", "00000000000000ff", "7fffffffffffffff", "8000000000000000", "c4", "ffffffffffffffff"} {
		want, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		q := dialects.Bind(w.WH.Dialect(), "SELECT CAST("+dialects.HexKey(w.WH.Dialect(), "?")+" AS VARCHAR)")
		if err := plan.QueryRow(context.Background(), w.WH, q, []any{hex}, &got); err != nil {
			t.Fatal(err)
		}
		if got != strconv.FormatUint(want, 10) {
			t.Errorf("HexKey(%q) = %s, want %d", hex, got, want)
		}
	}
}
