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

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cohort-cdp/cohort/dialects"
)

// Warehouse is an open DuckDB database file.
type Warehouse struct {
	dialects.SQLDB
	Connector *duckdb.Connector // for the appender
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
	// larger one, which is why its error is not one to report.
	_, _ = db.ExecContext(ctx, "SET block_allocator_memory = '80%'")
	return &Warehouse{SQLDB: dialects.SQLDB{DB: db, D: Dialect{}, DefaultSchm: "main"}, Connector: conn}, nil
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
