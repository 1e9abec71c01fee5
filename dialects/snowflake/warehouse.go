package snowflake

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	sf "github.com/snowflakedb/gosnowflake"

	"github.com/cohort-cdp/cohort/dialects"
)

// DefaultQueryTag labels Cohort's statements in QUERY_HISTORY when the
// project names no other.
const DefaultQueryTag = "cohort"

// Warehouse is a Snowflake database.
type Warehouse struct {
	dialects.SQLDB
}

// Open connects with cfg.DSN (user[:password]@account/database/schema?...)
// or, without one, with key-pair authentication (account, user,
// private_key_path); warehouse, role and database settings override the
// DSN's. Every statement carries the query tag.
func Open(ctx context.Context, cfg dialects.Config) (dialects.Warehouse, error) {
	sc, err := Settings(cfg)
	if err != nil {
		return nil, err
	}
	conn := sf.NewConnector(sf.SnowflakeDriver{}, *sc)
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("snowflake: cannot connect to account %q as %q: %v (check warehouse.dsn or account, user and private_key_path)", sc.Account, sc.User, redact(err, sc.Password))
	}
	schema := "PUBLIC"
	if sc.Schema != "" {
		schema = sc.Schema
	}
	return &Warehouse{SQLDB: dialects.SQLDB{DB: db, D: Dialect{}, DefaultSchm: Unfold(schema)}}, nil
}

// Settings is the driver configuration cfg describes.
func Settings(cfg dialects.Config) (*sf.Config, error) {
	var sc *sf.Config
	if cfg.DSN != "" {
		c, err := sf.ParseDSN(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("snowflake: warehouse.dsn cannot be parsed: %v (write user:password@account/database/schema?warehouse=W&role=R)", redact(err, ""))
		}
		sc = c
	} else {
		if cfg.Account == "" || cfg.User == "" {
			return nil, errors.New("snowflake: set warehouse.dsn, or account, user and private_key_path for key-pair authentication")
		}
		sc = &sf.Config{Account: cfg.Account, User: cfg.User}
	}
	if cfg.PrivateKeyPath != "" {
		key, err := readKey(cfg.Dir, cfg.PrivateKeyPath)
		if err != nil {
			return nil, err
		}
		sc.PrivateKey, sc.Authenticator = key, sf.AuthTypeJwt
	}
	if cfg.Compute != "" {
		sc.Warehouse = cfg.Compute
	}
	if cfg.Role != "" {
		sc.Role = cfg.Role
	}
	if cfg.Database != "" {
		sc.Database = cfg.Database
	}
	if sc.Params == nil {
		sc.Params = map[string]*string{}
	}
	tag := cfg.QueryTag
	if tag == "" {
		tag = DefaultQueryTag
	}
	sc.Params["query_tag"] = &tag
	// Timestamps are naive wall-clock UTC on every dialect; the session's
	// zone must not shift them.
	utc := "UTC"
	sc.Params["timezone"] = &utc
	return sc, nil
}

func readKey(dir, path string) (*rsa.PrivateKey, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("snowflake: private_key_path: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("snowflake: private_key_path %s holds no PEM block (want an unencrypted PKCS#8 key: openssl pkcs8 -topk8 -nocrypt)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k1, err1 := x509.ParsePKCS1PrivateKey(block.Bytes); err1 == nil {
			return k1, nil
		}
		return nil, fmt.Errorf("snowflake: private_key_path %s: %v (want an unencrypted PKCS#8 RSA key)", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("snowflake: private_key_path %s is not an RSA key", path)
	}
	return rk, nil
}

// redact drops a password the driver may echo back.
func redact(err error, password string) string {
	s := err.Error()
	if password != "" {
		s = strings.ReplaceAll(s, password, "***")
	}
	return s
}

// args binds a slice (ArrayRows) as JSON text, which the statement parses.
func args(in []any) []any {
	var out []any
	for i, a := range in {
		switch a.(type) {
		case []string, []int64:
			if out == nil {
				out = append([]any(nil), in...)
			}
			b, _ := json.Marshal(a)
			out[i] = string(b)
		}
	}
	if out == nil {
		return in
	}
	return out
}

func (w *Warehouse) Exec(ctx context.Context, query string, a ...any) error {
	return w.SQLDB.Exec(ctx, query, args(a)...)
}

func (w *Warehouse) Query(ctx context.Context, query string, a ...any) (dialects.Rows, error) {
	r, err := w.SQLDB.Query(ctx, query, args(a)...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

// rows gives column names as Cohort knows them (see Unfold).
type rows struct{ dialects.Rows }

func (r rows) Columns() ([]string, error) {
	c, err := r.Rows.Columns()
	for i := range c {
		c[i] = Unfold(c[i])
	}
	return c, err
}

// Pin keeps the folding of names on the pinned connection.
func (w *Warehouse) Pin(ctx context.Context) (dialects.Warehouse, func(), error) {
	p, release, err := w.SQLDB.Pin(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &Warehouse{SQLDB: *p.(*dialects.SQLDB)}, release, nil
}

func (w *Warehouse) Columns(ctx context.Context, table string) ([]dialects.Column, error) {
	schema, name := dialects.SplitTable(table)
	if schema == "" {
		schema = w.DefaultSchm
	}
	cols, err := w.SQLDB.Columns(ctx, Ident(schema)+"."+Ident(name))
	if errors.Is(err, dialects.ErrNoTable) {
		return nil, fmt.Errorf("%s: %w", table, dialects.ErrNoTable)
	}
	for i := range cols {
		cols[i].Name = Unfold(cols[i].Name)
		cols[i].Type = strings.ToLower(cols[i].Type)
	}
	return cols, err
}

func (w *Warehouse) Tables(ctx context.Context, schema, marker string) ([]dialects.Table, error) {
	all, err := w.SQLDB.Tables(ctx, Ident(schema), "")
	if err != nil {
		return nil, err
	}
	var out []dialects.Table
	for _, t := range all {
		t.Name = Unfold(t.Name)
		if strings.Contains(t.Name, marker) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (w *Warehouse) QueryColumns(ctx context.Context, query string) ([]dialects.Column, error) {
	cols, err := w.SQLDB.QueryColumns(ctx, query)
	for i := range cols {
		cols[i].Name = Unfold(cols[i].Name)
	}
	return cols, err
}
