package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/models"
)

// While `cohort serve` answers reads, the embedded DuckDB file is open
// read-only in it: another process reads the unified tables at the same
// time (the DuckDB driver with access_mode=read_only, as a BI tool would,
// and `cohort profile`), and once serve has had no read for --read-idle it
// lets go of the file, so that a `cohort run` of another process can write.
// serve then reads the new run.
func TestServeLeavesTheWarehouseToOtherReaders(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, stderr, code := cohortIn(t, "init", dir, "--demo", "--profiles", "150")
	require.Equal(t, 0, code, stderr)
	_, stderr, code = cohortIn(t, "--project", dir, "run")
	require.Equal(t, 0, code, stderr)
	token, stderr, code := cohortIn(t, "--project", dir, "tokens", "create", "--role", "support", "--name", "desk")
	require.Equal(t, 0, code, stderr)
	token = strings.TrimSpace(token)

	p, err := models.LoadAndValidate(dir)
	require.NoError(t, err)
	svc := engine.NewService(p, engine.ServiceOptions{})
	ids, err := svc.SampleIdentifiers(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, svc.Close())
	id := ids[0].Type + ":" + ids[0].Value

	srv := startCohort(t, dir, nil, "serve", "--addr", "127.0.0.1:0", "--read-idle", "300ms")
	line := srv.waitFor(t, "cohort serve: listening")
	_, rest, ok := strings.Cut(line, "addr=")
	require.True(t, ok, line)
	base := strings.Fields(rest)[0]
	lookup := func() (int, string) {
		req, err := http.NewRequest("GET", base+"/api/v1/profiles/lookup?q="+url.QueryEscape(id), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	status, body := lookup()
	require.Equal(t, http.StatusOK, status, body)

	// another process (this test) reads while serve holds the file: both
	// by a driver opened read-only, as a BI tool does, and by cohort itself
	wh, err := dialects.Open(ctx, "duckdb", dialects.Config{Dir: dir, Path: p.Warehouse.Path, ReadOnly: true})
	require.NoError(t, err)
	var n int64
	rows, err := wh.Query(ctx, "SELECT count(*) FROM cohort.profiles")
	require.NoError(t, err)
	require.True(t, rows.Next())
	require.NoError(t, rows.Scan(&n))
	require.NoError(t, rows.Close())
	require.Positive(t, n)
	status, body = lookup() // serve reads on while another process has it open too
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, wh.Close())
	out, stderr, code := cohortIn(t, "--project", dir, "--json", "profile", id)
	require.Equal(t, 0, code, stderr)
	var person map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &person), out)

	// once serve has been idle for --read-idle, a run of another process
	// gets the file; while serve still holds it, the run is told so
	runs := len(runsOf(t, dir))
	var last string
	require.Eventually(t, func() bool {
		_, stderr, code := cohortIn(t, "--project", dir, "run")
		last = stderr
		if code != 0 {
			require.Contains(t, stderr, "in use", "a run fails only on serve's read-only handle")
		}
		return code == 0
	}, time.Minute, 200*time.Millisecond, "last attempt: %s", last)
	require.Len(t, runsOf(t, dir), runs+1)
	status, body = lookup()
	require.Equal(t, http.StatusOK, status, "serve opens the file again for its next read: %s", body)
	require.FileExists(t, filepath.Join(dir, p.Warehouse.Path))
}
