package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// IndexStep is the name of the step after publish that indexes the output
// tables for the profile look-up.
const IndexStep = "index"

// lookupIndexes are the columns the profile look-up (`cohort profile`, the
// API) filters on, per output table: the identifier's profile, its
// identifiers and their sources, its traits, its segments and its recent
// events. A table written in the order of its look-up column (where the
// warehouse prunes blocks by their minimum and maximum) needs no index.
func lookupIndexes(p *models.Project, d dialects.Dialect) map[string][]string {
	m := map[string][]string{
		identity.GraphTable:       {"identifier_value", "profile_id"},
		profiles.Table:            {"profile_id"},
		segments.MembershipsTable: {"profile_id"},
	}
	if !identity.SourcesByKey(d) {
		m[identity.SourcesTable] = []string{"identifier_value"}
	}
	for _, src := range profiles.RowSources(p) {
		if src.IsEvents() && src.Timestamp != "" && !profiles.RowsByProfile(d, src) {
			m[profiles.RowsTable(src.Name)] = []string{"profile_id"}
		}
	}
	return m
}

// lookupIndex is one index a run builds for the profile look-up.
type lookupIndex struct{ table, column, sql string }

// indexStatements index the tables a run published, where the dialect
// keeps indexes. A replaced table comes without them (DuckDB cannot rename
// an indexed table, so they are not built on the staged one); one changed
// in place keeps its own.
func indexStatements(pl *Plan) []lookupIndex {
	c := pl.Ctx
	want := lookupIndexes(c.Project, c.Dialect)
	var out []lookupIndex
	for _, t := range pl.Outputs() {
		cols := append([]string(nil), want[t]...)
		sort.Strings(cols)
		for _, col := range cols {
			if st := dialects.IndexOn(c.Dialect, c.Schema, t, col); st != "" {
				out = append(out, lookupIndex{t, col, st})
			}
		}
	}
	return out
}

// indexOutputs runs indexStatements after the publish step and records
// the step with the time each index took. The run is published already: a
// failure here makes look-ups slow, not wrong, and is recorded in the step.
func indexOutputs(ctx context.Context, wh dialects.Warehouse, pl *Plan, progress func(Event)) state.StepRecord {
	start := time.Now()
	rec := state.StepRecord{Name: IndexStep, StartedAt: start}
	ixs := indexStatements(pl)
	if len(ixs) == 0 {
		return rec
	}
	progress(Event{Step: IndexStep, Message: "started"})
	for _, ix := range ixs {
		t := time.Now()
		if err := wh.Exec(ctx, ix.sql); err != nil {
			rec.Seconds = time.Since(start).Seconds()
			rec.Error = fmt.Sprintf("the run is published, but indexing its tables for the profile look-up failed (look-ups read whole tables until the next run): %s: %v", ix.sql, err)
			return rec
		}
		rec.Details = append(rec.Details, fmt.Sprintf("%s.%s %.1fs", ix.table, ix.column, time.Since(t).Seconds()))
	}
	rec.Seconds = time.Since(start).Seconds()
	progress(Event{Step: IndexStep, Message: "done", Elapsed: time.Since(start), Done: true})
	return rec
}
