package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"30m": 30 * time.Minute, "12h": 12 * time.Hour, "7d": 7 * 24 * time.Hour,
		"8w": 8 * 7 * 24 * time.Hour, " 1d ": 24 * time.Hour,
	}
	for text, want := range good {
		d, err := ParseDuration(text)
		require.NoError(t, err, text)
		assert.Equal(t, want, d.D, text)
		assert.Equal(t, strings.TrimSpace(text), d.Text)
		assert.True(t, d.Set())
	}
	for _, text := range []string{"", "7", "d", "7days", "0d", "-1d", "+1d", "1.5h", "7D", "30s", "99999999999999w"} {
		_, err := ParseDuration(text)
		assert.Error(t, err, text)
	}
}

func TestParsePercent(t *testing.T) {
	for text, want := range map[string]Percent{"10%": 10, "10": 10, "12.5%": 12.5, " 0 %": 0, "100%": 100} {
		p, err := ParsePercent(text)
		require.NoError(t, err, text)
		assert.Equal(t, want, p, text)
	}
	for _, text := range []string{"", "%", "ten%", "NaN", "Inf%"} {
		_, err := ParsePercent(text)
		assert.Error(t, err, text)
	}
}

func TestSplitsKeepOrder(t *testing.T) {
	s, err := ParseSegment([]byte("name: s\nwhere: {trait: x, eq: 1}\nsplits: {zeta: 10, alpha: 60, mid: 30}\nholdout: 5\n"))
	require.NoError(t, err)
	assert.Equal(t, []Split{{"zeta", 10}, {"alpha", 60}, {"mid", 30}}, s.Splits)
	assert.Equal(t, Percent(5), s.Holdout)
}

func TestParseSegmentYAMLAndJSON(t *testing.T) {
	yamlSrc := `name: lapsed
where:
  all:
    - {trait: last_order_at, before: 90d}
    - event: {source: orders, within: 7d, count: {gte: 2}}
holdout: 10%
splits: {a: 50, b: 50}
`
	jsonSrc := `{"name": "lapsed",
 "where": {"all": [{"trait": "last_order_at", "before": "90d"},
                   {"event": {"source": "orders", "within": "7d", "count": {"gte": 2}}}]},
 "holdout": "10%", "splits": {"a": 50, "b": 50}}`
	for name, src := range map[string]string{"yaml": yamlSrc, "json": jsonSrc} {
		t.Run(name, func(t *testing.T) {
			s, err := ParseSegment([]byte(src))
			require.NoError(t, err)
			assert.Equal(t, "lapsed", s.Name)
			assert.Equal(t, UnsavedFile, s.Pos.File)
			assert.Equal(t, 1, s.Pos.Line)
			require.Len(t, s.Where.All, 2)
			assert.Equal(t, 90*24*time.Hour, s.Where.All[0].Before.D)
			ev := s.Where.All[1].Event
			require.NotNil(t, ev)
			assert.Equal(t, "orders", ev.Source)
			assert.Equal(t, 2, *ev.Count.Gte)
			assert.Equal(t, Percent(10), s.Holdout)
			assert.Equal(t, []Split{{"a", 50}, {"b", 50}}, s.Splits)
		})
	}
}

func TestParseSegmentErrors(t *testing.T) {
	_, err := ParseSegment([]byte(`{"name": "x", "wher": {"trait": "a", "eq": 1}, "holdout": "lots"}`))
	var list ErrorList
	require.True(t, errors.As(err, &list))
	assert.Equal(t, `<unsaved>:1:15: unknown key "wher" in a segment (did you mean "where"?)
<unsaved>:1:59: holdout: expected a percentage like 10% or 10, got text`, err.Error())

	_, err = ParseSegment([]byte(""))
	assert.EqualError(t, err, "<unsaved>:1:1: empty segment: give at least name and where")
}

func TestOperandTypes(t *testing.T) {
	s, err := ParseSegment([]byte(`name: s
where:
  any:
    - {trait: a, eq: 2024-01-01}
    - {trait: a, eq: 2024-01-01T10:00:00Z}
    - {trait: a, eq: 3}
    - {trait: a, eq: 3.5}
    - {trait: a, eq: true}
    - {trait: a, eq: "true"}
    - {trait: a, in: [1, x, false]}
`))
	require.NoError(t, err)
	got := []any{}
	for _, c := range s.Where.Any {
		got = append(got, c.Ops()[0].Value)
	}
	assert.Equal(t, []any{"2024-01-01", "2024-01-01T10:00:00Z", int64(3), 3.5, true, "true",
		[]any{int64(1), "x", false}}, got)
}

