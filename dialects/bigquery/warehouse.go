package bigquery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/cohort-cdp/cohort/dialects"
)

// DefaultLocation keeps data in the EU unless the project says otherwise.
const DefaultLocation = "EU"

// Warehouse is a BigQuery project: its datasets are the schemas.
type Warehouse struct {
	client   *bigquery.Client
	project  string
	location string
	dataset  string // of unqualified table names
	maxBytes int64
	labels   map[string]string

	mu   sync.Mutex
	jobs []string
}

// Open makes a client for cfg.Project in cfg.Location (EU by default),
// with Application Default Credentials, or none against an http:// endpoint
// (an emulator).
func Open(ctx context.Context, cfg dialects.Config) (dialects.Warehouse, error) {
	if cfg.Project == "" {
		return nil, errors.New("bigquery: warehouse.project is empty: set it to the GCP project id")
	}
	var opts []option.ClientOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
		if strings.HasPrefix(cfg.Endpoint, "http://") {
			opts = append(opts, option.WithoutAuthentication())
		}
	}
	c, err := bigquery.NewClient(ctx, cfg.Project, opts...)
	if err != nil {
		return nil, fmt.Errorf("bigquery: project %s: %w (are Application Default Credentials set up? gcloud auth application-default login)", cfg.Project, err)
	}
	loc := cfg.Location
	if loc == "" {
		loc = DefaultLocation
	}
	c.Location = loc
	tag := cfg.QueryTag
	if tag == "" {
		tag = "cohort"
	}
	ds := cfg.Schema
	if ds == "" {
		ds = "cohort"
	}
	return &Warehouse{client: c, project: cfg.Project, location: loc, dataset: ds, maxBytes: cfg.MaxBytesBilled,
		labels: map[string]string{"tool": label(tag)}}, nil
}

var notLabel = regexp.MustCompile(`[^a-z0-9_-]+`)

// label makes a job label value of s (lower-case letters, digits, _ and -).
func label(s string) string {
	s = notLabel.ReplaceAllString(strings.ToLower(s), "_")
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

func (w *Warehouse) Dialect() dialects.Dialect { return Dialect{} }

func (w *Warehouse) query(q string, args []any) *bigquery.Query {
	bq := w.client.Query(q)
	bq.Parameters = params(args)
	bq.Location = w.location
	bq.MaxBytesBilled = w.maxBytes
	bq.Labels = w.labels
	return bq
}

// run runs a statement to its end and keeps its job id.
func (w *Warehouse) run(ctx context.Context, q *bigquery.Query) (*bigquery.Job, error) {
	job, err := q.Run(ctx)
	if err != nil {
		return nil, explain(err)
	}
	w.mu.Lock()
	w.jobs = append(w.jobs, job.ID())
	w.mu.Unlock()
	st, err := job.Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", job.ID(), explain(err))
	}
	if err := st.Err(); err != nil {
		return nil, fmt.Errorf("job %s: %w", job.ID(), explain(err))
	}
	return job, nil
}

// explain adds what to do to the errors a user can act on.
func explain(err error) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) && strings.Contains(ge.Message, "bytes billed") {
		return fmt.Errorf("%w (raise warehouse.maximum_bytes_billed, or make the sources smaller: partition them on the timestamp column)", err)
	}
	return err
}

// TakeJobs returns the ids of the jobs run since the last call (they go in
// the run's history, to find a step in the console and its cost).
func (w *Warehouse) TakeJobs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	j := w.jobs
	w.jobs = nil
	return j
}

func (w *Warehouse) Exec(ctx context.Context, q string, args ...any) error {
	_, err := w.run(ctx, w.query(q, args))
	return err
}

func (w *Warehouse) Query(ctx context.Context, q string, args ...any) (dialects.Rows, error) {
	job, err := w.run(ctx, w.query(q, args))
	if err != nil {
		return nil, err
	}
	it, err := job.Read(ctx)
	if err != nil {
		return nil, explain(err)
	}
	return &rows{it: it}, nil
}

// InTx runs DML statements in one transaction (a script). BigQuery allows
// no DDL on permanent tables in one: statements among which there is DDL
// run one after the other, each atomic by itself.
func (w *Warehouse) InTx(ctx context.Context, statements []string) error {
	all := len(statements) > 1
	for _, s := range statements {
		all = all && dialects.IsDML(s)
	}
	if !all {
		for _, s := range statements {
			if err := w.Exec(ctx, s); err != nil {
				return fmt.Errorf("%w\nin statement: %s", err, s)
			}
		}
		return nil
	}
	script := "BEGIN TRANSACTION;\n" + strings.Join(statements, ";\n") + ";\nCOMMIT TRANSACTION;"
	return w.Exec(ctx, script)
}

