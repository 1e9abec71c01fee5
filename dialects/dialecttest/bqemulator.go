package dialecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/bigquery"
)

// bigqueryEmulator runs the BigQuery dialect against goccy/bigquery-emulator
// (v0.8.1), working around four statements it lacks that BigQuery runs:
//   - CREATE SCHEMA answers success but creates no dataset: it becomes a
//     datasets.insert call, as the bq tool would make;
//   - CREATE OR REPLACE TABLE t COPY s ("CREATE TABLE COPY is not
//     supported") becomes CREATE OR REPLACE TABLE t AS SELECT * FROM s,
//     the same rows and columns;
//   - CREATE OR REPLACE TABLE of a table that exists replaces its rows but
//     then fails ("table is already created"): the table is dropped first,
//     which is not atomic as BigQuery's replacement is;
//   - unary minus before a parenthesis, as in the churn_risk trait's
//     exp(-(t) / g) ("no such function: googlesqlite_unary_minus"): (-(
//     becomes (0 - (, the same value.
//
// Every other statement goes to the emulator as written; the grammar test
// (dialects/sqlgrammar) checks the statements as the dialect writes them.
type bigqueryEmulator struct {
	*bigquery.Warehouse
	cfg dialects.Config
}

// a table name: parts, each `quoted` or plain, joined by dots
const bqName = "((?:`[^`]+`|[A-Za-z0-9_]+)(?:[.](?:`[^`]+`|[A-Za-z0-9_]+))*)"

var (
	createSchema = regexp.MustCompile("^CREATE SCHEMA IF NOT EXISTS `([A-Za-z0-9_]+)`$")
	copyTable    = regexp.MustCompile("^(CREATE OR REPLACE TABLE " + bqName + ") COPY " + bqName + "$")
	replaceTable = regexp.MustCompile("^CREATE OR REPLACE TABLE " + bqName)
)

func (w bigqueryEmulator) Exec(ctx context.Context, q string, args ...any) error {
	q = copyTable.ReplaceAllString(q, "$1 AS SELECT * FROM $3")
	q = strings.ReplaceAll(q, "(-(", "(0 - (")
	if m := replaceTable.FindStringSubmatch(q); m != nil {
		if err := w.Warehouse.Exec(ctx, "DROP TABLE IF EXISTS "+m[1]); err != nil {
			return err
		}
	}
	m := createSchema.FindStringSubmatch(q)
	if m == nil {
		return w.Warehouse.Exec(ctx, q, args...)
	}
	body, _ := json.Marshal(map[string]any{
		"datasetReference": map[string]string{"projectId": w.cfg.Project, "datasetId": m[1]},
		"location":         bigquery.DefaultLocation,
	})
	url := w.cfg.Endpoint + "/bigquery/v2/projects/" + w.cfg.Project + "/datasets"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	// BigQuery answers 409 for a dataset that exists, the emulator 500
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusConflict || bytes.Contains(msg, []byte("already created")) {
		return nil
	}
	return fmt.Errorf("emulator: create dataset %s: %s: %s", m[1], resp.Status, msg)
}

// InTx runs statements with DDL among them one by one through Exec, as the
// dialect does, so that the workarounds apply.
func (w bigqueryEmulator) InTx(ctx context.Context, statements []string) error {
	for _, s := range statements {
		if !dialects.IsDML(s) {
			for _, s := range statements {
				if err := w.Exec(ctx, s); err != nil {
					return fmt.Errorf("%w\nin statement: %s", err, s)
				}
			}
			return nil
		}
	}
	return w.Warehouse.InTx(ctx, statements)
}
