package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Bookkeeping columns the connector adds to a table it creates: who the
// row is in Cohort and when Cohort last wrote it.
const (
	ProfileColumn = "cohort_profile_id"
	SyncedColumn  = "cohort_synced_at"
)

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

type destination struct {
	c      *client
	schema string
	table  string
	types  map[string]string // column_types

	mu      sync.Mutex
	columns map[string]bool // the table's columns, once known
}

// Open makes a PostgreSQL table destination from its config. It connects
// on the first write.
func Open(cfg destinations.Config) (destinations.Destination, error) {
	schema, table, err := splitTable(cfg.String("table"))
	if err != nil {
		return nil, err
	}
	types := cfg.Map("column_types")
	for col, typ := range types {
		if !identRe.MatchString(col) {
			return nil, fmt.Errorf("column_types: %q is not a column name (%s)", col, Spec.Custom.Description)
		}
		if !typeRe.MatchString(typ) {
			return nil, fmt.Errorf("column_types.%s: %q is not a PostgreSQL type name such as numeric(12,2) or timestamptz", col, typ)
		}
	}
	c, err := newClient(cfg.String("dsn"), Spec.Limits.Concurrency)
	if err != nil {
		return nil, err
	}
	return &destination{c: c, schema: schema, table: table, types: types}, nil
}

var typeRe = regexp.MustCompile(`^[a-z][a-z0-9_ ]*(\(\d+(,\s*\d+)?\))?(\[\])?$`)

func splitTable(s string) (string, string, error) {
	schema, table := "public", s
	if i := strings.IndexByte(s, '.'); i >= 0 {
		schema, table = s[:i], s[i+1:]
	}
	if !identRe.MatchString(schema) || !identRe.MatchString(table) {
		return "", "", fmt.Errorf("table %q is not name or schema.name of lower-case letters, digits and _", s)
	}
	return schema, table, nil
}

// Close closes the connection pool.
func (d *destination) Close() error {
	d.c.close()
	return nil
}

// Write upserts (or deletes, for a batch of removals) the batch's people in
// one statement. When the database refuses a value (a type, a constraint,
// a trigger of the application), the batch is written again one row at a
// time in one transaction, so that only the refused rows are rejected,
// with the server's message, and the others are kept.
func (d *destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	keys := keyColumns(b)
	var recs []*destinations.Record
	var idx []int
	for i := range b.Records {
		r := &b.Records[i]
		if err := checkKey(r, keys); err != nil {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: err.Error()}
			continue
		}
		recs = append(recs, r)
		idx = append(idx, i)
	}
	if len(recs) == 0 {
		return res, nil
	}
	var st statement
	if b.Removals() {
		exists, err := d.load(ctx)
		if err != nil {
			return destinations.Result{}, classify(err)
		}
		if !exists {
			return res, nil // nobody to take out
		}
		st = d.deleteStatement(keys)
	} else {
		cols, err := d.ensure(ctx, keys, recs)
		if err != nil {
			return destinations.Result{}, classify(err)
		}
		st = d.upsertStatement(keys, cols, b.Mode)
	}
	err := d.c.exec(ctx, st.sql, st.args(recs)...)
	if err == nil {
		return res, nil
	}
	if !perRecord(err) {
		return destinations.Result{}, classify(err)
	}
	reasons, err := d.c.oneByOne(ctx, st, recs)
	if err != nil {
		return destinations.Result{}, classify(err)
	}
	for j, reason := range reasons {
		if reason != "" {
			res.Records[idx[j]] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: reason}
		}
	}
	return res, nil
}

// Erase deletes the people's rows.
func (d *destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return d.Write(ctx, destinations.AsRemovals(b))
}

// Check connects and makes sure the table can be written, or created.
func (d *destination) Check(ctx context.Context) error {
	where := fmt.Sprintf("PostgreSQL table %s.%s", d.schema, d.table)
	exists, err := d.c.tableExists(ctx, d.schema, d.table)
	if err != nil {
		return fmt.Errorf("%s: %w", where, classify(err))
	}
	ok, err := d.c.canWrite(ctx, d.schema, d.table, exists)
	if err != nil {
		return fmt.Errorf("%s: %w", where, classify(err))
	}
	if !ok && exists {
		return fmt.Errorf("%s: the user may not INSERT, UPDATE and DELETE there: GRANT them, or name another table", where)
	}
	if !ok {
		return fmt.Errorf("%s does not exist and the user may not create tables in schema %s (or it does not exist): GRANT CREATE ON SCHEMA %s, or create the table", where, d.schema, d.schema)
	}
	return nil
}

