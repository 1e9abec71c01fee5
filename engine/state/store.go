package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // postgres driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // sqlite driver "sqlite"

	"github.com/cohort-cdp/cohort/migrations"
)

// Store is an open, migrated state store.
type Store struct {
	db       *sql.DB
	postgres bool
	clock    func() time.Time // nil: time.Now (tests move it)
}

// Open opens the state store named in cohort.yaml's `state:` — a SQLite file
// (relative to dir) or a postgres:// URL — and applies pending migrations.
func Open(ctx context.Context, dir, location string) (*Store, error) {
	var (
		db   *sql.DB
		err  error
		fsys fs.FS
		gd   goose.Dialect
		pg   = strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
	)
	if pg {
		db, err = sql.Open("pgx", location)
		fsys, gd = mustSub(migrations.Postgres, "postgres"), goose.DialectPostgres
	} else {
		path := location
		if path == "" {
			path = ".cohort/state.db"
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("state store: %w", err)
		}
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		fsys, gd = mustSub(migrations.SQLite, "sqlite"), goose.DialectSQLite3
	}
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state store %s: %w", redact(location), err)
	}
	p, err := goose.NewProvider(gd, db, fsys)
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

// StepRecord is one step of a run as recorded.
type StepRecord struct {
	Name      string           `json:"name"`
	StartedAt time.Time        `json:"started_at"`
	Seconds   float64          `json:"seconds"`
	Rows      map[string]int64 `json:"rows,omitempty"`
	Details   []string         `json:"details,omitempty"`
	Error     string           `json:"error,omitempty"`
}

// Run is one recorded `cohort run`.
type Run struct {
	ID         string       `json:"id"`
	Project    string       `json:"project"`
	Warehouse  string       `json:"warehouse"`
	Only       string       `json:"only,omitempty"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt *time.Time   `json:"finished_at,omitempty"`
	Status     string       `json:"status"`
	Error      string       `json:"error,omitempty"`
	FailedStep string       `json:"failed_step,omitempty"`
	Steps      []StepRecord `json:"steps"`
}

// Run statuses.
const (
	Running   = "running"
	Succeeded = "succeeded"
	Failed    = "failed"
	Cancelled = "cancelled" // stopped by a signal (or its caller); what it built was dropped
)

// Abandoned starts the error of a run whose process ended without
// recording how (killed, crashed, machine lost); its status is Failed.
const Abandoned = "abandoned"

// AbandonRuns marks every run of project still recorded as running, other
// than except, as failed (abandoned), and returns their ids. Call it only
// while holding the project's lease: then no other run of it is live.
func (s *Store) AbandonRuns(ctx context.Context, project, except string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT id FROM runs WHERE project = ? AND status = ? AND id <> ?`), project, Running, except)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range ids {
		_, err := s.db.ExecContext(ctx, s.bind(`UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = ?`),
			Failed, Abandoned+": the process running it ended without recording how (killed, crashed or cut off)", s.timeArg(s.now()), id, Running)
		if err != nil {
			return nil, fmt.Errorf("state store: %w", err)
		}
	}
	return ids, nil
}

// RunIDs lists the ids of every recorded run of project.
func (s *Store) RunIDs(ctx context.Context, project string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT id FROM runs WHERE project = ?`), project)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

func (s *Store) bind(q string) string {
	if !s.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) timeArg(t time.Time) any {
	if s.postgres {
		return t.UTC()
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// StartRun records a run as running.
func (s *Store) StartRun(ctx context.Context, r *Run) error {
	r.Status = Running
	_, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO runs (id, project, warehouse, only_part, started_at, status)
VALUES (?, ?, ?, ?, ?, ?)`), r.ID, r.Project, r.Warehouse, r.Only, s.timeArg(r.StartedAt), r.Status)
	if err != nil {
		return fmt.Errorf("state store: record run: %w", err)
	}
	return nil
}

// FinishRun records how a run ended, with its steps.
func (s *Store) FinishRun(ctx context.Context, r *Run) error {
	steps, err := json.Marshal(r.Steps)
	if err != nil {
		return err
	}
	fin := time.Now()
	if r.FinishedAt != nil {
		fin = *r.FinishedAt
	}
	_, err = s.db.ExecContext(ctx, s.bind(`UPDATE runs SET finished_at = ?, status = ?, error = ?, failed_step = ?, steps = ?
WHERE id = ?`), s.timeArg(fin), r.Status, r.Error, r.FailedStep, string(steps), r.ID)
	if err != nil {
		return fmt.Errorf("state store: record run: %w", err)
	}
	return nil
}

// Runs lists the most recent runs, newest first.
func (s *Store) Runs(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(`SELECT id, project, warehouse, only_part, started_at, finished_at, status, error, failed_step, steps
FROM runs ORDER BY started_at DESC LIMIT ?`), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var (
			r        Run
			started  any
			finished any
			steps    []byte
		)
		if err := rows.Scan(&r.ID, &r.Project, &r.Warehouse, &r.Only, &started, &finished, &r.Status, &r.Error, &r.FailedStep, &steps); err != nil {
			return nil, err
		}
		if r.StartedAt, err = scanTime(started); err != nil {
			return nil, err
		}
		if finished != nil {
			t, err := scanTime(finished)
			if err != nil {
				return nil, err
			}
			r.FinishedAt = &t
		}
		if err := json.Unmarshal(steps, &r.Steps); err != nil {
			return nil, fmt.Errorf("state store: run %s steps: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
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
