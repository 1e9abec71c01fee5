// Package fake gives the postgres connector's tests a real destination:
// a fresh database on the test PostgreSQL server, dropped when the test
// ends, in which any table the connector creates is watched. An event
// trigger gives each new table triggers that count the data statements,
// fail the next ones on request with the SQLSTATE a server in that state
// would send (too many connections, starting up, internal error, no
// privilege, statement too large), refuse chosen rows with a check
// violation as an application's own trigger would, and log deleted rows.
// It implements destinationstest.Fake with the DSN as its URL.
package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// AdminDSN is the server tests create their databases on;
// COHORT_TEST_POSTGRES overrides it.
func AdminDSN() string {
	if v := os.Getenv("COHORT_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Server is one test database.
type Server struct {
	t     testing.TB
	dsn   string
	table string // schema.name of the table the connector writes
	key   string // its key column, as Members shows people
}

// New creates a database for this test, watched as described above, for
// the connector writing table (schema.name or name) keyed on key.
func New(t testing.TB, table, key string) *Server {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, AdminDSN())
	if err != nil {
		t.Fatalf("postgres for tests: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "cohort_dest_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		admin.Close(context.Background())
	})
	u := AdminDSN()
	i := strings.LastIndex(u, "/")
	q := ""
	if j := strings.Index(u[i:], "?"); j >= 0 {
		q = u[i+j:]
	}
	if !strings.Contains(table, ".") {
		table = "public." + table
	}
	s := &Server{t: t, dsn: u[:i+1] + name + q, table: table, key: key}
	s.exec(setup)
	s.exec("INSERT INTO fake_log.config VALUES ($1)", key)
	return s
}

const setup = `
CREATE SCHEMA fake_log;
CREATE TABLE fake_log.deleted (row jsonb NOT NULL);
CREATE TABLE fake_log.rejected (k text PRIMARY KEY);
CREATE TABLE fake_log.failing (upto bigint NOT NULL, sqlstate text NOT NULL, message text NOT NULL);
CREATE TABLE fake_log.config (key_column text NOT NULL);
CREATE SEQUENCE fake_log.calls;

-- Every data statement takes a number (a sequence is not rolled back, so
-- failed statements count); the ones up to failing.upto fail.
CREATE FUNCTION fake_log.statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint := nextval('fake_log.calls'); f record;
BEGIN
  SELECT * INTO f FROM fake_log.failing WHERE n <= upto ORDER BY upto LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = f.sqlstate, MESSAGE = f.message;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION fake_log.row_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v_key text := to_jsonb(NEW) ->> (SELECT key_column FROM fake_log.config LIMIT 1);
BEGIN
  IF EXISTS (SELECT 1 FROM fake_log.rejected r WHERE r.k = v_key) THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation',
      MESSAGE = format('new row for relation "%s" violates check constraint "accepted_customer"', TG_TABLE_NAME),
      DETAIL = format('Failing row has %s.', v_key);
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION fake_log.row_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO fake_log.deleted VALUES (to_jsonb(OLD));
  RETURN OLD;
END $$;

CREATE FUNCTION fake_log.watch() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE object_type = 'table' AND schema_name <> 'fake_log' LOOP
    EXECUTE format('CREATE TRIGGER fake_statement BEFORE INSERT OR DELETE ON %s FOR EACH STATEMENT EXECUTE FUNCTION fake_log.statement()', r.object_identity);
    EXECUTE format('CREATE TRIGGER fake_row_check BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION fake_log.row_check()', r.object_identity);
    EXECUTE format('CREATE TRIGGER fake_row_deleted AFTER DELETE ON %s FOR EACH ROW EXECUTE FUNCTION fake_log.row_deleted()', r.object_identity);
  END LOOP;
END $$;
CREATE EVENT TRIGGER fake_watch ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION fake_log.watch();
`

func (s *Server) conn() *pgx.Conn {
	c, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
	return c
}

func (s *Server) exec(sql string, args ...any) {
	c := s.conn()
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
}

// Exec runs a statement in the database, for a test's own setup.
func (s *Server) Exec(sql string, args ...any) { s.exec(sql, args...) }

// URL is the database's DSN, the destination's `dsn`.
func (s *Server) URL() string { return s.dsn }

// DSN is URL under its real name.
func (s *Server) DSN() string { return s.dsn }

// Members is the table: each row under its key column's value, with its
// columns (timestamps as RFC 3339 text in UTC); none when the table does
// not exist yet.
func (s *Server) Members() map[string]map[string]any {
	c := s.conn()
	defer c.Close(context.Background())
	ctx := context.Background()
	var exists bool
	if err := c.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", s.table).Scan(&exists); err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
	out := map[string]map[string]any{}
	if !exists {
		return out
	}
	rows, err := c.Query(ctx, "SELECT * FROM "+pgx.Identifier(strings.SplitN(s.table, ".", 2)).Sanitize())
	if err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
	ms, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
	for _, m := range ms {
		for k, v := range m {
			if tm, ok := v.(time.Time); ok {
				m[k] = tm.UTC().Format(time.RFC3339)
			}
		}
		out[fmt.Sprint(m[s.key])] = m
	}
	return out
}

// Erased lists the key of every row deleted: a removal and an erasure are
// both a DELETE.
func (s *Server) Erased() []string {
	c := s.conn()
	defer c.Close(context.Background())
	rows, err := c.Query(context.Background(), "SELECT row ->> $1 FROM fake_log.deleted", s.key)
	if err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
	ks, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
	return ks
}

// Reject makes the table refuse rows keyed k, as a check constraint or an
// application's trigger would.
func (s *Server) Reject(k string) {
	s.exec("INSERT INTO fake_log.rejected VALUES ($1) ON CONFLICT DO NOTHING", k)
}

// sqlstates are what a server sends in the situation an HTTP status names.
var sqlstates = map[int][2]string{
	429: {"53300", "sorry, too many clients already"},
	503: {"57P03", "the database system is starting up"},
	500: {"XX000", "internal error"},
	401: {"28P01", `password authentication failed for user "cohort"`},
	403: {"42501", "permission denied for table"},
	413: {"54000", "statement is too large"},
}

// Fail makes the next n data statements fail as a server would in the
// situation status names (429: out of connections, 503: starting up, 500:
// internal error, 401: bad password, 403: no privilege, 413: too large).
func (s *Server) Fail(n, status int) {
	st, ok := sqlstates[status]
	if !ok {
		st = sqlstates[500]
	}
	c := s.conn()
	defer c.Close(context.Background())
	var last int64
	if err := c.QueryRow(context.Background(), "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM fake_log.calls").Scan(&last); err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
	if _, err := c.Exec(context.Background(), "INSERT INTO fake_log.failing VALUES ($1, $2, $3)", last+int64(n), st[0], st[1]); err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
}

// Requests counts the data statements (inserts and deletes), failed or not.
func (s *Server) Requests() int {
	c := s.conn()
	defer c.Close(context.Background())
	var n int64
	if err := c.QueryRow(context.Background(), "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM fake_log.calls").Scan(&n); err != nil {
		s.t.Fatalf("fake postgres: %v", err)
	}
	return int(n)
}
