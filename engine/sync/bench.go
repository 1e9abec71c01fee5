package sync

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cohort-cdp/cohort/dialects"
)

// BenchOptions shape `cohort bench sync`.
type BenchOptions struct {
	Members int    // audience size
	URL     string // a webhook receiver (cohort webhook-receiver in another process)
	Secret  string
	Changed int // percent of members changed before the second sync (default 1)
	// MemoryLimit and Threads are the bench project's warehouse.memory_limit
	// and warehouse.threads; "" and 0 leave DuckDB's defaults, as a project
	// that says nothing.
	MemoryLimit string
	Threads     int
}

// BenchReport is what `cohort bench sync` measured.
type BenchReport struct {
	Members  int          `json:"members"`
	Generate float64      `json:"generate_seconds"`
	First    BenchSyncRun `json:"first_sync"`
	Rerun    BenchSyncRun `json:"rerun"`
}

// BenchSyncRun is one `cohort sync` process, timed from its start to its
// exit: loading the project, opening the warehouse and the state store and
// taking the lease included.
type BenchSyncRun struct {
	Seconds          float64 `json:"seconds"`
	DiffSeconds      float64 `json:"diff_seconds"`
	Sent             int64   `json:"sent"`
	RecordsPerSecond float64 `json:"records_per_second"`
	Status           string  `json:"status"`
	// CPUSeconds is the processor time the process used (user + system,
	// all threads): on a busy machine, what the wall clock cannot show.
	CPUSeconds float64 `json:"cpu_seconds"`
	// PeakRSSMB is the process's peak resident memory (VmHWM sampled every
	// 20 ms), DuckDB's included.
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// BenchSync is the name of the bench project's sync.
const BenchSync = "bench"

// BenchWarehouse is the bench project's DuckDB file, relative to its folder.
const BenchWarehouse = "bench.duckdb"

// BenchProjectFiles are the files of the bench project: a DuckDB warehouse
// whose output schema holds the audience (profiles and segment_memberships
// written by BenchGenerate, as a run would), and one mirror sync of segment
// bench to the webhook receiver at o.URL, keyed by e-mail, with two fields.
func BenchProjectFiles(o BenchOptions) map[string]string {
	wh := "  type: duckdb\n  path: " + BenchWarehouse + "\n  schema: cohort\n"
	if o.MemoryLimit != "" {
		wh += "  memory_limit: " + strconv.Quote(o.MemoryLimit) + "\n"
	}
	if o.Threads > 0 {
		wh += fmt.Sprintf("  threads: %d\n", o.Threads)
	}
	return map[string]string{
		"cohort.yaml": "# cohort bench sync: a generated audience synced to a local webhook receiver\nname: bench\nwarehouse:\n" + wh + "state: state.db\n",
		filepath.Join("models", "bench.yaml"): fmt.Sprintf(`sources:
  - name: members
    table: bench_source.members
    primary_key: email
    identifiers:
      - {type: email, column: email}
identity:
  identifiers:
    - {type: email, normalize: email}
traits:
  - {name: email, from: members.email, pick: priority}
  - {name: first_name, from: members.first_name, pick: priority}
  - {name: ltv, from: members.ltv, aggregate: max}
segments:
  - name: bench
    where: {trait: ltv, gte: 0}
destinations:
  - name: receiver
    type: webhook
    region: eu
    config: {url: %s, secret: %s, internal: true}
syncs:
  - name: %s
    segment: bench
    destination: receiver
    mode: mirror
    match: {email: email}
    fields: {first_name: first_name, ltv: ltv}
`, strconv.Quote(o.URL), strconv.Quote(o.Secret), BenchSync),
	}
}

// WriteBenchProject writes BenchProjectFiles into dir.
func WriteBenchProject(dir string, o BenchOptions) error {
	for name, text := range BenchProjectFiles(o) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// BenchGenerate fills wh with the bench project's audience: members
// profiles, all in segment bench, and the source they would come from (a
// view over the profiles).
func BenchGenerate(ctx context.Context, wh dialects.Warehouse, members int) error {
	d := wh.Dialect()
	q := func(t string) string { return d.Quote("cohort", t) }
	for _, s := range []string{
		d.CreateSchema("cohort"), d.CreateSchema("bench_source"),
		d.DropTable(q(profilesTable)), d.DropTable(q(membershipsTable)),
		d.DropTable(q(SnapshotTable(BenchSync))), d.DropTable(q(AcksTable(BenchSync))), d.DropTable(q(ChangesTable(BenchSync))),
		d.CreateTableAs(q(profilesTable), fmt.Sprintf(`SELECT 'p_' || lpad(CAST(i AS %[1]s), 9, '0') AS profile_id, i AS n,
  'member' || CAST(i AS %[1]s) || '@bench.cohort.test' AS email, 'Name' || CAST(i %% 997 AS %[1]s) AS first_name,
  CAST(i %% 5000 AS %[2]s) / 10 AS ltv
FROM generate_series(1, %[3]d) AS g(i)`, d.TypeName(dialects.Text), d.TypeName(dialects.Number), members), false),
		d.CreateTableAs(q(membershipsTable), fmt.Sprintf(`SELECT 'bench' AS segment, profile_id, CAST(NULL AS %s) AS entered_at,
  FALSE AS holdout, CAST(NULL AS %s) AS arm FROM %s`, d.TypeName(dialects.Timestamp), d.TypeName(dialects.Text), q(profilesTable)), false),
		"CREATE OR REPLACE VIEW " + d.Quote("bench_source", "members") + " AS SELECT email, first_name, ltv FROM " + q(profilesTable),
	} {
		if err := wh.Exec(ctx, s); err != nil {
			return fmt.Errorf("bench: generating the audience: %w", err)
		}
	}
	return nil
}

// BenchChange changes a synced field of pct percent of the members.
func BenchChange(ctx context.Context, wh dialects.Warehouse, pct int) error {
	d := wh.Dialect()
	return wh.Exec(ctx, fmt.Sprintf("UPDATE %s SET ltv = ltv + 1 WHERE n %% 100 < %d", d.Quote("cohort", profilesTable), pct))
}
