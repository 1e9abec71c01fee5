package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A traced statement shows its times and its first line, or its whole text
// without the leading comment; faster ones are left out, and a hook hears of
// every one instead.
func TestTraceReport(t *testing.T) {
	var b strings.Builder
	st := "-- nodes: a comment\nCREATE TABLE x AS\nSELECT 1"
	Trace{Mode: "1", Out: &b}.Report(st, 300*time.Millisecond, 0.5)
	Trace{Mode: "1", Out: &b}.Report(st, 100*time.Millisecond, 0.1)
	Trace{Mode: "sql", Out: &b}.Report(st, SlowStatement, 0)
	Trace{Out: &b}.Report(st, time.Hour, 0)
	require.Equal(t, "             0.30s (cpu   0.50s)  CREATE TABLE x AS\n"+
		"             0.20s (cpu   0.00s)  CREATE TABLE x AS\nSELECT 1\n", b.String())
	var heard []string
	Trace{Mode: "1", Out: &b, Hook: func(sql string, _ time.Duration, _ float64) { heard = append(heard, sql) }}.Report(st, 0, 0)
	require.Equal(t, []string{st}, heard)
}
