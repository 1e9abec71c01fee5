package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe to write from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cohort serve answers its probes and stops cleanly when its context ends
// (what SIGINT and SIGTERM do).
func TestServe(t *testing.T) {
	dir := t.TempDir()
	writeMinimalProject(t, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte("name: shop\nschedule: \"0 5 * * *\"\n"), 0o644))
	started := time.Now()

	tokenRoot := newRoot()
	var token bytes.Buffer
	tokenRoot.SetOut(&token)
	tokenRoot.SetErr(io.Discard)
	tokenRoot.SetArgs([]string{"--project", dir, "tokens", "create", "--role", "support", "--name", "desk"})
	require.NoError(t, tokenRoot.Execute())

	root := newRoot()
	serve, _, err := root.Find([]string{"serve"})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", serve.Flags().Lookup("addr").DefValue, "this machine only by default")
	out, w := io.Pipe()
	var logs syncBuffer
	root.SetOut(w)
	root.SetErr(&logs)
	root.SetArgs([]string{"--project", dir, "serve", "--addr", "127.0.0.1:0", "--secure-cookies"})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); w.Close() }()

	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "logs: %s", logs.String())
	base := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	require.True(t, strings.HasPrefix(base, "http://127.0.0.1:"), line)

	for _, path := range []string{"/healthz", "/readyz"} {
		res, err := http.Get(base + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", path, body)
	}

	res, err := http.Get(base + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(page), "<title>Cohort</title>", "the web UI is served at /")

	// behind a TLS proxy (--secure-cookies) the login cookie is Secure
	res, err = http.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"token": "`+strings.TrimSpace(token.String())+`"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Len(t, res.Cookies(), 1)
	require.True(t, res.Cookies()[0].Secure)
	// an unknown API path is 404 without logging in
	res, err = http.Get(base + "/api/v1/nope")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	res, err = http.Get(base + "/nope")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	stop()
	require.NoError(t, <-done)
	require.Contains(t, logs.String(), "cohort serve: stopped")
	require.Contains(t, logs.String(), "scheduler stopped")
	require.Contains(t, logs.String(), `path=/nope status=404`)
	require.NotContains(t, logs.String(), `path=/healthz`, "probes that pass are not logged at info")
	_, err = http.Get(base + "/healthz")
	require.Error(t, err, "the port is closed after shutdown")

	// cohort schedule shows the job serve has seen, with its next slot.
	root = newRoot()
	var sched bytes.Buffer
	root.SetOut(&sched)
	root.SetArgs([]string{"--project", dir, "--json", "schedule"})
	require.NoError(t, root.Execute())
	var jobs []struct {
		Job      string
		LastSlot *time.Time `json:"last_slot"`
		Next     *time.Time
	}
	require.NoError(t, json.Unmarshal(sched.Bytes(), &jobs), sched.String())
	require.Len(t, jobs, 1)
	require.Equal(t, "run", jobs[0].Job)
	require.NotNil(t, jobs[0].LastSlot, "serve recorded where the job starts counting")
	require.False(t, jobs[0].LastSlot.Before(started.Truncate(time.Second)))
	require.Equal(t, 5, jobs[0].Next.UTC().Hour())
	require.True(t, jobs[0].Next.After(*jobs[0].LastSlot))
}

// A real SIGTERM stops cohort serve cleanly: exit 0, the port closed.
func TestServeStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	writeMinimalProject(t, dir)
	p := startCohort(t, dir, nil, "serve", "--addr", "127.0.0.1:0")
	line := p.waitFor(t, "cohort serve: listening")
	_, rest, ok := strings.Cut(line, "addr=")
	require.True(t, ok, line)
	base := strings.Fields(rest)[0]
	res, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	code, stderr := p.end(t)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "cohort serve: stopped")
	_, err = http.Get(base + "/healthz")
	require.Error(t, err)
}

// writeMinimalProject writes the smallest valid project into dir: one source
// with one identifier.
func writeMinimalProject(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte("name: shop\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "models"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "m.yaml"), []byte(
		"sources:\n  - {name: s, table: raw.s, identifiers: [{type: email, column: e}]}\nidentity:\n  identifiers: [{type: email}]\n"), 0o644))
}
