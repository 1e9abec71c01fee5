package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cohort-cdp/cohort/dialects"
)

// Warehouse is a PostgreSQL database.
type Warehouse struct {
	dialects.SQLDB
	cfg *pgx.ConnConfig
}

// Open connects to the database named by cfg.DSN (a postgres:// URL or
// key=value string) and checks that it answers.
func Open(ctx context.Context, cfg dialects.Config) (dialects.Warehouse, error) {
	if cfg.DSN == "" {
		return nil, errors.New("postgres: warehouse.dsn is empty: set it to a postgres:// URL")
	}
	cc, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, &dialects.ConfigError{Err: fmt.Errorf("postgres: warehouse.dsn cannot be parsed: %s", redact(err))}
	}
	// Output tables are dropped and recreated under the same name every run;
	// a statement cached before the swap would fail with "cached plan must not
	// change result type", so statements are not cached per connection.
	cc.DefaultQueryExecMode = pgx.QueryExecModeExec
	db := stdlib.OpenDB(*cc)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: cannot connect to %s:%d database %q as %q: %s", cc.Host, cc.Port, cc.Database, cc.User, redact(err))
	}
	return &Warehouse{SQLDB: dialects.SQLDB{DB: db, D: Dialect{}, DefaultSchm: "public"}, cfg: cc}, nil
}

// ConnConfig is the parsed connection configuration (for COPY through pgx).
func (w *Warehouse) ConnConfig() *pgx.ConnConfig { return w.cfg }

// DB is the database/sql handle.
func (w *Warehouse) SQL() *sql.DB { return w.DB }

// redact keeps the server's message and drops the DSN pgx may echo back.
func redact(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message + " (SQLSTATE " + pe.Code + ")"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Err.Error() + " (is the server running, and are host and port in warehouse.dsn right?)"
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return ce.Unwrap().Error()
	}
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		return "invalid connection string"
	}
	return err.Error()
}