// keyColumns are the batch's match keys, sorted.
func keyColumns(b *destinations.Batch) []string {
	seen := map[string]bool{}
	for _, r := range b.Records {
		for k := range r.Key {
			seen[k] = true
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkKey(r *destinations.Record, keys []string) error {
	for _, k := range keys {
		if !identRe.MatchString(k) {
			return fmt.Errorf("match key %q is not a column name (%s)", k, Spec.Custom.Description)
		}
		if r.Key[k] == "" {
			return fmt.Errorf("no value for the key column %s: the row could not be found again", k)
		}
	}
	for f := range r.Fields {
		if !identRe.MatchString(f) || f == ProfileColumn || f == SyncedColumn {
			return fmt.Errorf("field %q is not a column this connector can write (%s; %s and %s are its own)", f, Spec.Custom.Description, ProfileColumn, SyncedColumn)
		}
	}
	return nil
}

// load reads the table's columns once; it reports whether the table exists.
func (d *destination) load(ctx context.Context) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.columns) == 0 {
		have, err := d.c.columns(ctx, d.schema, d.table)
		if err != nil {
			return false, err
		}
		d.columns = have
	}
	return len(d.columns) > 0, nil
}

// ensure creates the table, or the columns it lacks, and returns the field
// columns to write, sorted (key columns excluded).
func (d *destination) ensure(ctx context.Context, keys []string, recs []*destinations.Record) ([]string, error) {
	fields := map[string]bool{}
	for _, r := range recs {
		for f := range r.Fields {
			if !contains(keys, f) {
				fields[f] = true
			}
		}
	}
	cols := make([]string, 0, len(fields))
	for f := range fields {
		cols = append(cols, f)
	}
	sort.Strings(cols)

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.columns == nil || len(d.columns) == 0 {
		have, err := d.c.columns(ctx, d.schema, d.table)
		if err != nil {
			return nil, err
		}
		if len(have) == 0 {
			if err := d.c.exec(ctx, d.createSQL(keys, cols, recs)); err != nil {
				return nil, err
			}
			have, err = d.c.columns(ctx, d.schema, d.table)
			if err != nil {
				return nil, err
			}
		}
		d.columns = have
	}
	for _, k := range keys {
		if !d.columns[k] {
			return nil, fmt.Errorf("table %s.%s has no key column %s: the sync's match must name columns of its primary key", d.schema, d.table, k)
		}
	}
	var add []string
	for _, c := range cols {
		if !d.columns[c] {
			add = append(add, fmt.Sprintf("ADD COLUMN IF NOT EXISTS %s %s", ident(c), d.columnType(c, recs)))
		}
	}
	if len(add) > 0 {
		if err := d.c.exec(ctx, "ALTER TABLE "+d.qualified()+" "+strings.Join(add, ", ")); err != nil {
			return nil, err
		}
		have, err := d.c.columns(ctx, d.schema, d.table)
		if err != nil {
			return nil, err
		}
		d.columns = have
	}
	return cols, nil
}

func (d *destination) qualified() string { return ident(d.schema) + "." + ident(d.table) }

func (d *destination) createSQL(keys, cols []string, recs []*destinations.Record) string {
	var defs []string
	for _, k := range keys {
		defs = append(defs, ident(k)+" text NOT NULL")
	}
	for _, c := range cols {
		defs = append(defs, ident(c)+" "+d.columnType(c, recs))
	}
	defs = append(defs, ProfileColumn+" text", SyncedColumn+" timestamptz NOT NULL DEFAULT now()")
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = ident(k)
	}
	defs = append(defs, "PRIMARY KEY ("+strings.Join(quoted, ", ")+")")
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  %s\n)", d.qualified(), strings.Join(defs, ",\n  "))
}

// columnType is column_types' word for c, else the type of the first value
// the batch has for it: bigint, double precision, boolean, timestamptz for
// RFC 3339 text, date for 2006-01-02 text, text for anything else.
func (d *destination) columnType(c string, recs []*destinations.Record) string {
	if t, ok := d.types[c]; ok {
		return t
	}
	for _, r := range recs {
		switch v := r.Fields[c].(type) {
		case nil:
			continue
		case int64, int32, int:
			return "bigint"
		case float64, float32:
			return "double precision"
		case bool:
			return "boolean"
		case time.Time:
			return "timestamptz"
		case string:
			if _, err := time.Parse(time.RFC3339, v); err == nil {
				return "timestamptz"
			}
			if _, err := time.Parse("2006-01-02", v); err == nil {
				return "date"
			}
			return "text"
		}
		return "text"
	}
	return "text"
}

// statement is one SQL statement over arrays: one array per column, so a
// batch of any size is one statement with few parameters.
type statement struct {
	sql      string
	cols     []string // key columns, then field columns: the array order
	keys     int
	profiles bool // the profile ids go last
}

