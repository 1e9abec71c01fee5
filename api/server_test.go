package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func get(t *testing.T, h http.Handler, path string) (int, map[string]string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var body map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return rec.Code, body
}

func TestProbes(t *testing.T) {
	var down error
	h := New(Options{Ready: func(context.Context) error { return down }})
	code, body := get(t, h, "/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", body["status"])
	code, _ = get(t, h, "/readyz")
	require.Equal(t, http.StatusOK, code)

	down = errors.New("state store: connection refused")
	code, body = get(t, h, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "state store: connection refused", body["error"])
	code, _ = get(t, h, "/healthz")
	require.Equal(t, http.StatusOK, code, "liveness does not follow readiness")

	code, _ = get(t, h, "/nope")
	require.Equal(t, http.StatusNotFound, code)
}
