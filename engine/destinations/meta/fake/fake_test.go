package fake_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/meta/fake"
)

// post sends a users request as a client would and returns status and body.
func post(t *testing.T, f *fake.Server, method, token string, payload any) (int, map[string]any) {
	t.Helper()
	pj, _ := json.Marshal(payload)
	form := url.Values{"payload": {string(pj)}}
	req, _ := http.NewRequest(method, f.URL()+"/v25.0/"+f.AudienceID+"/users", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), string(b))
	return resp.StatusCode, m
}

func TestTheFakeChecksAsMetaDoes(t *testing.T) {
	f := fake.New()
	defer f.Close()
	h := destinations.SHA256("ada@example.com")

	st, ans := post(t, f, "POST", f.Token, map[string]any{"schema": []string{"EMAIL", "COUNTRY"},
		"data": [][]string{{h, destinations.SHA256("nl")}, {"bob@example.com", ""}, {"", ""}}})
	assert.Equal(t, 200, st)
	assert.Equal(t, float64(3), ans["num_received"])
	assert.Equal(t, float64(2), ans["num_invalid_entries"], "an unhashed e-mail and an empty row are invalid")
	assert.Contains(t, ans["invalid_entry_samples"], "bob@example.com")
	assert.Len(t, f.Members(), 1)

	st, ans = post(t, f, "POST", f.Token, map[string]any{"schema": []string{"EMAIL", "FN"}, "data": [][]string{{h}}})
	assert.Equal(t, 400, st, "a row narrower than the schema")
	assert.Equal(t, float64(100), ans["error"].(map[string]any)["code"])

	st, _ = post(t, f, "POST", f.Token, map[string]any{"schema": []string{"E_MAIL"}, "data": [][]string{{h}}})
	assert.Equal(t, 400, st, "an unknown schema key")

	rows := make([][]string, 10001)
	for i := range rows {
		rows[i] = []string{destinations.SHA256(fmt.Sprint(i))}
	}
	st, ans = post(t, f, "POST", f.Token, map[string]any{"schema": []string{"EMAIL"}, "data": rows})
	assert.Equal(t, 400, st)
	assert.Contains(t, ans["error"].(map[string]any)["message"], "at most 10000")

	st, ans = post(t, f, "POST", "stolen", map[string]any{"schema": "EMAIL", "data": []string{h}})
	assert.Equal(t, 401, st)
	assert.Equal(t, float64(190), ans["error"].(map[string]any)["code"])
	st, _ = post(t, f, "POST", "", map[string]any{"schema": "EMAIL", "data": []string{h}})
	assert.Equal(t, 400, st, "no token at all")

	// A single-key schema takes a flat list; DELETE removes.
	st, ans = post(t, f, "DELETE", f.Token, map[string]any{"schema": "EMAIL", "data": []string{h}})
	assert.Equal(t, 200, st)
	assert.Equal(t, float64(0), ans["num_invalid_entries"])
	assert.Empty(t, f.Members())
	assert.Equal(t, 7, f.Requests(), "every users request counts, refused or not")
}
