package state

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token is an API token as stored: its name and role, never the token.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// ErrNoToken is a token that is unknown or revoked.
var ErrNoToken = errors.New("unknown or revoked token")

// TokenPrefix starts every token, so a leaked one is easy to recognise.
const TokenPrefix = "cohort_"

// HashToken is the hex SHA-256 of a token, the only form the store keeps.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// CreateToken stores a new token with that name and role and returns it in
// clear: the only time it is ever seen.
func (s *Store) CreateToken(ctx context.Context, name, role string) (string, *Token, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	t := &Token{ID: hex.EncodeToString(b[:4]), Name: name, Role: role, CreatedAt: s.now().UTC()}
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO api_tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)`),
		t.ID, t.Name, t.Role, HashToken(secret), s.timeArg(t.CreatedAt))
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "unique") || strings.Contains(err.Error(), "duplicate") {
			return "", nil, fmt.Errorf("a token named %q exists: choose another name, or revoke it first (cohort tokens revoke %s)", name, name)
		}
		return "", nil, fmt.Errorf("state store: create token: %w", err)
	}
	return secret, t, nil
}

// TokenByHash finds the live token whose hash is that; ErrNoToken if none.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*Token, error) {
	var (
		t       Token
		created any
	)
	err := s.db.QueryRowContext(ctx, s.bind(`SELECT id, name, role, created_at FROM api_tokens WHERE hash = ? AND revoked_at IS NULL`), hash).
		Scan(&t.ID, &t.Name, &t.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("state store: token: %w", err)
	}
	if t.CreatedAt, err = scanTime(created); err != nil {
		return nil, err
	}
	return &t, nil
}

// Tokens lists every token, revoked ones too, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("state store: tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var (
			t                Token
			created, revoked any
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &created, &revoked); err != nil {
			return nil, fmt.Errorf("state store: tokens: %w", err)
		}
		if t.CreatedAt, err = scanTime(created); err != nil {
			return nil, err
		}
		if revoked != nil {
			r, err := scanTime(revoked)
			if err != nil {
				return nil, err
			}
			t.RevokedAt = &r
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the live token of that name or id; ErrNoToken if none.
func (s *Store) RevokeToken(ctx context.Context, nameOrID string) (*Token, error) {
	now := s.now().UTC()
	res, err := s.db.ExecContext(ctx, s.bind(`UPDATE api_tokens SET revoked_at = ? WHERE (name = ? OR id = ?) AND revoked_at IS NULL`),
		s.timeArg(now), nameOrID, nameOrID)
	if err != nil {
		return nil, fmt.Errorf("state store: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("%w: %q", ErrNoToken, nameOrID)
	}
	return &Token{Name: nameOrID, RevokedAt: &now}, nil
}