func (s statement) args(recs []*destinations.Record) []any {
	out := make([]any, len(s.cols), len(s.cols)+1)
	for i, c := range s.cols {
		a := make([]*string, len(recs))
		for j, r := range recs {
			if i < s.keys {
				v := r.Key[c]
				a[j] = &v
			} else {
				a[j] = text(r.Fields[c])
			}
		}
		out[i] = a
	}
	if s.profiles {
		profiles := make([]string, len(recs))
		for j, r := range recs {
			profiles[j] = r.ProfileID
		}
		out = append(out, profiles)
	}
	return out
}

// text is a value as PostgreSQL reads it from text; nil stays NULL.
func text(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		s = x.UTC().Format(time.RFC3339Nano)
	default:
		s = fmt.Sprint(x)
	}
	return &s
}

func (d *destination) upsertStatement(keys, cols []string, mode destinations.Mode) statement {
	all := append(append([]string(nil), keys...), cols...)
	var names, unnest, sel, set []string
	for i, c := range all {
		names = append(names, ident(c))
		unnest = append(unnest, fmt.Sprintf("$%d::text[]", i+1))
		sel = append(sel, fmt.Sprintf("u.c%d::%s", i, d.castType(c)))
		if i >= len(keys) {
			set = append(set, fmt.Sprintf("%s = EXCLUDED.%s", ident(c), ident(c)))
		}
	}
	aliases := make([]string, len(all)+1)
	for i := range all {
		aliases[i] = fmt.Sprintf("c%d", i)
	}
	aliases[len(all)] = "p"
	unnest = append(unnest, fmt.Sprintf("$%d::text[]", len(all)+1))
	set = append(set, ProfileColumn+" = EXCLUDED."+ProfileColumn, SyncedColumn+" = now()")
	quotedKeys := names[:len(keys)]
	conflict := "DO UPDATE SET " + strings.Join(set, ", ")
	if mode == destinations.Insert {
		conflict = "DO NOTHING"
	}
	sql := fmt.Sprintf("INSERT INTO %s (%s, %s, %s)\nSELECT %s, u.p, now() FROM unnest(%s) AS u(%s)\nON CONFLICT (%s) %s",
		d.qualified(), strings.Join(names, ", "), ProfileColumn, SyncedColumn,
		strings.Join(sel, ", "), strings.Join(unnest, ", "), strings.Join(aliases, ", "),
		strings.Join(quotedKeys, ", "), conflict)
	return statement{sql: sql, cols: all, keys: len(keys), profiles: true}
}

// castType is the column's type for the cast from text: the table's own.
func (d *destination) castType(c string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.c.typeOf(d.schema, d.table, c); t != "" {
		return t
	}
	return "text"
}

func (d *destination) deleteStatement(keys []string) statement {
	names := make([]string, len(keys))
	unnest := make([]string, len(keys))
	sel := make([]string, len(keys))
	aliases := make([]string, len(keys))
	for i, k := range keys {
		names[i] = ident(k)
		unnest[i] = fmt.Sprintf("$%d::text[]", i+1)
		aliases[i] = fmt.Sprintf("c%d", i)
		sel[i] = fmt.Sprintf("u.c%d::%s", i, d.castType(k))
	}
	sql := fmt.Sprintf("DELETE FROM %s WHERE (%s) IN (SELECT %s FROM unnest(%s) AS u(%s))",
		d.qualified(), strings.Join(names, ", "), strings.Join(sel, ", "), strings.Join(unnest, ", "), strings.Join(aliases, ", "))
	return statement{sql: sql, cols: keys, keys: len(keys)}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// perRecord reports whether the server refused a value rather than the
// statement: data exceptions (22), constraint violations (23), a key twice
// in one statement (21000), an exception raised by a trigger (P0001).
func perRecord(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23") || pe.Code == "21000" || pe.Code == "P0001"
}

// classify turns a database error into a *destinations.Error: no answer,
// a lost connection, a serialization failure or deadlock, a server short
// of resources or shutting down are retried; "statement too large" halves
// the batch; anything else (a missing privilege, a wrong column type)
// stops the run with the server's message.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := destinations.AsError(err); ok {
		return err
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnErr(err) {
			return &destinations.Error{Retryable: true, Message: "no answer from PostgreSQL: " + err.Error()}
		}
		return &destinations.Error{Message: err.Error()}
	}
	msg := fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	if pe.Detail != "" {
		msg += ": " + pe.Detail
	}
	e := &destinations.Error{Message: msg}
	switch {
	case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P"), strings.HasPrefix(pe.Code, "58"),
		strings.HasPrefix(pe.Code, "XX"), pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03":
		e.Retryable = true
	case strings.HasPrefix(pe.Code, "53"):
		// Out of connections, memory or disk: give the server a moment.
		e.Retryable, e.RetryAfter = true, time.Second
	case pe.Code == "54000":
		e.TooLarge = true
	}
	if pe.Code == "57P03" { // starting up
		e.RetryAfter = time.Second
	}
	return e
}

func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}
