package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort-cdp/cohort/models"
)

func TestWriteProjectLoadsAndValidates(t *testing.T) {
	dir := t.TempDir()
	if err := WriteProject(dir, ProjectOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := models.Load(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := models.Validate(p); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if p.Name != "shop" || p.Warehouse.Type != "duckdb" || p.Warehouse.Path != ".cohort/warehouse.duckdb" ||
		p.Warehouse.Schema != "cohort" || p.State != ".cohort/state.db" || p.Timezone != "Europe/Amsterdam" {
		t.Errorf("cohort.yaml: %+v state %q timezone %q", p.Warehouse, p.State, p.Timezone)
	}
	types := map[string]bool{}
	for _, s := range p.Sources {
		for _, i := range s.Identifiers {
			types[i.Type] = true
		}
	}
	if len(p.Sources) != 8 || len(types) != 5 {
		t.Errorf("%d sources with identifier types %v", len(p.Sources), types)
	}
	var order []string
	for _, r := range p.Identity.Identifiers {
		order = append(order, r.Type)
	}
	if got := strings.Join(order, " "); got != "customer_id email phone device_id anonymous_id" {
		t.Errorf("identity priority: %s", got)
	}
	if r := p.Identity.Rule("anonymous_id"); r == nil || r.MaxLinks >= FamilyTabletMembers {
		t.Errorf("anonymous_id max_links must stop the family tablet (%d customers): %+v", FamilyTabletMembers, r)
	}
	for _, s := range p.Segments {
		if s.Name == "lapsed_vip" && (s.Holdout != 10 || len(s.Splits) != 2) {
			t.Errorf("lapsed_vip: holdout %v splits %v", s.Holdout, s.Splits)
		}
	}
	if len(p.Destinations) < 3 || len(p.Syncs) < 3 || p.Consent == nil || len(p.Consent.Purposes) < 2 {
		t.Errorf("%d destinations, %d syncs, consent %+v", len(p.Destinations), len(p.Syncs), p.Consent)
	}
	// The secrets come from the environment, with demo defaults.
	t.Setenv("KLAVIYO_API_KEY", "pk_from_env")
	p, err = models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range p.Destinations {
		if d.Name == "klaviyo" && d.Config["api_key"] != "pk_from_env" {
			t.Errorf("klaviyo api_key: %v", d.Config["api_key"])
		}
	}
}

func TestWriteProjectKeepsExistingFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte("name: mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteProject(dir, ProjectOptions{}); err == nil || !strings.Contains(err.Error(), "cohort.yaml already exists") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cohort.yaml")); string(b) != "name: mine\n" {
		t.Fatalf("cohort.yaml was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "models")); err == nil {
		t.Fatal("models/ written although the project was refused")
	}
	if err := WriteProject(dir, ProjectOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cohort.yaml")); !strings.Contains(string(b), "name: shop") {
		t.Fatalf("not overwritten: %q", b)
	}
}
