package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cohort-cdp/cohort/dialects"
)

// Warehouse is an open DuckDB database file.
type Warehouse struct {
	dialects.SQLDB
	Connector *duckdb.Connector // for the appender
	// stmts keeps the prepared statements of a file opened read-only, where
	// no table can change under them while it is open.
	stmts *statements
}

// Open opens (creating if needed) the DuckDB file named by cfg.Path, relative
// to cfg.Dir. An empty path opens an in-memory database.
func Open(ctx context.Context, cfg dialects.Config) (dialects.Warehouse, error) {
	path := cfg.Path
	if path != "" && path != ":memory:" && !filepath.IsAbs(path) {
		path = filepath.Join(cfg.Dir, path)
	}
	if path != "" && path != ":memory:" && (cfg.MustExist || cfg.ReadOnly) {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("duckdb: the warehouse file %s does not exist (warehouse.path in cohort.yaml): `cohort run` or `cohort init --demo` creates it; validate and the read commands never do", path)
		}
	}
	if path != "" && path != ":memory:" && !cfg.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("duckdb: create folder for %s: %w", path, err)
		}
	}
	if path == ":memory:" {
		path = ""
	}
	q := url.Values{}
	if cfg.MemoryLimit != "" {
		q.Set("memory_limit", cfg.MemoryLimit)
	}
	if cfg.Threads > 0 {
		q.Set("threads", strconv.Itoa(cfg.Threads))
	}
	if cfg.ReadOnly && path != "" {
		// a shared lock: other processes may read the file too, none may write
		q.Set("access_mode", "read_only")
	}
	dsn := path
	if len(q) > 0 {
		dsn += "?" + q.Encode()
	}
	conn, err := duckdb.NewConnector(dsn, nil)
	if err != nil { // the file lock is taken here, not at the first query
		return nil, openError(path, err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, openError(path, err)
	}
	// Memory the buffer manager has touched once is kept for its next
	// blocks instead of going back to the system: on a virtual machine a
	// first-touched page costs a fault, and a run of many large statements
	// paid it again in each (10M-link identity benchmark: 15-17 s instead
	// of 18-20 s). The process keeps its peak working memory, at most 80%
	// of memory_limit, until it exits. The setting cannot shrink: a second
	// Open of the same database after memory_limit was lowered keeps the
	// larger one, which is why its error is not one to report. A process
	// asked to stay small (cfg.SmallMemory: a sync) keeps no such cache (at
	// a 32 MB limit it would be a quarter of the sync's memory), and its
	// allocator hands freed memory back after each task of more than 4 MB
	// instead of 128 MB.
	if !cfg.SmallMemory {
		_, _ = db.ExecContext(ctx, "SET block_allocator_memory = '80%'")
	} else {
		for _, st := range []string{"SET allocator_flush_threshold = '4MB'", "SET allocator_bulk_deallocation_flush_threshold = '4MB'"} {
			if _, err := db.ExecContext(ctx, st); err != nil {
				db.Close()
				return nil, fmt.Errorf("duckdb: %s: %w", st, err)
			}
		}
	}
	w := &Warehouse{SQLDB: dialects.SQLDB{DB: db, D: Dialect{}, DefaultSchm: "main"}, Connector: conn}
	if cfg.ReadOnly {
		// concurrent reads (the API's look-ups) each take a connection: keep
		// them and their prepared statements instead of closing all but two
		db.SetMaxIdleConns(readConns)
		w.stmts = &statements{db: db, byQuery: map[string]*sql.Stmt{}}
	}
	return w, nil
}

// Query runs a query with arguments on a read-only file through a prepared
// statement kept for the next time: parsing, binding and planning cost a
// point query (the profile look-up's) as much as reading its rows.
func (w *Warehouse) Query(ctx context.Context, query string, args ...any) (dialects.Rows, error) {
	if w.stmts == nil || len(args) == 0 {
		return w.SQLDB.Query(ctx, query, args...)
	}
	st, err := w.stmts.get(ctx, query)
	if err != nil { // the statement's own error, as the unprepared query says it
		return w.SQLDB.Query(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// Prepare parses and plans query once: a statement run many times (a
// sync's acknowledgements, 2,000 INSERTs of 500 rows for a million
// members) otherwise pays DuckDB 2.0's parser and planner each time. Those
// 2,000 took 5.7-7.1 s of processor time unprepared, 4.1-5.0 s prepared
// (DuckDB 1.5.6, unprepared: 4.4-4.8 s).
func (w *Warehouse) Prepare(ctx context.Context, query string) (dialects.Statement, error) {
	st, err := w.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return prepared{st}, nil
}

type prepared struct{ st *sql.Stmt }

func (p prepared) Exec(ctx context.Context, args ...any) error {
	_, err := p.st.ExecContext(ctx, args...)
	return err
}

func (p prepared) Close() error { return p.st.Close() }

// Close closes the kept statements, then the database.
func (w *Warehouse) Close() error {
	if w.stmts != nil {
		w.stmts.close()
	}
	return w.SQLDB.Close()
}

const (
	readConns = 8   // idle connections a read-only file keeps
	keptStmts = 256 // prepared statements it keeps, the oldest let go first
)

// statements are prepared statements by their text, at most keptStmts.
type statements struct {
	db      *sql.DB
	mu      sync.Mutex
	byQuery map[string]*sql.Stmt
	order   []string // oldest first
}

func (s *statements) get(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st, ok := s.byQuery[query]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if kept, ok := s.byQuery[query]; ok { // prepared meanwhile by another request
		_ = st.Close()
		return kept, nil
	}
	if len(s.order) == keptStmts {
		// a statement in use finishes first: database/sql closes it after
		_ = s.byQuery[s.order[0]].Close()
		delete(s.byQuery, s.order[0])
		s.order = s.order[1:]
	}
	s.byQuery[query] = st
	s.order = append(s.order, query)
	return st, nil
}

func (s *statements) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.byQuery {
		_ = st.Close()
	}
	s.byQuery, s.order = map[string]*sql.Stmt{}, nil
}

var lockHolder = regexp.MustCompile(`\(PID (\d+)\)`)

// openError explains DuckDB's file lock: one process at a time may open a
// database file for writing.
func openError(path string, err error) error {
	if !strings.Contains(err.Error(), "Could not set lock") {
		return fmt.Errorf("duckdb: open %s: %w", displayPath(path), err)
	}
	who := "another process"
	if m := lockHolder.FindStringSubmatch(err.Error()); m != nil {
		who += " (PID " + m[1] + ")"
	}
	return fmt.Errorf("duckdb: the warehouse %s is in use by %s: DuckDB lets one process open its file, and `cohort run` (or `cohort serve`) keeps it open for as long as it works; try again when it has finished", displayPath(path), who)
}

func displayPath(p string) string {
	if p == "" {
		return "in-memory database"
	}
	return p
}
