package segments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
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
	Warehouse     string    `json:"warehouse"`
	Profiles      int64     `json:"profiles"`
	SourceRows    int64     `json:"source_rows"`
	Segments      int       `json:"segments"`
	Members       int64     `json:"members"`
	Identity      float64   `json:"identity_seconds,omitempty"` // 0 when identity_graph already existed
	ProfilesStep  float64   `json:"profiles_seconds"`
	SegmentsStep  float64   `json:"segments_seconds"`
	Run           float64   `json:"run_seconds"` // profiles + segments + swap
	PreviewCount  int64     `json:"preview_count"`
	PreviewMedian float64   `json:"preview_median_ms"`
	PreviewTimes  []float64 `json:"preview_ms"`
}

// Bench times, on the data already in the warehouse (the demo project's),
// the profiles and segments steps of a run, then previews of BenchSegment.
// When identity_graph does not exist yet it runs identity first (timed on
// its own). The tables it builds are swapped in like a run's.
func Bench(ctx context.Context, wh dialects.Warehouse, c *plan.Context, out io.Writer) (*BenchReport, error) {
	if out == nil {
		out = io.Discard
	}
	d := c.Dialect
	rep := &BenchReport{Warehouse: d.Name(), Segments: len(c.Project.Segments)}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	rc := *c
	rc.RunID = "bench" + hex.EncodeToString(b)
	rc.Building = map[string]bool{}
	if err := wh.Exec(ctx, d.CreateSchema(c.Schema)); err != nil {
		return nil, err
	}

	ok, err := tableExists(ctx, wh, c, identity.GraphTable)
	if err != nil {
		return nil, err
	}
	if !ok {
		fmt.Fprintf(out, "identity_graph missing: resolving identities first ...\n")
		secs, err := runPart(ctx, wh, &rc, identity.Steps, out)
		if err != nil {
			return nil, err
		}
		rep.Identity = secs
		rc.Building = map[string]bool{}
	}

	start := time.Now()
	psteps, err := compileParts(&rc, profiles.Steps, Steps)
	if err != nil {
		return nil, err
	}
	var outputs []string
	for i, s := range psteps {
		t := time.Now()
		fmt.Fprintf(out, "running %s ...\n", s.Name())
		if _, err := s.Run(ctx, wh, nil); err != nil {
			dropStaged(ctx, wh, &rc, outputs)
			return nil, fmt.Errorf("bench: %s: %w", s.Name(), err)
		}
		outputs = append(outputs, s.Outputs()...)
		if i == 0 {
			rep.ProfilesStep = time.Since(t).Seconds()
		} else {
			rep.SegmentsStep += time.Since(t).Seconds()
		}
	}
	if err := swap(ctx, wh, &rc, outputs); err != nil {
		return nil, err
	}
	rep.Run = time.Since(start).Seconds()

	read := *c
	read.Building = map[string]bool{}
	if rep.Profiles, err = plan.CountRows(ctx, wh, read.Final(profiles.Table)); err != nil {
		return nil, err
	}
	if rep.Members, err = plan.CountRows(ctx, wh, read.Final(MembershipsTable)); err != nil {
		return nil, err
	}
	for _, src := range profiles.RowSources(c.Project) {
		n, err := plan.CountRows(ctx, wh, read.Final(profiles.RowsTable(src.Name)))
		if err != nil {
			return nil, err
		}
		rep.SourceRows += n
	}

	seg, err := models.ParseSegment([]byte(BenchSegment))
	if err != nil {
		return nil, err
	}
	if err := models.ValidateSegment(c.Project, seg); err != nil {
		return nil, fmt.Errorf("bench segment needs the demo project's sources and traits: %w", err)
	}
	for i := 0; i < BenchPreviews; i++ {
		t := time.Now()
		p, err := Preview(ctx, wh, &read, seg, PreviewOptions{})
		if err != nil {
			return nil, err
		}
		rep.PreviewTimes = append(rep.PreviewTimes, float64(time.Since(t).Microseconds())/1000)
		rep.PreviewCount = p.Count
	}
	sorted := append([]float64(nil), rep.PreviewTimes...)
	sort.Float64s(sorted)
	rep.PreviewMedian = sorted[len(sorted)/2]
	fmt.Fprint(out, rep.String())
	return rep, nil
}

func compileParts(c *plan.Context, parts ...func(*plan.Context) ([]plan.Step, error)) ([]plan.Step, error) {
	var steps []plan.Step
	for pass := 0; pass < 2; pass++ { // the second pass knows what is staged
		steps = steps[:0]
		for _, p := range parts {
			s, err := p(c)
			if err != nil {
				return nil, err
			}
			steps = append(steps, s...)
		}
		for _, s := range steps {
			for _, o := range s.Outputs() {
				c.Building[o] = true
			}
		}
	}
	return steps, nil
}

func runPart(ctx context.Context, wh dialects.Warehouse, c *plan.Context, part func(*plan.Context) ([]plan.Step, error), out io.Writer) (float64, error) {
	start := time.Now()
	steps, err := compileParts(c, part)
	if err != nil {
		return 0, err
	}
	var outputs []string
	for _, s := range steps {
		if _, err := s.Run(ctx, wh, nil); err != nil {
			dropStaged(ctx, wh, c, outputs)
			return 0, fmt.Errorf("bench: %s: %w", s.Name(), err)
		}
		outputs = append(outputs, s.Outputs()...)
	}
	return time.Since(start).Seconds(), swap(ctx, wh, c, outputs)
}

func swap(ctx context.Context, wh dialects.Warehouse, c *plan.Context, outputs []string) error {
	var pairs []dialects.Replace
	for _, o := range outputs {
		pairs = append(pairs, dialects.Replace{Schema: c.Schema, Final: o, Staged: c.StagedName(o)})
	}
	if err := wh.InTx(ctx, c.Dialect.ReplaceTables(pairs)); err != nil {
		dropStaged(ctx, wh, c, outputs)
		return fmt.Errorf("bench: swap: %w", err)
	}
	return nil
}

func dropStaged(ctx context.Context, wh dialects.Warehouse, c *plan.Context, outputs []string) {
	for _, o := range outputs {
		_ = wh.Exec(context.WithoutCancel(ctx), c.Dialect.DropTable(c.Staged(o)))
	}
}

func (r *BenchReport) String() string {
	s := fmt.Sprintf("\nprofiles and segments on %s: %d profiles, %d source rows, %d segments, %d memberships\n",
		r.Warehouse, r.Profiles, r.SourceRows, r.Segments, r.Members)
	if r.Identity > 0 {
		s += fmt.Sprintf("  identity (first)  %.2f s\n", r.Identity)
	}
	s += fmt.Sprintf("  profiles step     %.2f s (rows tables and traits)\n", r.ProfilesStep)
	s += fmt.Sprintf("  segments step     %.2f s\n", r.SegmentsStep)
	s += fmt.Sprintf("  run               %.2f s (profiles + segments + swap; target < 60 s at 1M profiles)\n", r.Run)
	s += fmt.Sprintf("  preview           %.0f ms median of %d (2 event + 3 trait conditions, %d members; target < 500 ms)\n",
		r.PreviewMedian, len(r.PreviewTimes), r.PreviewCount)
	return s
}
