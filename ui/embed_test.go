package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	get := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	for _, p := range []string{"/segments/vip", "/../../etc/passwd", "/static/app.js"} {
		if w := get(http.MethodGet, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	for _, p := range []string{"/", "/index.html"} {
		w := get(http.MethodGet, p)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<script src="app.js"`) {
			t.Errorf("GET %s: %d, want index.html", p, w.Code)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", p, csp)
		}
	}
	for p, kind := range map[string]string{"/app.js": "javascript", "/app.css": "text/css"} {
		w := get(http.MethodGet, p)
		if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), kind) {
			t.Errorf("GET %s: %d %s", p, w.Code, w.Header().Get("Content-Type"))
		}
	}
	if w := get(http.MethodPost, "/"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", w.Code)
	}
}

// The UI works without network: no file names an outside address.
func TestNoOutsideAddress(t *testing.T) {
	names, err := fs.Glob(FS, "*")
	if err != nil || len(names) < 3 {
		t.Fatalf("the UI's files: %v %v", names, err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "@import"} {
			if s := string(b); strings.Contains(strings.ReplaceAll(s, "http://www.w3.org/", ""), bad) {
				t.Errorf("%s holds %q: the UI must load nothing from outside", name, bad)
			}
		}
	}
}

// Every script index.html loads is one of the UI's files, and every script
// file is loaded (a file left out would be dead code; one missing a 404).
func TestScriptsLoaded(t *testing.T) {
	index, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	scripts, _ := fs.Glob(FS, "*.js")
	for _, js := range scripts {
		if !strings.Contains(string(index), `<script src="`+js+`" defer></script>`) {
			t.Errorf("index.html does not load %s", js)
		}
	}
	for _, m := range regexp.MustCompile(`<script src="([^"]+)"`).FindAllStringSubmatch(string(index), -1) {
		if _, err := fs.Stat(FS, m[1]); err != nil {
			t.Errorf("index.html loads %s, which is not in ui/static", m[1])
		}
	}
}