func (w *Warehouse) table(name string) *bigquery.Table {
	ds, t := dialects.SplitTable(name)
	if ds == "" {
		ds = w.dataset
	}
	return w.client.Dataset(ds).Table(t)
}

func notFound(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
}

func (w *Warehouse) Columns(ctx context.Context, table string) ([]dialects.Column, error) {
	md, err := w.table(table).Metadata(ctx)
	if notFound(err) {
		return nil, fmt.Errorf("%s: %w", table, dialects.ErrNoTable)
	}
	if err != nil {
		return nil, err
	}
	return columns(md.Schema), nil
}

func columns(s bigquery.Schema) []dialects.Column {
	cols := make([]dialects.Column, len(s))
	for i, f := range s {
		cols[i] = dialects.Column{Name: f.Name, Type: strings.ToLower(string(f.Type))}
	}
	return cols
}

// QueryColumns asks for the columns without running the query (a dry run
// is free), or reads none of its rows where dry runs are not served.
func (w *Warehouse) QueryColumns(ctx context.Context, query string) ([]dialects.Column, error) {
	q := w.query(query, nil)
	q.DryRun = true
	if job, err := q.Run(ctx); err == nil {
		if st := job.LastStatus(); st != nil && st.Statistics != nil {
			if qs, ok := st.Statistics.Details.(*bigquery.QueryStatistics); ok && len(qs.Schema) > 0 {
				return columns(qs.Schema), nil
			}
		}
	}
	r, err := w.Query(ctx, "SELECT * FROM ("+strings.TrimRight(strings.TrimSpace(query), ";")+") q LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	r.Next()
	return columns(r.(*rows).it.Schema), r.Err()
}

// Tables lists a dataset's tables and views whose names contain marker.
func (w *Warehouse) Tables(ctx context.Context, schema, marker string) ([]dialects.Table, error) {
	it := w.client.Dataset(schema).Tables(ctx)
	var out []dialects.Table
	for {
		t, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if notFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !strings.Contains(t.TableID, marker) {
			continue
		}
		md, err := t.Metadata(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, dialects.Table{Name: t.TableID, View: md.Type == bigquery.ViewTable})
	}
}

// Warnings are what `cohort validate` says about the output dataset: one
// outside the EU is named.
func (w *Warehouse) Warnings(ctx context.Context) []string {
	md, err := w.client.Dataset(w.dataset).Metadata(ctx)
	if err != nil {
		return nil // not created yet: it will be, in the jobs' location
	}
	if !InEU(md.Location) {
		return []string{fmt.Sprintf("bigquery: dataset %s.%s is in %s, outside the EU: profiles built there leave the EU (set warehouse.location: EU and use a dataset created there)", w.project, w.dataset, md.Location)}
	}
	return nil
}

// InEU says whether a BigQuery location is in the European Union (the EU
// multi-region or a region of an EU member state).
func InEU(loc string) bool {
	l := strings.ToLower(loc)
	if l == "eu" {
		return true
	}
	for _, r := range []string{"europe-west1", "europe-west3", "europe-west4", "europe-west8", "europe-west9", "europe-west10", "europe-west12",
		"europe-north1", "europe-north2", "europe-central2", "europe-southwest1"} {
		if l == r {
			return true
		}
	}
	return false
}

func (w *Warehouse) Close() error { return w.client.Close() }

// rows reads a query's result.
type rows struct {
	it     *bigquery.RowIterator
	cur    []bigquery.Value
	peeked bool // cur was read by Columns and not yet returned by Next
	err    error
}

func (r *rows) Columns() ([]string, error) {
	if r.it.Schema == nil && r.cur == nil && r.err == nil {
		// the schema arrives with the first page
		var v []bigquery.Value
		if err := r.it.Next(&v); err == nil {
			r.cur, r.peeked = v, true
		} else if !errors.Is(err, iterator.Done) {
			r.err = err
		}
	}
	names := make([]string, len(r.it.Schema))
	for i, f := range r.it.Schema {
		names[i] = f.Name
	}
	return names, r.err
}

func (r *rows) Next() bool {
	if r.err != nil {
		return false
	}
	if r.peeked {
		r.peeked = false
		return true
	}
	var v []bigquery.Value
	err := r.it.Next(&v)
	if errors.Is(err, iterator.Done) {
		return false
	}
	if err != nil {
		r.err = err
		return false
	}
	r.cur = v
	return true
}

func (r *rows) Scan(dest ...any) error {
	if len(dest) != len(r.cur) {
		return fmt.Errorf("bigquery: scan of %d columns into %d values", len(r.cur), len(dest))
	}
	for i, d := range dest {
		if err := assign(d, r.cur[i]); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

func (r *rows) Err() error   { return r.err }
func (r *rows) Close() error { return nil }

var _ dialects.Warehouse = (*Warehouse)(nil)
