package models

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:embed starter
var starter embed.FS

// WriteStarter writes an empty project named name into dir, refusing to
// overwrite an existing cohort.yaml unless overwrite.
func WriteStarter(dir, name string, overwrite bool) error {
	if _, err := os.Stat(filepath.Join(dir, "cohort.yaml")); err == nil && !overwrite {
		return fmt.Errorf("%s already holds a cohort.yaml: choose an empty folder", dir)
	}
	return fs.WalkDir(starter, "starter", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("starter", path)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := starter.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(strings.ReplaceAll(string(b), "{{NAME}}", name)), 0o644)
	})
}
