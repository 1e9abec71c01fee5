package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx" // postgres driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // sqlite driver "sqlite"

	"github.com/cohort-cdp/cohort/migrations"
)

// Store is an open, migrated state store.
type Store struct {
	db       *sqlx.DB
	postgres bool
	clock    func() time.Time // nil: time.Now (tests move it)
	audit    auditQueue
}

// Open opens the state store named in cohort.yaml's `state:` — a SQLite file
// (relative to dir) or a postgres:// URL — and applies pending migrations.
func Open(ctx context.Context, dir, location string) (*Store, error) {
	var (
		db   *sqlx.DB
		err  error
		fsys fs.FS
		gd   goose.Dialect
		pg   = strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
	)
	if pg {
		db, err = sqlx.Open("pgx", location)
		fsys, gd = mustSub(migrations.Postgres, "postgres"), goose.DialectPostgres
	} else {
		path := sqlitePath(dir, location)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("state store: %w", err)
		}
		db, err = sqlx.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		fsys, gd = mustSub(migrations.SQLite, "sqlite"), goose.DialectSQLite3
	}
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state store %s: %w", redact(location), err)
	}
	// concurrent API requests each take a connection (the token, the
	// person's rejections, the audit log): keep them instead of closing all
	// but two, since opening a SQLite connection reads its schema again
	// (0.3-0.4 ms of processor time a look-up at 200 look-ups a second)
	db.SetMaxIdleConns(idleConns)
	p, err := goose.NewProvider(gd, db.DB, fsys)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state store migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state store migrations: %w", err)
	}
	return &Store{db: db, postgres: pg}, nil
}

// idleConns are the connections the store keeps open between requests.
const idleConns = 16

func sqlitePath(dir, location string) string {
	path := location
	if path == "" {
		path = ".cohort/state.db"
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return path
}

// Exists reports whether the state store named by location may hold
// records: a PostgreSQL one always, a SQLite file once created.
func Exists(dir, location string) bool {
	if strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://") {
		return true
	}
	_, err := os.Stat(sqlitePath(dir, location))
	return err == nil
}

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// redact drops a password from a URL-shaped location.
func redact(location string) string {
	if i := strings.Index(location, "@"); i > 0 && strings.Contains(location, "://") {
		return location[:strings.Index(location, "://")+3] + "…" + location[i:]
	}
	return location
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// bind rewrites a query's ? placeholders into the driver's (sqlx.Rebind).
func (s *Store) bind(q string) string { return s.db.Rebind(q) }

func (s *Store) timeArg(t time.Time) any {
	if s.postgres {
		return t.UTC()
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func scanTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return time.Parse(time.RFC3339Nano, t)
	case []byte:
		return time.Parse(time.RFC3339Nano, string(t))
	}
	return time.Time{}, errors.New("state store: unexpected time value")
}
