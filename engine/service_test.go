package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/demo"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/models"
)

// The service is what the command line and the API call: a run through it
// is recorded, its summary measures accuracy on the demo project only, and
// lookups read what the run wrote.
func TestServiceRunsTheDemoAndMeasuresAccuracyOnlyThere(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p := demoProject(t)
	require.True(t, demo.IsProject(p))
	svc := NewService(p, ServiceOptions{RunID: "svc1"})
	svc.Clock = func() time.Time { return now }
	defer svc.Close()
	_, err := svc.GenerateDemo(ctx, DemoOptions{Profiles: 200, Seed: 5, Now: now})
	require.NoError(t, err)

	// progress names what each statement builds (the YAML definitions),
	// never its SQL: the segments step says which segments it builds
	var said []string
	res, err := svc.Run(ctx, RunOptions{Progress: func(e Event) { said = append(said, e.Step+": "+e.Message) }})
	require.NoError(t, err)
	require.Equal(t, "svc1", res.RunID, "the run id comes from the options")
	progress := strings.Join(said, "\n")
	require.Contains(t, progress, "segments: segment")
	require.Contains(t, progress, "vip")
	require.NotRegexp(t, `(?i)\b(select|create|insert)\b`, progress)
	runs, err := svc.Runs(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "svc1", runs[0].ID)

	// Where the warehouse prunes blocks by their minimum and maximum
	// (DuckDB here), the tables the profile look-up reads by a key are
	// stored in that key's order instead of carrying an index: a setting
	// that let DuckDB drop insertion order would make each look-up scan
	// them whole, and nothing else would notice.
	wh, err := svc.warehouse(ctx)
	require.NoError(t, err)
	require.True(t, wh.Dialect().Capabilities().MinMaxPruning)
	for table, key := range map[string]string{identity.SourcesTable: identity.SourcesKey, "_rows_web_events": "profile_id"} {
		var rows, outOfOrder int64
		q := "SELECT count(*), count(*) FILTER (WHERE prev > k) FROM (SELECT " + key + " AS k, lag(" + key + ") OVER (ORDER BY rowid) AS prev FROM " +
			wh.Dialect().Quote(p.Warehouse.Schema, table) + ") t"
		require.NoError(t, plan.QueryRow(ctx, wh, q, nil, &rows, &outOfOrder), table)
		require.Greater(t, rows, int64(100), table)
		require.Zero(t, outOfOrder, "%s is not stored in %s order", table, key)
	}

	rep, err := svc.Summarize(ctx)
	require.NoError(t, err)
	require.Greater(t, rep.Summary.Profiles, int64(50))
	require.NotNil(t, rep.Accuracy, "the demo project is measured against its truth")
	require.Greater(t, rep.Accuracy.Recall, 0.5)

	who, err := svc.Profile(ctx, Ident{Type: "customer_id", Value: "C100001"})
	require.NoError(t, err)
	require.Contains(t, who.String(), "customer_id:C100001")

	_, err = svc.Overlap(ctx, []string{"vip", "vipp"})
	var unknown *UnknownError
	require.True(t, errors.As(err, &unknown), "an unknown segment is the caller's mistake: %v", err)
	_, err = svc.Compile(context.Background(), CompileOptions{Dialect: "oracle"})
	require.True(t, errors.As(err, &unknown), "%v", err)

	// The same warehouse read by a project that is not the demo's: no
	// accuracy, though demo_truth is there.
	other := *p
	other.Sources = append([]*models.Source{{Name: "mine", Table: "raw.my_customers"}}, p.Sources...)
	svc2 := &Service{Project: &other, Warehouse: wh, Clock: svc.Clock}
	rep2, err := svc2.Summarize(ctx)
	require.NoError(t, err)
	require.Nil(t, rep2.Accuracy)
	require.Equal(t, rep.Summary.Profiles, rep2.Summary.Profiles)
	require.NoError(t, svc2.Close(), "a handed-in warehouse is not the service's to close")

	// Look-ups as serve answers them: on a fresh service, whose handle is
	// read-only (svc still holds the one the demo was written with).
	require.NoError(t, svc.Close())
	svc = NewService(p, ServiceOptions{})
	defer svc.Close()
	wh, err = svc.warehouse(ctx)
	require.NoError(t, err)

	// A look-up reads the events of the sources the person's identifiers
	// came from alone: the same timeline as reading every events source,
	// for people with app events and people without.
	ids, err := svc.SampleIdentifiers(ctx, 80)
	require.NoError(t, err)
	skipped, withApp, cookies := 0, 0, 0
	_, kept, err := dialects.Remember(ctx, wh, "test", func(context.Context, dialects.Warehouse) (any, error) { return 1, nil })
	require.NoError(t, err)
	require.True(t, kept, "a read-only DuckDB handle keeps values between look-ups")
	for _, id := range ids {
		who, err := svc.Profile(ctx, id)
		require.NoError(t, err, id.String())
		require.True(t, who.Identity.RunSources, "the run wrote %s", identity.SourcesTable)
		rd, c, err := svc.reader(ctx)
		require.NoError(t, err)
		all, err := profiles.View(ctx, rd, c, who.Identity.ID)
		require.NoError(t, err)
		require.Equal(t, all.Events, who.Profile.Events, id.String())
		// the identifiers with their sources as the run wrote them per
		// profile (_profile_identifiers) are those found by reading the
		// graph and probing _identity_sources for each identifier, which
		// a warehouse that does not prune blocks does; and so are those
		// found skipping the probe for a type the run found in one source
		// alone, where the handle keeps that (read-only DuckDB)
		probed, err := identity.Lookup(ctx, probing{rd, false}, c, id.Type, id.Value)
		require.NoError(t, err)
		require.Equal(t, probed.Identifiers, who.Identity.Identifiers, id.String())
		single, err := identity.Lookup(ctx, probing{rd, true}, c, id.Type, id.Value)
		require.NoError(t, err)
		require.Equal(t, single.Identifiers, who.Identity.Identifiers, id.String())
		for _, pi := range probed.Identifiers {
			if pi.Type == "anonymous_id" {
				cookies++
			}
		}
		if !slices.Contains(who.Identity.Sources(), "app_events") {
			skipped++
		}
		if slices.ContainsFunc(all.Events, func(e profiles.Event) bool { return e.Source == "app_events" }) {
			withApp++
		}
	}
	require.Positive(t, skipped, "no sampled person lacks app events")
	require.Positive(t, withApp, "no sampled person has app events")
	require.Positive(t, cookies, "no sampled person has a cookie (a type of one source)")
}

// probing is a read-only DuckDB handle whose dialect says it does not
// prune blocks, so a look-up reads the graph and probes _identity_sources;
// remember keeps its values between look-ups like the handle it wraps.
type probing struct {
	dialects.Warehouse
	remember bool
}

func (w probing) Dialect() dialects.Dialect { return noPruning{w.Warehouse.Dialect()} }

func (w probing) Remember(ctx context.Context, key string, compute func(context.Context, dialects.Warehouse) (any, error)) (any, bool, error) {
	if !w.remember {
		return nil, false, nil
	}
	return dialects.Remember(ctx, w.Warehouse, key, compute)
}

type noPruning struct{ dialects.Dialect }

func (d noPruning) Capabilities() dialects.Capabilities {
	c := d.Dialect.Capabilities()
	c.MinMaxPruning = false
	return c
}
