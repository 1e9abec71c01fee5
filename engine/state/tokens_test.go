package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// Tokens, the audit log, saved segments and pauses behave the same on
// every store driver; only a token's hash is stored.
func TestTokensAuditSegments(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "state.db" },
		"postgres": func(t *testing.T) string { return dialecttest.NewPostgresDB(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := Open(ctx, t.TempDir(), open(t))
			require.NoError(t, err)
			defer s.Close()

			secret, tok, err := s.CreateToken(ctx, "ann", "marketer")
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(secret, TokenPrefix))
			_, _, err = s.CreateToken(ctx, "ann", "admin")
			require.ErrorContains(t, err, `a token named "ann" exists`)
			var stored int
			require.NoError(t, s.db.QueryRowContext(ctx, s.bind(`SELECT count(*) FROM api_tokens WHERE hash = ? OR hash = ?`), secret, HashToken(secret)).Scan(&stored))
			require.Equal(t, 1, stored, "the hash is stored, not the token")
			got, err := s.TokenByHash(ctx, HashToken(secret))
			require.NoError(t, err)
			require.Equal(t, tok.ID, got.ID)
			require.Equal(t, "marketer", got.Role)
			_, err = s.RevokeToken(ctx, "ann")
			require.NoError(t, err)
			_, err = s.TokenByHash(ctx, HashToken(secret))
			require.True(t, errors.Is(err, ErrNoToken))
			_, err = s.RevokeToken(ctx, "ann")
			require.True(t, errors.Is(err, ErrNoToken), "revoking twice says so")
			list, err := s.Tokens(ctx)
			require.NoError(t, err)
			require.Len(t, list, 1)
			require.NotNil(t, list[0].RevokedAt)

			// a revoked token's name can be given again; its row stays
			again, _, err := s.CreateToken(ctx, "ann", "support")
			require.NoError(t, err)
			got, err = s.TokenByHash(ctx, HashToken(again))
			require.NoError(t, err)
			require.Equal(t, "support", got.Role)
			_, _, err = s.CreateToken(ctx, "ann", "admin")
			require.ErrorContains(t, err, `a token named "ann" exists`, "once among the live tokens")
			_, err = s.RevokeToken(ctx, "ann")
			require.NoError(t, err)
			list, err = s.Tokens(ctx)
			require.NoError(t, err)
			require.Len(t, list, 2)
			require.NotNil(t, list[1].RevokedAt)

			require.NoError(t, s.Audit(ctx, AuditEntry{Actor: "ann", Role: "admin", Action: "segment.create", Target: "vip"}))
			require.NoError(t, s.Audit(ctx, AuditEntry{Actor: "bob", Role: "support", Action: "profile.view", Target: "email:a@b.c"}))
			log, err := s.AuditLog(ctx, 10)
			require.NoError(t, err)
			require.Len(t, log, 2)
			require.Equal(t, "profile.view", log[0].Action, "newest first")
			require.False(t, log[0].At.IsZero())

			// concurrent entries are committed together, each before its call returns
			var wg sync.WaitGroup
			errs := make([]error, 50)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = s.Audit(ctx, AuditEntry{Actor: "cy", Role: "support", Action: "profile.view", Target: fmt.Sprint("customer_id:C", i)})
				}()
			}
			wg.Wait()
			require.Equal(t, make([]error, 50), errs)
			log, err = s.AuditLog(ctx, 100)
			require.NoError(t, err)
			targets := map[string]bool{}
			for _, e := range log {
				targets[e.Target] = true
			}
			require.Len(t, log, 52)
			require.Len(t, targets, 52, "every entry once")

			require.NoError(t, s.SaveSegment(ctx, "shop", SavedSegment{Name: "big", Definition: []byte(`{"a":1}`), UpdatedBy: "ann"}))
			require.NoError(t, s.SaveSegment(ctx, "shop", SavedSegment{Name: "big", Definition: []byte(`{"a":2}`), UpdatedBy: "bob"}))
			segs, err := s.SavedSegments(ctx, "shop")
			require.NoError(t, err)
			require.Len(t, segs, 1)
			require.JSONEq(t, `{"a":2}`, string(segs[0].Definition))
			require.Equal(t, "bob", segs[0].UpdatedBy)
			require.NoError(t, s.DeleteSegment(ctx, "shop", "big"))
			require.True(t, errors.Is(s.DeleteSegment(ctx, "shop", "big"), ErrNoSegment))

			require.NoError(t, s.SaveSync(ctx, "shop", SavedSync{Name: "to_crm", Definition: []byte(`{"a":1}`), UpdatedBy: "ann"}))
			require.NoError(t, s.SaveSync(ctx, "shop", SavedSync{Name: "to_crm", Definition: []byte(`{"a":2}`), UpdatedBy: "bob"}))
			require.NoError(t, s.SaveSync(ctx, "other", SavedSync{Name: "to_crm", Definition: []byte(`{}`), UpdatedBy: "cy"}))
			syncs, err := s.SavedSyncs(ctx, "shop")
			require.NoError(t, err)
			require.Len(t, syncs, 1, "one per name and project")
			require.JSONEq(t, `{"a":2}`, string(syncs[0].Definition))
			require.Equal(t, "bob", syncs[0].UpdatedBy)
			require.False(t, syncs[0].UpdatedAt.IsZero())
			require.NoError(t, s.DeleteSync(ctx, "shop", "to_crm"))
			require.True(t, errors.Is(s.DeleteSync(ctx, "shop", "to_crm"), ErrNoSync))
			syncs, err = s.SavedSyncs(ctx, "shop")
			require.NoError(t, err)
			require.Len(t, syncs, 1, "a deleted sync keeps its definition for a forget")
			require.NotNil(t, syncs[0].DeletedAt)
			require.NoError(t, s.SaveSync(ctx, "shop", SavedSync{Name: "to_crm", Definition: []byte(`{"a":3}`), UpdatedBy: "ann"}))
			syncs, err = s.SavedSyncs(ctx, "shop")
			require.NoError(t, err)
			require.Nil(t, syncs[0].DeletedAt, "made again")
			require.JSONEq(t, `{"a":3}`, string(syncs[0].Definition))
			syncs, err = s.SavedSyncs(ctx, "other")
			require.NoError(t, err)
			require.Len(t, syncs, 1)

			require.NoError(t, s.PauseSync(ctx, "shop", "a", "ann"))
			require.NoError(t, s.PauseSync(ctx, "shop", "a", "ann"))
			p, err := s.PausedSyncs(ctx, "shop")
			require.NoError(t, err)
			require.Equal(t, map[string]bool{"a": true}, p)
			require.NoError(t, s.ResumeSync(ctx, "shop", "a"))
			p, err = s.PausedSyncs(ctx, "shop")
			require.NoError(t, err)
			require.Empty(t, p)
		})
	}
}