func loadValid(t *testing.T) *Project {
	t.Helper()
	t.Setenv("KLAVIYO_API_KEY", "k")
	p, err := Load("testdata/valid_full")
	require.NoError(t, err)
	require.NoError(t, Validate(p))
	return p
}

func TestValidateSegment(t *testing.T) {
	p := loadValid(t)
	s, err := ParseSegment([]byte(`name: big_spenders
where:
  all:
    - {trait: lifetme_value, gte: 1000}
    - {segment: lapsed_vip}
    - event: {source: newsletter, name: signup}
`))
	require.NoError(t, err)
	err = ValidateSegment(p, s)
	assert.Equal(t, `<unsaved>:4:15: unknown trait "lifetme_value" (did you mean "lifetime_value"?)
<unsaved>:6:41: source "newsletter" has no event column, so events cannot be matched by name: set event on the source (the column holding the event's name) or drop name`, err.Error())

	// editing vip so that it uses lapsed_vip, which uses vip: a loop
	s, err = ParseSegment([]byte(`{"name": "vip", "where": {"segment": "lapsed_vip"}}`))
	require.NoError(t, err)
	assert.EqualError(t, ValidateSegment(p, s),
		`<unsaved>:1:38: segment cycle: vip -> lapsed_vip -> vip (a segment cannot include itself, directly or through others)`)

	s, err = ParseSegment([]byte(`{"name": "vip", "where": {"trait": "tier", "in": ["vip", "gold"]}}`))
	require.NoError(t, err)
	assert.NoError(t, ValidateSegment(p, s))
}

func TestLookupsAndOrder(t *testing.T) {
	p := loadValid(t)
	assert.Equal(t, "raw.orders", p.Source("orders").Table)
	assert.Nil(t, p.Source("nope"))
	assert.Equal(t, "sum", p.Trait("lifetime_value").Aggregate)
	assert.Equal(t, "lapsed_vip", p.Segment("lapsed_vip").Name)
	assert.Equal(t, "us", p.Destination("klaviyo").Region)
	assert.Equal(t, "Europe/Amsterdam", p.Location().String())
	assert.Equal(t, time.UTC, (&Project{Timezone: "Nowhere/City"}).Location())

	q := &Project{Traits: []*Trait{
		{Name: "c", SQL: "b + a"}, {Name: "b", SQL: "a * 2"}, {Name: "a", From: StringList{"s.x"}, Aggregate: "sum"},
	}}
	order, err := q.TraitOrder()
	require.NoError(t, err)
	var names []string
	for _, tr := range order {
		names = append(names, tr.Name)
	}
	assert.Equal(t, []string{"a", "b", "c"}, names)

	q.Traits[2] = &Trait{Name: "a", SQL: "c", Pos: Pos{File: "m.yaml", Line: 3, Col: 5}}
	_, err = q.TraitOrder()
	var list ErrorList
	require.True(t, errors.As(err, &list))
	assert.Equal(t, "trait cycle: c -> b -> a -> c (a sql trait cannot depend on itself, directly or through others)", err.Error())

	segs := &Project{Segments: []*Segment{
		{Name: "x", Where: &Condition{All: []*Condition{{Segment: "y"}, {Not: &Condition{Segment: "z"}}}}},
		{Name: "y", Where: &Condition{Segment: "z"}},
		{Name: "z", Where: &Condition{Trait: "t", Eq: 1}},
	}}
	names = nil
	for _, s := range segs.SegmentOrder() {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"z", "y", "x"}, names)
}

func TestSQLTraitRefs(t *testing.T) {
	traits := []string{"ltv", "tier", "orders_30d", "Mixed", "email"}
	cases := map[string][]string{
		"CASE WHEN ltv >= 500 THEN 'vip' ELSE tier END": {"ltv", "tier"},
		"'ltv' || 'it''s tier'":                         nil,
		`"ltv" + "LTV" + LTV`:                           {"ltv"},
		"orders_30d -- tier\n + 1":                      {"orders_30d"},
		"/* email */ t.ltv + ltv.x + email(1) + 2e10":   nil,
		"coalesce(ORDERS_30D, 0) + mixed":               {"orders_30d", "Mixed"},
		"ltv+tier":                                      {"ltv", "tier"},
		"'unterminated ltv":                             nil,
	}
	for expr, want := range cases {
		assert.Equal(t, want, SQLTraitRefs(expr, traits), expr)
	}
}

