package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cohort-cdp/cohort/models"
)

//go:embed project
var projectFS embed.FS

// ProjectOptions shape the written demo project.
type ProjectOptions struct {
	// Overwrite replaces files that already exist; without it WriteProject
	// refuses to touch a folder that holds any of them.
	Overwrite bool
}

// WriteProject writes the demo project (cohort.yaml and models/*.yaml) that
// describes the tables Generate builds into dir.
func WriteProject(dir string, o ProjectOptions) error {
	if !o.Overwrite {
		err := fs.WalkDir(projectFS, "project", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel("project", path)
			if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
				return fmt.Errorf("%s already exists: choose an empty folder (cohort init --force overwrites)", filepath.Join(dir, rel))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return fs.WalkDir(projectFS, "project", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("project", path)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := projectFS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// IsProject reports whether p reads the demo's data: every source is a
// table the generator writes to schema cohort_demo. Only such a project has a truth
// to measure identity resolution against.
func IsProject(p *models.Project) bool {
	raw := map[string]bool{}
	for _, t := range []table{shopCustomers, orders, webEvents, appEvents, newsletter, supportTickets, leadAds, cmsAccounts} {
		raw[t.qualified()] = true
	}
	for _, s := range p.Sources {
		if !raw[s.Table] {
			return false
		}
	}
	return len(p.Sources) > 0
}
