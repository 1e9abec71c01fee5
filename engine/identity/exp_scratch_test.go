package identity

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
)

func TestScratchSQL(t *testing.T) {
	f := os.Getenv("SCRATCH_SQL")
	if f == "" {
		t.Skip()
	}
	ctx := context.Background()
	wh, err := dialects.Open(ctx, "duckdb", dialects.Config{Path: os.Getenv("SCRATCH_DB")})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	b, _ := os.ReadFile(f)
	for _, s := range strings.Split(string(b), ";\n") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		st := time.Now()
		if strings.HasPrefix(s, "SELECT") {
			rows, err := wh.Query(ctx, s)
			if err != nil {
				t.Fatal(s, err)
			}
			var out []string
			cols, _ := rows.Columns()
			for rows.Next() {
				v := make([]any, len(cols))
				p := make([]any, len(cols))
				for i := range v {
					p[i] = &v[i]
				}
				rows.Scan(p...)
				for _, x := range v {
					out = append(out, strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(x), "\n", " "), "  ", " ")))
				}
			}
			rows.Close()
			t.Logf("%.2fs %s => %v", time.Since(st).Seconds(), firstLine(s), out)
			continue
		}
		if err := wh.Exec(ctx, s); err != nil {
			t.Fatal(s, err)
		}
		t.Logf("%.2fs %s", time.Since(st).Seconds(), firstLine(s))
	}
}

func fmtAny(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return strings.TrimSpace(strings.ReplaceAll(sprint(x), "\n", " "))
}
func firstLine(s string) string {
	if len(s) > 100 {
		s = s[:100]
	}
	return strings.ReplaceAll(s, "\n", " ")
}

func sprint(x any) string {
	return strings.TrimSpace(strings.Join(strings.Fields(strings.TrimSpace(fmtv(x))), " "))
}
func fmtv(x any) string { return fmt.Sprint(x) }

func TestScratchGen(t *testing.T) {
	if os.Getenv("SCRATCH_GEN") == "" {
		t.Skip()
	}
	d, _ := dialects.Lookup("duckdb")
	os.WriteFile(os.Getenv("SCRATCH_GEN"), []byte("CREATE SCHEMA IF NOT EXISTS b;\nCREATE TABLE b.edges AS "+generateSQL(d.Dialect, 10000000, 1)+";\n"), 0o644)
}
