package engine

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/cohort-cdp/cohort/"

// importRule is one boundary of docs/architecture.md: the packages it
// covers, and which Cohort packages they may (allow) or must not (deny)
// import. With deps, every package reachable counts, not only direct imports.
type importRule struct {
	covers func(pkg string) bool
	deps   bool
	allow  []string // patterns; nil allows any not denied
	deny   []string
	why    string
}

// match reports whether pkg (relative to the module) matches pattern:
// "a/b" exactly, "a/b/..." that package and every one below, "a/b/*" the
// packages one level below.
func match(pattern, pkg string) bool {
	switch {
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	case strings.HasSuffix(pattern, "/*"):
		base := strings.TrimSuffix(pattern, "/*")
		return path.Dir(pkg) == base
	}
	return pkg == pattern
}

func anyOf(patterns ...string) func(string) bool {
	return func(pkg string) bool {
		for _, p := range patterns {
			if match(p, pkg) {
				return true
			}
		}
		return false
	}
}

// connector is a destination connector package (not its fake, not the
// conformance suite).
func connector(pkg string) bool {
	return match("engine/destinations/*", pkg) && pkg != "engine/destinations/destinationstest"
}

var importRules = []importRule{
	{covers: anyOf("models/..."), deps: true, allow: []string{"models/..."},
		why: "models stands alone: what it must know of the binary comes through hooks"},
	{covers: func(p string) bool { return match("dialects/...", p) && p != "dialects/dialecttest" }, deps: true, allow: []string{"dialects/..."},
		why: "dialects know SQL and connections, nothing of projects or the engine"},
	{covers: anyOf("engine/destinations"), deps: true, allow: []string{"engine/destinations"},
		why: "the connector contract depends on nothing of Cohort"},
	{covers: connector, deps: true, allow: []string{"engine/destinations", "engine/destinations/*"},
		deny: []string{"dialects/...", "engine/sync/...", "models/..."},
		why:  "a connector gets plain records and speaks HTTP: no warehouse, no sync engine"},
	{covers: anyOf("engine/sync/..."), deny: []string{"engine", "engine/destinations/*"},
		why: "the sync engine works through the destinations registry, for every vendor alike; the service calls it, not the reverse"},
	{covers: func(p string) bool {
		return anyOf("engine/plan", "engine/identity/...", "engine/profiles/...", "engine/segments/...")(p) && !strings.HasSuffix(p, "test")
	}, deps: true,
		deny: []string{"engine/sync/...", "engine/destinations/...", "engine/scheduler/...", "api/...", "engine"},
		why:  "the compiler turns a project into SQL and knows nothing of activation"},
	{covers: anyOf("engine/scheduler/..."), deps: true, allow: []string{"engine/scheduler/...", "engine/state/...", "models/...", "migrations/..."},
		why: "the scheduler is handed its jobs as functions"},
	{covers: anyOf("api/..."), allow: []string{"engine", "models", "engine/state", "api/...", "ui/..."},
		why: "the API calls the engine service only"},
	{covers: anyOf("ui/..."), allow: []string{"ui/..."},
		why: "the UI is embedded assets"},
	{covers: anyOf("cmd/..."), allow: []string{"engine", "models", "engine/state", "api", "dialects/*", "engine/destinations/*"},
		why: "the command line wires flags to the engine service and the API server (and links warehouses and connectors)"},
}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// TestImportRules checks the package boundaries of docs/architecture.md on
// every package of the module; a rule whose packages do not exist yet has
// nothing to check.
func TestImportRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := map[int]int{}
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(p.ImportPath, module)
		for i, r := range importRules {
			if !r.covers(pkg) {
				continue
			}
			checked[i]++
			imports := p.Imports
			if r.deps {
				imports = p.Deps
			}
			for _, imp := range imports {
				if !strings.HasPrefix(imp, module) {
					continue
				}
				imp = strings.TrimPrefix(imp, module)
				if imp == pkg {
					continue
				}
				if (r.allow != nil && !anyOf(r.allow...)(imp)) || anyOf(r.deny...)(imp) {
					t.Errorf("%s imports %s: %s (docs/architecture.md)", pkg, imp, r.why)
				}
			}
		}
	}
	// the rules about packages that exist must have found them
	for i, r := range importRules[:4] {
		if checked[i] == 0 {
			t.Errorf("rule %q covered no package: the patterns are wrong", r.why)
		}
	}
}

// The rules catch what they are meant to: a connector reaching for the
// warehouse or the sync engine, and packages one level down only.
func TestImportRuleMatching(t *testing.T) {
	if !match("engine/destinations/*", "engine/destinations/klaviyo") || match("engine/destinations/*", "engine/destinations/klaviyo/fake") {
		t.Fatal("* is one level")
	}
	if !match("api/...", "api") || !match("api/...", "api/auth") || match("api/...", "apis") {
		t.Fatal("... is the package and below")
	}
	r := importRules[3]
	if !r.covers("engine/destinations/klaviyo") || r.covers("engine/destinations/klaviyo/fake") || r.covers("engine/destinations/destinationstest") {
		t.Fatal("the connector rule covers connectors only")
	}
	if !anyOf(r.deny...)("dialects/postgres") || !anyOf(r.deny...)("engine/sync") {
		t.Fatal("a connector must not import dialects or engine/sync")
	}
}
