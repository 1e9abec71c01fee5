package engine

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/models"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// TestCompileGolden compiles every testdata/<case>/ project for every dialect
// and compares with <dialect>.sql, or the error with stderr.txt.
func TestCompileGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/cohort.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, c := range cases {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			p, err := models.Load(dir)
			if err == nil {
				err = models.Validate(p)
			}
			if err != nil {
				golden(t, filepath.Join(dir, "stderr.txt"), err.Error()+"\n")
				return
			}
			for _, name := range dialecttest.Types { // every registered dialect has its golden file
				drv, err := dialects.Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				pl, err := Compile(p, drv.Dialect, DefaultParts, Options{Now: now})
				if err != nil {
					golden(t, filepath.Join(dir, "stderr.txt"), err.Error()+"\n")
					return
				}
				// The run id is random: pin it so the files are stable.
				sql := strings.ReplaceAll(pl.SQL(), pl.Ctx.RunID, "RUNID")
				sql = strings.ReplaceAll(sql, strings.ToUpper(pl.Ctx.RunID), "RUNID") // Snowflake folds names to upper case
				golden(t, filepath.Join(dir, name+".sql"), sql)
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./engine -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the compiled output (run go test ./engine -update and review the diff)\n--- got:\n%s", path, got)
	}
}
