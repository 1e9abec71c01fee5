package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// client is the connection pool to the destination database, made on
// first use.
type client struct {
	cfg *pgxpool.Config

	once sync.Once
	pool *pgxpool.Pool
	err  error

	mu    sync.Mutex
	types map[string]string // schema.table.column → its SQL type
}

func newClient(dsn string, conns int) (*client, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the password: it is not repeated.
		return nil, fmt.Errorf("dsn: cannot parse the connection string (write it as postgres://user:password@host:5432/db)")
	}
	cfg.MaxConns = int32(max(conns, 1))
	cfg.ConnConfig.RuntimeParams["application_name"] = "cohort"
	return &client{cfg: cfg, types: map[string]string{}}, nil
}

func (c *client) get(ctx context.Context) (*pgxpool.Pool, error) {
	c.once.Do(func() { c.pool, c.err = pgxpool.NewWithConfig(ctx, c.cfg) })
	return c.pool, c.err
}

func (c *client) close() {
	if c.pool != nil {
		c.pool.Close()
	}
}

func (c *client) exec(ctx context.Context, sql string, args ...any) error {
	p, err := c.get(ctx)
	if err != nil {
		return err
	}
	_, err = p.Exec(ctx, sql, args...)
	return err
}

// oneByOne runs the statement for each record on its own, in one
// transaction with a savepoint per record, and returns per record the
// server's message when it refused it ("" when written).
func (c *client) oneByOne(ctx context.Context, st statement, recs []*destinations.Record) ([]string, error) {
	p, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	reasons := make([]string, len(recs))
	err = pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error {
		for i := range recs {
			sp, err := tx.Begin(ctx)
			if err != nil {
				return err
			}
			_, err = sp.Exec(ctx, st.sql, st.args(recs[i:i+1])...)
			if err == nil {
				if err := sp.Commit(ctx); err != nil {
					return err
				}
				continue
			}
			if !perRecord(err) {
				return err
			}
			reasons[i] = "PostgreSQL: " + classify(err).Error()
			if err := sp.Rollback(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	return reasons, err
}

// columns lists the table's columns (none when it does not exist) and
// remembers their types.
func (c *client) columns(ctx context.Context, schema, table string) (map[string]bool, error) {
	p, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := p.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = $1 AND t.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		out[name] = true
		c.types[schema+"."+table+"."+name] = typ
	}
	return out, rows.Err()
}

func (c *client) typeOf(schema, table, col string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.types[schema+"."+table+"."+col]
}

func (c *client) tableExists(ctx context.Context, schema, table string) (bool, error) {
	p, err := c.get(ctx)
	if err != nil {
		return false, err
	}
	var ok bool
	err = p.QueryRow(ctx, `SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL`, schema, table).Scan(&ok)
	return ok, err
}

func (c *client) canWrite(ctx context.Context, schema, table string, exists bool) (bool, error) {
	p, err := c.get(ctx)
	if err != nil {
		return false, err
	}
	var ok bool
	if exists {
		err = p.QueryRow(ctx, `SELECT has_table_privilege(format('%I.%I', $1::text, $2::text), 'INSERT, UPDATE, DELETE')`, schema, table).Scan(&ok)
	} else {
		err = p.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AND has_schema_privilege($1, 'CREATE')`, schema).Scan(&ok)
	}
	return ok, err
}

// ident quotes an identifier.
func ident(s string) string { return pgx.Identifier{s}.Sanitize() }
