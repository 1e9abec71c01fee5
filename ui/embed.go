// Package ui is the web UI of `cohort serve`: static HTML, CSS and plain
// JavaScript embedded in the binary (no build step, no CDN, no network).
// The pages call the JSON API under /api/v1; the API server mounts Handler
// at every path outside /api, /healthz, /readyz and /metrics.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// FS is the UI's files (index.html, app.js, app.css) at its root.
var FS fs.FS = mustSub(static, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// Handler serves the UI: index.html at /, a file of FS by its path, and 404
// for any other path (the pages are addressed by the URL's #fragment). Every answer
// forbids framing and any script, style or connection outside this origin.
func Handler() http.Handler {
	files := http.FileServerFS(FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// the files change with the binary, which has no version in their names
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the web UI only answers GET", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if p == "" || p == "index.html" {
			serveIndex(w, r)
			return
		}
		if st, err := fs.Stat(FS, p); err != nil || st.IsDir() {
			http.Error(w, "not found: the web UI is at /", http.StatusNotFound)
			return
		}
		files.ServeHTTP(w, r)
	})
}

func serveIndex(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		http.Error(w, "the web UI is missing index.html", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}