func TestErrorListSortedAndDetected(t *testing.T) {
	list := ErrorList{
		{Pos{"models/b.yaml", 3, 5}, "b3"},
		{Pos{"cohort.yaml", 9, 1}, "root"},
		{Pos{"models/b.yaml", 2, 9}, "b2"},
		{Pos{"models/b.yaml", 2, 1}, "b2a"},
	}
	err := list.err()
	assert.Equal(t, "cohort.yaml:9:1: root\nmodels/b.yaml:2:1: b2a\nmodels/b.yaml:2:9: b2\nmodels/b.yaml:3:5: b3", err.Error())
	var got ErrorList
	assert.True(t, errors.As(fmtWrap(err), &got))
	assert.Nil(t, ErrorList(nil).err())
}

func fmtWrap(err error) error { return errors.Join(errors.New("validate"), err) }

// TestStarterProjectAsksForSources checks that cohort init's starter
// project loads, and that validate says what it lacks: a project without
// sources would only fail at run.
func TestStarterProjectAsksForSources(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteStarter(dir, "shop", false))
	p, err := Load(dir)
	require.NoError(t, err)
	require.EqualError(t, Validate(p), "models: the project has no sources yet: describe at least one, with its identifiers, in a models/*.yaml file (see models/project.yaml)")
	assert.Equal(t, "shop", p.Name)
}

// An empty cohort.yaml is an error naming what is missing, not " is valid".
func TestEmptyProjectFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cohort.yaml"), nil, 0o644))
	p, err := Load(dir)
	if err == nil {
		err = Validate(p)
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cohort.yaml: the project needs a name")
}

// TestLoadDefaultsAndOrder checks defaults, file order and Dir.
func TestLoadDefaultsAndOrder(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		path := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
	write("cohort.yaml", "name: x\n")
	write("models/b.yaml", "traits: [{name: b, sql: '2'}]\n")
	write("models/a/z.yaml", "traits: [{name: az, sql: '1'}]\n")
	write("models/c.yaml", "# nothing yet\n")
	p, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, dir, p.Dir)
	assert.Equal(t, WarehouseConfig{Type: "duckdb", Path: ".cohort/warehouse.duckdb", Schema: "cohort"}, p.Warehouse)
	assert.Equal(t, ".cohort/state.db", p.State)
	assert.Equal(t, "UTC", p.Timezone)
	require.Len(t, p.Traits, 2)
	assert.Equal(t, "az", p.Traits[0].Name)
	assert.Equal(t, Pos{File: "models/a/z.yaml", Line: 1, Col: 10}, p.Traits[0].Pos)
	assert.Equal(t, "b", p.Traits[1].Name)
}

