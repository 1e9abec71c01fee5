package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// The API on a PostgreSQL state store (as several replicas share): tokens,
// saved segments, pauses and the audit log live there.
func TestAPIOnPostgresState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, engine.WriteDemoProject(dir, false))
	p, err := models.LoadAndValidate(dir)
	require.NoError(t, err)
	st, err := state.Open(ctx, dir, dialecttest.NewPostgresDB(t))
	require.NoError(t, err)
	defer st.Close()
	svc := engine.NewService(p, engine.ServiceOptions{})
	svc.Store = st
	svc.Clock = func() time.Time { return now }
	defer svc.Close()
	_, err = svc.GenerateDemo(ctx, engine.DemoOptions{Profiles: 150, Seed: 4, Now: now})
	require.NoError(t, err)
	_, err = svc.Run(ctx, engine.RunOptions{})
	require.NoError(t, err)
	f := &fixture{svc: svc, h: New(Options{Service: svc}), tokens: map[string]string{}}
	for _, r := range engine.Roles {
		f.tokens[r], _, err = svc.CreateToken(ctx, "pg-"+r, r)
		require.NoError(t, err)
	}

	r := f.call(t, "editor", "POST", "/api/v1/segments", map[string]any{"name": "pg_nl", "where": map[string]any{"trait": "country", "eq": "NL"}})
	require.Equal(t, http.StatusCreated, r.code, string(r.body))
	r = f.call(t, "editor", "POST", "/api/v1/syncs/churn_risk_to_crm/pause", nil)
	require.Equal(t, http.StatusOK, r.code)
	var syncs []engine.SyncStatus
	f.call(t, "marketer", "GET", "/api/v1/syncs", nil).json(t, &syncs)
	paused := false
	for _, s := range syncs {
		paused = paused || (s.Name == "churn_risk_to_crm" && s.Paused)
	}
	require.True(t, paused)
	r = f.call(t, "support", "GET", "/api/v1/profiles/lookup?q=customer_id:C100001", nil)
	require.Equal(t, http.StatusOK, r.code, string(r.body))

	var log []engine.AuditEntry
	f.call(t, "admin", "GET", "/api/v1/audit", nil).json(t, &log)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Actor+" "+e.Action+" "+e.Target)
	}
	require.Equal(t, []string{"pg-support profile.view customer_id:C***01", "pg-editor sync.pause churn_risk_to_crm", "pg-editor segment.create pg_nl"}, actions)
	require.NoError(t, svc.RevokeToken(ctx, "pg-admin"))
	require.Equal(t, http.StatusUnauthorized, f.call(t, "admin", "GET", "/api/v1/audit", nil).code, "a revoked token is refused at once")
}
