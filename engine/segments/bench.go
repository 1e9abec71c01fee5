package segments

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/models"
)

// BenchSegment is the segment Bench previews: two event conditions and
// three trait conditions over the demo project's sources and traits.
const BenchSegment = `
name: bench_preview
where:
  all:
    - event: {source: web_events, name: add_to_cart, within: 30d}
    - not: {event: {source: orders, within: 14d}}
    - {trait: email_opt_in, eq: true}
    - {trait: lifetime_value, gte: 100}
    - {trait: country, in: [NL, BE, DE]}
`

// BenchPreviews is how many previews Bench times; it reports the median.
const BenchPreviews = 7

// BenchReport holds the figures of `cohort bench segments`.
type BenchReport struct {
	Warehouse    string  `json:"warehouse"`
	Profiles     int64   `json:"profiles"`
	SourceRows   int64   `json:"source_rows"`
	Segments     int     `json:"segments"`
	Members      int64   `json:"members"`
	Identity     float64 `json:"identity_seconds,omitempty"` // 0 when identity_graph already existed
	ProfilesStep float64 `json:"profiles_seconds"`
	SegmentsStep float64 `json:"segments_seconds"`
	Run          float64 `json:"run_seconds"` // profiles + segments + swap
	// RunCPU is this process's processor time (user + system) during the
	// run: an embedded warehouse's work (DuckDB), only the client's for a
	// server. On a shared machine it says what the run cost when wall time
	// says how busy the machine was.
	RunCPU        float64   `json:"run_cpu_seconds"`
	PreviewCount  int64     `json:"preview_count"`
	PreviewMedian float64   `json:"preview_median_ms"`
	PreviewTimes  []float64 `json:"preview_ms"`
	// Accuracy is identity's pairwise precision and recall against the
	// demo's truth, when the warehouse has it (set by the caller).
	Accuracy string `json:"identity_accuracy,omitempty"`
}

// MeasurePreviews counts what a run built (profiles, memberships, rows of
// the rows tables) into rep, then times BenchPreviews previews of
// BenchSegment against the final tables. The run itself is timed by the
// caller (engine.BenchSegments), which runs it through the real executor.
func MeasurePreviews(ctx context.Context, wh dialects.Warehouse, c *plan.Context, rep *BenchReport) error {
	read := *c
	read.Building = map[string]bool{}
	rep.Warehouse, rep.Segments = c.Dialect.Name(), len(c.Project.Segments)
	var err error
	if rep.Profiles, err = plan.CountRows(ctx, wh, read.Final(profiles.Table)); err != nil {
		return err
	}
	if rep.Members, err = plan.CountRows(ctx, wh, read.Final(MembershipsTable)); err != nil {
		return err
	}
	rep.SourceRows = 0
	for _, src := range profiles.RowSources(c.Project) {
		n, err := plan.CountRows(ctx, wh, read.Final(profiles.RowsTable(src.Name)))
		if err != nil {
			return err
		}
		rep.SourceRows += n
	}

	seg, err := models.ParseSegment([]byte(BenchSegment))
	if err != nil {
		return err
	}
	if err := models.ValidateSegment(c.Project, seg); err != nil {
		return fmt.Errorf("bench segment needs the demo project's sources and traits: %w", err)
	}
	rep.PreviewTimes = nil
	for i := 0; i < BenchPreviews; i++ {
		t := time.Now()
		p, err := Preview(ctx, wh, &read, seg, PreviewOptions{})
		if err != nil {
			return err
		}
		rep.PreviewTimes = append(rep.PreviewTimes, float64(time.Since(t).Microseconds())/1000)
		rep.PreviewCount = p.Count
	}
	sorted := append([]float64(nil), rep.PreviewTimes...)
	sort.Float64s(sorted)
	rep.PreviewMedian = sorted[len(sorted)/2]
	return nil
}

func (r *BenchReport) String() string {
	s := fmt.Sprintf("\nprofiles and segments on %s: %s, %s, %s, %s\n", r.Warehouse,
		plan.Count(r.Profiles, "profile"), plan.Count(r.SourceRows, "source row"), plan.Count(int64(r.Segments), "segment"), plan.Count(r.Members, "membership"))
	if r.Identity > 0 {
		s += fmt.Sprintf("  identity (first)  %.2f s\n", r.Identity)
	}
	s += fmt.Sprintf("  profiles step     %.2f s (rows tables and traits)\n", r.ProfilesStep)
	s += fmt.Sprintf("  segments step     %.2f s\n", r.SegmentsStep)
	s += fmt.Sprintf("  run               %.2f s (profiles + segments + swap; target < 60 s at 1M profiles), %.2f s of processor time\n", r.Run, r.RunCPU)
	s += fmt.Sprintf("  preview           %.0f ms median of %d (2 event + 3 trait conditions, %s; target < 500 ms)\n",
		r.PreviewMedian, len(r.PreviewTimes), plan.Count(r.PreviewCount, "member"))
	if r.Accuracy != "" {
		s += "  " + r.Accuracy + "\n"
	}
	return s
}
