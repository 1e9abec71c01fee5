package dialects

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// SQLDB is the part of a Warehouse shared by every database/sql driver.
// Dialect packages embed it and add what differs.
type SQLDB struct {
	DB          *sql.DB
	D           Dialect
	DefaultSchm string // schema of unqualified table names
	conn        *sql.Conn
}

// runner is what a statement runs on: the pool, or one pinned connection.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

func (w *SQLDB) on() runner {
	if w.conn != nil {
		return w.conn
	}
	return w.DB
}

// Pin returns the warehouse on one connection of the pool, so that session
// settings made through it hold for every statement after them; release
// gives the connection back. A statement must not run while the rows of a
// query on it are still open.
func (w *SQLDB) Pin(ctx context.Context) (Warehouse, func(), error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	p := *w
	p.conn = conn
	return &p, func() { _ = conn.Close() }, nil
}

func (w *SQLDB) Dialect() Dialect { return w.D }

func (w *SQLDB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := w.on().ExecContext(ctx, query, args...)
	return err
}

func (w *SQLDB) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := w.on().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (w *SQLDB) InTx(ctx context.Context, statements []string) error {
	tx, err := w.on().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, s := range statements {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			_ = tx.Rollback()
			return &StatementError{SQL: s, Err: err}
		}
	}
	return tx.Commit()
}

func (w *SQLDB) Columns(ctx context.Context, table string) ([]Column, error) {
	schema, name := SplitTable(table)
	if schema == "" {
		schema = w.DefaultSchm
	}
	q := Bind(w.D, `SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`)
	rows, err := w.on().QueryContext(ctx, q, schema, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []Column
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s: %w", table, ErrNoTable)
	}
	return cols, nil
}

func (w *SQLDB) Tables(ctx context.Context, schema, marker string) ([]Table, error) {
	q := Bind(w.D, `SELECT table_name, table_type = 'VIEW' FROM information_schema.tables WHERE table_schema = ?`)
	rows, err := w.on().QueryContext(ctx, q, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var t Table
		if err := rows.Scan(&t.Name, &t.View); err != nil {
			return nil, err
		}
		if strings.Contains(t.Name, marker) {
			out = append(out, t)
		}
	}
	return out, rows.Err()
}

func (w *SQLDB) QueryColumns(ctx context.Context, query string) ([]Column, error) {
	rows, err := w.on().QueryContext(ctx, "SELECT * FROM ("+strings.TrimRight(strings.TrimSpace(query), ";")+") q LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	cols := make([]Column, len(types))
	for i, t := range types {
		cols[i] = Column{Name: t.Name(), Type: strings.ToLower(t.DatabaseTypeName())}
	}
	return cols, nil
}

// Close closes the pool; on a pinned warehouse, only gives the connection back.
func (w *SQLDB) Close() error {
	if w.conn != nil {
		return w.conn.Close()
	}
	return w.DB.Close()
}