// A value loading could not read is reported once, by loading; an
// operator written without a value is still reported by validation.
func TestUnreadableOperatorReportedOnce(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte("name: x\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "models"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "a.yaml"), []byte(`sources:
  - {name: s, table: raw.s, identifiers: [{type: email, column: e}]}
identity:
  identifiers: [{type: email}]
traits:
  - {name: at, from: s.at, aggregate: max}
segments:
  - {name: bad, where: {trait: at, before: 1.5h}}
  - {name: bare, where: {trait: at, after: }}
`), 0o644))
	_, err := LoadAndValidate(dir)
	var list ErrorList
	require.ErrorAs(t, err, &list)
	assert.Equal(t, []string{
		`models/a.yaml:8:44: before: invalid duration "1.5h": write a positive whole number before the unit`,
		`models/a.yaml:9:43: after has no value (to match a missing value write is_null: true)`,
	}, strings.Split(list.Error(), "\n"))
}

func TestErrorJSON(t *testing.T) {
	b, err := json.Marshal(ErrorList{{Pos{"models/a.yaml", 3, 5}, "bad"}, {Pos{}, "general"}})
	require.NoError(t, err)
	assert.JSONEq(t, `[{"file":"models/a.yaml","line":3,"col":5,"message":"bad"},{"message":"general"}]`, string(b))
}

// BenchmarkLoadValidate loads and validates a large generated project:
// 100 sources, 2000 traits (a tenth sql), 1000 segments in 20 files.
func BenchmarkLoadValidate(b *testing.B) {
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte("name: big\n"), 0o644))
	require.NoError(b, os.MkdirAll(filepath.Join(dir, "models"), 0o755))
	for f := 0; f < 20; f++ {
		var sb strings.Builder
		sb.WriteString("sources:\n")
		for i := 0; i < 5; i++ {
			fmt.Fprintf(&sb, "  - name: s%d_%d\n    table: raw.t%d_%d\n    timestamp: at\n    identifiers: [{type: email, column: email}, {type: customer_id, column: id}]\n", f, i, f, i)
		}
		sb.WriteString("traits:\n")
		for i := 0; i < 100; i++ {
			if i%10 == 9 {
				fmt.Fprintf(&sb, "  - {name: t%d_%d, sql: \"CASE WHEN t%d_%d > 5 THEN 'a' ELSE 'b' END\"}\n", f, i, f, i-1)
				continue
			}
			fmt.Fprintf(&sb, "  - {name: t%d_%d, from: s%d_%d.c%d, pick: latest}\n", f, i, f, i%5, i)
		}
		sb.WriteString("segments:\n")
		for i := 0; i < 50; i++ {
			fmt.Fprintf(&sb, "  - name: g%d_%d\n    where:\n      all:\n        - {trait: t%d_%d, gte: 3}\n        - event: {source: s%d_%d, within: 7d}\n", f, i, f, i, f, i%5)
			if i > 0 {
				fmt.Fprintf(&sb, "        - {segment: g%d_%d}\n", f, i-1)
			}
		}
		require.NoError(b, os.WriteFile(filepath.Join(dir, "models", fmt.Sprintf("m%02d.yaml", f)), []byte(sb.String()), 0o644))
	}
	b.ResetTimer()
	for b.Loop() {
		p, err := Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := Validate(p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReadOnlyQuery(t *testing.T) {
	for sql, want := range map[string]bool{
		"SELECT 1":                             true,
		"with x as (select 1) select * from x": true,
		"-- note\n(SELECT ';' AS a)":           true,
		"SELECT 1;":                            true,
		"123":                                  false,
		"":                                     false,
		"DELETE FROM t":                        false,
		"SELECT 1; DROP TABLE t":               false,
		"'select'":                             false,
	} {
		assert.Equal(t, want, readOnlyQuery(sql), sql)
	}
	assert.Equal(t, []string{"orders", ""}, func() []string { s, c := SplitRef("orders"); return []string{s, c} }())
}

// FuzzParseSegment: any input gives a segment or an ErrorList, never a panic.
func FuzzParseSegment(f *testing.F) {
	f.Add([]byte("name: s\nwhere: {all: [{trait: a, in: [1, x]}, {event: {source: o, within: 7d}}]}\nsplits: {a: 1}\n"))
	f.Add([]byte(`{"name": "x", "where": {"not": {"segment": "x"}}, "holdout": "10%"}`))
	f.Add([]byte("a: &x [*x]\n<<: *x\n"))
	f.Add([]byte("name: ${X:-y}\nwhere: !!map {trait: a, eq: ~}\n"))
	p := &Project{Sources: []*Source{{Name: "o", Timestamp: "t"}}, Traits: []*Trait{{Name: "a", SQL: "1"}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSegment(data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("not an ErrorList: %v", err)
			}
			return
		}
		_ = ValidateSegment(p, s)
	})
}

// TestSegmentJSONRoundTrip: the API sends segments as JSON and reads them
// back with ParseSegment.
func TestSegmentJSONRoundTrip(t *testing.T) {
	p := loadValid(t)
	for _, s := range p.Segments {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		back, err := ParseSegment(b)
		require.NoError(t, err, string(b))
		again, err := json.Marshal(back)
		require.NoError(t, err)
		assert.Equal(t, string(b), string(again))
		require.NoError(t, ValidateSegment(p, back))
	}
	b, _ := json.Marshal(p.Segment("lapsed_vip"))
	assert.Contains(t, string(b), `"holdout":10,"splits":{"b":30,"a":70}`)
	assert.Contains(t, string(b), `{"trait":"last_order_at","before":"90d"}`)
	assert.Contains(t, string(b), `{"trait":"first_name","is_null":false}`)
}
