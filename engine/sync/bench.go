package sync

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/models"
)

// BenchOptions shape `cohort bench sync`.
type BenchOptions struct {
	Members int    // audience size
	URL     string // a webhook receiver (cohort webhook-receiver in another process)
	Secret  string
	Changed int // percent of members changed before the second sync (default 1)
}

// BenchReport is what `cohort bench sync` measured.
type BenchReport struct {
	Members  int          `json:"members"`
	Generate float64      `json:"generate_seconds"`
	First    BenchSyncRun `json:"first_sync"`
	Rerun    BenchSyncRun `json:"rerun"`
	// PeakRSSMB is the most resident memory the process held during the
	// first sync (Linux: VmHWM after clearing it), DuckDB included.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// PeakGoMB is the most memory the Go runtime held from the system
	// during the first sync (sampled): the rest of the RSS is DuckDB's.
	PeakGoMB float64 `json:"peak_go_mb"`
}

// BenchSyncRun is one timed sync.
type BenchSyncRun struct {
	Seconds          float64 `json:"seconds"`
	DiffSeconds      float64 `json:"diff_seconds"`
	Sent             int64   `json:"sent"`
	RecordsPerSecond float64 `json:"records_per_second"`
	Status           string  `json:"status"`
	// CPUSeconds is the processor time the process used (user + system,
	// all threads): on a busy machine, what the wall clock cannot show.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// Bench generates an audience of o.Members profiles in schema cohort of
// wh, syncs it whole to the receiver at o.URL, changes o.Changed percent of
// the members and syncs again, timing both and the peak memory of the
// first.
func Bench(ctx context.Context, wh dialects.Warehouse, o BenchOptions, out io.Writer) (*BenchReport, error) {
	if o.Changed <= 0 {
		o.Changed = 1
	}
	d := wh.Dialect()
	q := func(t string) string { return d.Quote("cohort", t) }
	rep := &BenchReport{Members: o.Members}
	fmt.Fprintf(out, "generating %d members ...\n", o.Members)
	start := time.Now()
	for _, s := range []string{
		d.CreateSchema("cohort"),
		d.DropTable(q(profilesTable)), d.DropTable(q(membershipsTable)),
		d.DropTable(q(SnapshotTable("bench"))), d.DropTable(q(AcksTable("bench"))),
		d.CreateTableAs(q(profilesTable), fmt.Sprintf(`SELECT 'p_' || lpad(CAST(i AS %[1]s), 9, '0') AS profile_id, i AS n,
  'member' || CAST(i AS %[1]s) || '@bench.cohort.test' AS email, 'Name' || CAST(i %% 997 AS %[1]s) AS first_name,
  CAST(i %% 5000 AS %[2]s) / 10 AS ltv, TRUE AS opt_in
FROM generate_series(1, %[3]d) AS g(i)`, d.TypeName(dialects.Text), d.TypeName(dialects.Number), o.Members), false),
		d.CreateTableAs(q(membershipsTable), fmt.Sprintf(`SELECT 'bench' AS segment, profile_id, CAST(NULL AS %s) AS entered_at,
  FALSE AS holdout, CAST(NULL AS %s) AS arm FROM %s`, d.TypeName(dialects.Timestamp), d.TypeName(dialects.Text), q(profilesTable)), false),
	} {
		if err := wh.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("bench: generating the audience: %w", err)
		}
	}
	rep.Generate = time.Since(start).Seconds()
	p := &models.Project{
		Name:      "bench",
		Warehouse: models.WarehouseConfig{Schema: "cohort"},
		Destinations: []*models.Destination{{Name: "receiver", Type: "webhook", Region: "eu",
			Config: map[string]any{"url": o.URL, "secret": o.Secret, "internal": true}}},
		Syncs: []*models.Sync{{Name: "bench", Segment: "bench", Destination: "receiver", Mode: "mirror",
			Match: map[string]string{"email": "email"}, Fields: map[string]string{"first_name": "first_name", "ltv": "ltv"}}},
	}
	timed := func(r *BenchSyncRun) error {
		start, cpu := time.Now(), cpuSeconds()
		res, err := Run(ctx, Params{Project: p, Sync: "bench", Warehouse: wh, RunID: fmt.Sprintf("bench-%d", time.Now().UnixNano())})
		if err != nil {
			return err
		}
		r.Seconds = time.Since(start).Seconds()
		r.CPUSeconds = cpuSeconds() - cpu
		r.DiffSeconds = res.DiffTime.Seconds()
		r.Sent = res.Stats.Delivered()
		r.RecordsPerSecond = float64(r.Sent) / r.Seconds
		r.Status = res.Run.Status
		return nil
	}
	resetPeakRSS()
	stop := make(chan struct{})
	sampled := make(chan float64)
	go func() {
		var peak uint64
		var m runtime.MemStats
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.Sys-m.HeapReleased)
			select {
			case <-stop:
				sampled <- float64(peak) / (1 << 20)
				return
			case <-t.C:
			}
		}
	}()
	fmt.Fprintf(out, "first sync of %d members ...\n", o.Members)
	err := timed(&rep.First)
	close(stop)
	rep.PeakGoMB = <-sampled
	if err != nil {
		return nil, err
	}
	rep.PeakRSSMB = peakRSSMB()
	fmt.Fprintf(out, "  %d sent in %.1fs (%.0f records/s; diff %.2fs; %.1f s of processor time), peak RSS %.0f MB (Go %.0f MB, the rest DuckDB)\n",
		rep.First.Sent, rep.First.Seconds, rep.First.RecordsPerSecond, rep.First.DiffSeconds, rep.First.CPUSeconds, rep.PeakRSSMB, rep.PeakGoMB)
	if err := wh.Exec(ctx, fmt.Sprintf("UPDATE %s SET ltv = ltv + 1 WHERE n %% 100 < %d", q(profilesTable), o.Changed)); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "re-sync after %d%% of members changed ...\n", o.Changed)
	if err := timed(&rep.Rerun); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  %d sent in %.1fs (diff %.2fs; %.1f s of processor time)\n", rep.Rerun.Sent, rep.Rerun.Seconds, rep.Rerun.DiffSeconds, rep.Rerun.CPUSeconds)
	return rep, nil
}

// resetPeakRSS clears the kernel's record of this process's peak resident
// memory (Linux); elsewhere it does nothing.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB is this process's peak resident memory in MB (Linux VmHWM), 0
// where unknown.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is the processor time this process has used, 0 where unknown.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
