package duckdb

import (
	"errors"
	"strings"
	"testing"
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
