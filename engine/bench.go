package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/models"
)

// BenchSegments times, on the data already in the warehouse (the demo
// project's), the profiles and segments steps of a real run, then previews
// of segments.BenchSegment. When identity_graph does not exist yet it runs
// identity first and times it on its own.
func BenchSegments(ctx context.Context, wh dialects.Warehouse, p *models.Project, now time.Time, out io.Writer) (*segments.BenchReport, error) {
	rep := &segments.BenchReport{}
	progress := func(e Event) {
		if e.Message == "started" {
			fmt.Fprintf(out, "running %s ...\n", e.Step)
		}
	}
	if _, err := wh.Columns(ctx, p.Warehouse.Schema+"."+identity.GraphTable); errors.Is(err, dialects.ErrNoTable) {
		fmt.Fprintf(out, "identity_graph missing: resolving identities first ...\n")
		pl, err := Compile(p, wh.Dialect(), DefaultParts[:1], Options{Now: now})
		if err != nil {
			return nil, err
		}
		res, err := Execute(ctx, wh, pl, progress)
		if err != nil {
			return nil, err
		}
		rep.Identity = res.Elapsed.Seconds()
	} else if err != nil {
		return nil, err
	}
	pl, err := Compile(p, wh.Dialect(), DefaultParts[1:], Options{Now: now})
	if err != nil {
		return nil, err
	}
	cpu0 := plan.CPUSeconds()
	res, err := Execute(ctx, wh, pl, progress)
	if err != nil {
		return nil, err
	}
	rep.RunCPU = plan.CPUSeconds() - cpu0
	for _, st := range res.Steps {
		switch st.Name {
		case "profiles":
			rep.ProfilesStep += st.Seconds
		case "segments":
			rep.SegmentsStep += st.Seconds
		}
	}
	rep.Run = res.Elapsed.Seconds()
	if err := segments.MeasurePreviews(ctx, wh, pl.Ctx, rep); err != nil {
		return nil, err
	}
	acc, err := identity.Accuracy(ctx, wh, pl.Ctx)
	if err != nil {
		return nil, err
	}
	if acc != nil {
		rep.Accuracy = acc.String()
	}
	return rep, nil
}

// WatchPeakRSS samples the peak resident memory (VmHWM) of process pid
// every 20 ms, and once more when the function it returns is called, which
// gives the highest seen, in bytes. A process started by a large one reports the
// starter's peak as its own ru_maxrss; VmHWM is the process's own.
func WatchPeakRSS(pid int) func() int64 {
	var peak int64
	stop, done := make(chan struct{}), make(chan struct{})
	proc := strconv.Itoa(pid)
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, plan.PeakRSS(proc))
			select {
			case <-stop:
				peak = max(peak, plan.PeakRSS(proc))
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak
	}
}
