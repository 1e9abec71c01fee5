package profiles_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/profiles/profilestest"
	"github.com/cohort-cdp/cohort/models"
)

var part = engine.Part{Name: "profiles", Steps: profiles.Steps}

// readProfiles reads the final profiles table as name -> column -> value.
func readProfiles(t *testing.T, wh dialects.Warehouse, schema string) (map[string]map[string]any, []string) {
	t.Helper()
	rows, err := wh.Query(context.Background(), "SELECT * FROM "+wh.Dialect().Quote(schema, "profiles"))
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	out := map[string]map[string]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		m := map[string]any{}
		for i, c := range cols {
			m[c] = vals[i]
		}
		out[fmt.Sprint(vals[0])] = m
	}
	require.NoError(t, rows.Err())
	return out, cols
}

// same compares a warehouse value with the Go one: numbers with a
// tolerance, times to the microsecond.
func same(got, want any) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	switch w := want.(type) {
	case float64:
		g, ok := num(got)
		return ok && math.Abs(g-w) < 1e-6*math.Max(1, math.Abs(w))
	case int64:
		g, ok := num(got)
		return ok && g == float64(w)
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.UTC().Format(time.RFC3339Nano) == w.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}

func TestTraits(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		f := profilestest.New(t, profilestest.TraitsYAML)
		f.Load(t, w.WH)
		for _, now := range []time.Time{profilestest.Now, profilestest.Now.Add(20 * 24 * time.Hour)} {
			f.Run(t, w.WH, now, part)
			got, cols := readProfiles(t, w.WH, f.Project.Warehouse.Schema)
			want := f.Expected(now)
			require.Equal(t, []string{"profile_id", "email", "first_email", "first_name", "country", "lifetime_value", "order_count",
				"orders_30d", "avg_order", "min_order", "last_order_at", "pages", "big_buyer", "tier",
				"rfm_recency", "rfm_frequency", "rfm_monetary", "rfm", "churn", "updated_at"}, cols)
			require.Len(t, got, len(want))
			var bad []string
			labels := map[any]int{}
			for pid, traits := range want {
				g := got[pid]
				require.NotNil(t, g, pid)
				for name, v := range traits {
					if !same(g[name], v) {
						bad = append(bad, fmt.Sprintf("%s.%s = %v (%T), want %v (%T)", pid, name, g[name], g[name], v, v))
					}
				}
				require.True(t, same(g["updated_at"], now), "updated_at %v", g["updated_at"])
				labels[traits["rfm"]]++
			}
			sort.Strings(bad)
			require.Empty(t, bad, strings.Join(bad, "\n"))
			// the fixture must exercise the traits, or the comparison proves little
			require.GreaterOrEqual(t, len(labels), 4, "rfm labels seen: %v", labels)
		}
	})
}

func TestView(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		f := profilestest.New(t, profilestest.TraitsYAML)
		f.Load(t, w.WH)
		f.Run(t, w.WH, profilestest.Now, part)
		c := f.ReadContext(w.WH.Dialect(), profilestest.Now)

		// the customer with the most events
		n := map[string]int{}
		best := ""
		for _, e := range f.Events {
			n[e.CustomerID]++
			if n[e.CustomerID] > n[best] {
				best = e.CustomerID
			}
		}
		pid := profilestest.ProfileID(best)
		v, err := profiles.View(ctx, w.WH, c, pid)
		require.NoError(t, err)
		want := f.Expected(profilestest.Now)[pid]
		require.Equal(t, "email", v.Traits[0].Name)
		for _, tv := range v.Traits {
			if exp, ok := want[tv.Name]; ok {
				require.True(t, same(tv.Value, exp), "%s = %v, want %v", tv.Name, tv.Value, exp)
			}
		}
		var times []time.Time
		for _, e := range f.Events {
			if e.CustomerID == best {
				times = append(times, e.At)
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i].After(times[j]) })
		require.Len(t, v.Events, min(len(times), profiles.RecentEvents))
		for i, e := range v.Events {
			require.True(t, same(e.At, times[i]), "event %d at %v, want %v", i, e.At, times[i])
			require.Equal(t, "events", e.Source)
			require.NotEmpty(t, e.Name)
			require.Contains(t, e.Columns, "page")
		}
		require.Empty(t, v.Segments) // no segments table yet
		require.Contains(t, v.String(), "recent events")

		_, err = profiles.View(ctx, w.WH, c, "p_nobody")
		require.True(t, errors.Is(err, profiles.ErrNoProfile), "%v", err)
	})
}

func TestTraitCycle(t *testing.T) {
	f := profilestest.New(t, profilestest.TraitsYAML)
	f.Project.Traits = append(f.Project.Traits,
		&models.Trait{Name: "a", SQL: "b + 1"}, &models.Trait{Name: "b", SQL: "a + 1"})
	drv, err := dialects.Lookup("duckdb")
	require.NoError(t, err)
	c := f.ReadContext(drv.Dialect, profilestest.Now)
	_, err = profiles.Steps(c)
	require.Error(t, err)
	require.Contains(t, err.Error(), "a -> b -> a")
}
