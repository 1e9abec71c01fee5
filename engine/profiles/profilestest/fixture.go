// Package profilestest is a small deterministic shop (customers, a CRM,
// orders, web events) with a hand-made identity_graph (one customer_id, one
// profile), and Go computations of what profiles and segments should hold,
// for the tests of profiles and segments. Test code only.
package profilestest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// Now is the first run's clock.
var Now = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// Customer is a row of raw.customers.
type Customer struct {
	ID                        string
	Email, FirstName, Country *string
	UpdatedAt                 time.Time
}

// CRM is a row of raw.crm.
type CRM struct {
	ID        string
	FirstName *string
	UpdatedAt time.Time
}

// Order is a row of raw.orders.
type Order struct {
	ID, CustomerID string
	Total          float64
	OrderedAt      time.Time
}

// Event is a row of raw.events.
type Event struct {
	CustomerID, Name string
	Page             *string
	Price            *float64
	At               time.Time
}

// Fixture is the shop's data and project.
type Fixture struct {
	Dir        string
	Project    *models.Project
	Customers  []Customer
	CRM        []CRM
	Orders     []Order
	Events     []Event
	ProfileIDs []string // every profile of identity_graph
}

// ProfileID is the profile of a customer id in the stand-in identity graph.
func ProfileID(customer string) string { return "p_" + customer }

func str(s string) *string { return &s }

// New builds the fixture: 40 customers, 2 without any rows but an identifier.
func New(t testing.TB, models_yaml string) *Fixture {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	f := &Fixture{}
	names := []string{"Anna", "Bram", "Chloé", "Daan", "Eva"}
	countries := []string{"NL", "BE", "DE"}
	pages := []string{"home", "/p/shoes", "50%_off", "500_off", "/p/hat"}
	evNames := []string{"view", "add_to_cart", "purchase"}
	minute := 0
	next := func(maxDays int) time.Time { // distinct timestamps
		minute++
		return Now.Add(-time.Duration(r.IntN(maxDays*24*60))*time.Minute - time.Duration(minute)*time.Second)
	}
	maybe := func(list []string, pNil float64) *string {
		if r.Float64() < pNil {
			return nil
		}
		return str(list[r.IntN(len(list))])
	}
	for i := 1; i <= 40; i++ {
		id := fmt.Sprintf("c%02d", i)
		f.ProfileIDs = append(f.ProfileIDs, ProfileID(id))
		if i > 38 {
			continue // known identifier, no rows
		}
		for j := 0; j < r.IntN(4); j++ {
			c := Customer{ID: id, FirstName: maybe(names, 0.3), Country: maybe(countries, 0.1), UpdatedAt: next(400)}
			if x := r.Float64(); x > 0.2 {
				c.Email = str(fmt.Sprintf("%s-%d@x.com", id, j))
			} else if x > 0.1 {
				c.Email = str("  ") // blank: never wins a pick
			}
			f.Customers = append(f.Customers, c)
		}
		if r.IntN(2) == 0 {
			f.CRM = append(f.CRM, CRM{ID: id, FirstName: maybe(names, 0.4), UpdatedAt: next(400)})
		}
		for j := 0; j < r.IntN(7); j++ {
			f.Orders = append(f.Orders, Order{ID: fmt.Sprintf("o%d", len(f.Orders)+1), CustomerID: id,
				Total: float64(500+r.IntN(20000)) / 100, OrderedAt: next(200)})
		}
		for j := 0; j < r.IntN(9); j++ {
			e := Event{CustomerID: id, Name: evNames[r.IntN(3)], Page: maybe(pages, 0.2), At: next(40)}
			if r.IntN(2) == 0 {
				p := float64(r.IntN(5000)) / 100
				e.Price = &p
			}
			f.Events = append(f.Events, e)
		}
	}
	// ties: two rows of c01 at the same newest time and two at the same
	// oldest time, with different values: the value's text decides
	late, early := Now.Add(-time.Minute), Now.Add(-1000*24*time.Hour)
	f.Customers = append(f.Customers,
		Customer{ID: "c01", Email: str("c01-zoe@x.com"), FirstName: str("Zoe"), Country: str("NL"), UpdatedAt: late},
		Customer{ID: "c01", Email: str("c01-ann@x.com"), FirstName: str("Ann"), Country: str("BE"), UpdatedAt: late},
		Customer{ID: "c01", Email: str("c01-yan@x.com"), UpdatedAt: early},
		Customer{ID: "c01", Email: str("c01-bob@x.com"), UpdatedAt: early})
	f.Dir = t.TempDir()
	write := func(name, text string) {
		path := filepath.Join(f.Dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cohort.yaml", "name: fixture\ntimezone: UTC\n")
	write("models/sources.yaml", sourcesYAML)
	write("models/models.yaml", models_yaml)
	p, err := models.Load(f.Dir)
	if err != nil {
		t.Fatalf("fixture project: %v", err)
	}
	if err := models.Validate(p); err != nil {
		t.Fatalf("fixture project: %v", err)
	}
	f.Project = p
	return f
}

const sourcesYAML = `
sources:
  - name: customers
    table: raw.customers
    timestamp: updated_at
    identifiers: [{type: customer_id, column: customer_id}]
  - name: crm
    table: raw.crm
    timestamp: updated_at
    identifiers: [{type: customer_id, column: customer_id}]
  - name: orders
    table: raw.orders
    primary_key: order_id
    timestamp: ordered_at
    identifiers: [{type: customer_id, column: customer_id}]
  - name: events
    kind: events
    table: raw.events
    timestamp: occurred_at
    event: event_name
    identifiers: [{type: customer_id, column: customer_id}]
identity:
  identifiers:
    - {type: customer_id}
`

// Load writes the fixture's source tables and the stand-in identity_graph
// (one customer_id, one profile) into the warehouse.
func (f *Fixture) Load(t testing.TB, wh dialects.Warehouse) {
	t.Helper()
	ctx := context.Background()
	d := wh.Dialect()
	tx, ts, num := d.TypeName(dialects.Text), d.TypeName(dialects.Timestamp), d.TypeName(dialects.Number)
	exec := func(q string, args ...any) {
		t.Helper()
		if err := wh.Exec(ctx, dialects.Bind(d, q), args...); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	exec(d.CreateSchema("raw"))
	exec(d.CreateSchema(f.Project.Warehouse.Schema))
	exec(fmt.Sprintf("CREATE TABLE raw.customers (customer_id %s, email %s, first_name %s, country %s, updated_at %s)", tx, tx, tx, tx, ts))
	exec(fmt.Sprintf("CREATE TABLE raw.crm (customer_id %s, first_name %s, updated_at %s)", tx, tx, ts))
	exec(fmt.Sprintf("CREATE TABLE raw.orders (order_id %s, customer_id %s, total %s, ordered_at %s)", tx, tx, num, ts))
	exec(fmt.Sprintf("CREATE TABLE raw.events (customer_id %s, event_name %s, page %s, price %s, occurred_at %s)", tx, tx, tx, num, ts))
	insert := func(table string, n, width int, tsCol int, row func(i int) []any) {
		t.Helper()
		if n == 0 {
			return
		}
		var vals []string
		var args []any
		for i := 0; i < n; i++ {
			var ph []string
			for c := 0; c < width; c++ {
				if c == tsCol {
					ph = append(ph, "CAST(? AS TIMESTAMP)")
				} else {
					ph = append(ph, "?")
				}
			}
			vals = append(vals, "("+strings.Join(ph, ", ")+")")
			args = append(args, row(i)...)
		}
		exec("INSERT INTO "+table+" VALUES "+strings.Join(vals, ", "), args...)
	}
	tsv := func(x time.Time) string { return plan.TimeArg(x) }
	insert("raw.customers", len(f.Customers), 5, 4, func(i int) []any {
		c := f.Customers[i]
		return []any{c.ID, c.Email, c.FirstName, c.Country, tsv(c.UpdatedAt)}
	})
	insert("raw.crm", len(f.CRM), 3, 2, func(i int) []any {
		c := f.CRM[i]
		return []any{c.ID, c.FirstName, tsv(c.UpdatedAt)}
	})
	insert("raw.orders", len(f.Orders), 4, 3, func(i int) []any {
		o := f.Orders[i]
		return []any{o.ID, o.CustomerID, o.Total, tsv(o.OrderedAt)}
	})
	insert("raw.events", len(f.Events), 5, 4, func(i int) []any {
		e := f.Events[i]
		return []any{e.CustomerID, e.Name, e.Page, e.Price, tsv(e.At)}
	})
	graph := d.Quote(f.Project.Warehouse.Schema, "identity_graph")
	exec(fmt.Sprintf("CREATE TABLE %s (profile_id %s, identifier_type %s, identifier_value %s, first_seen_at %s, last_seen_at %s)", graph, tx, tx, tx, ts, ts))
	insert(graph, len(f.ProfileIDs), 5, -1, func(i int) []any {
		id := strings.TrimPrefix(f.ProfileIDs[i], "p_")
		return []any{f.ProfileIDs[i], "customer_id", id, nil, nil}
	})
}

// Run compiles and executes the given parts of a run at now, with the real
// executor (stage, then swap), and returns the run's context.
func (f *Fixture) Run(t testing.TB, wh dialects.Warehouse, now time.Time, parts ...engine.Part) *plan.Context {
	t.Helper()
	pl, err := engine.Compile(f.Project, wh.Dialect(), parts, engine.Options{Now: now})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if _, err := engine.Execute(context.Background(), wh, pl, nil); err != nil {
		t.Fatalf("run: %v", err)
	}
	return pl.Ctx
}

// ReadContext is a context reading the final tables at now (as preview,
// overlap and the profile view do).
func (f *Fixture) ReadContext(d dialects.Dialect, now time.Time) *plan.Context {
	return &plan.Context{Project: f.Project, Dialect: d, Schema: f.Project.Warehouse.Schema, Now: now, Loc: time.UTC, RunID: "read"}
}

// Profiles is each profile's expected traits computed in Go.
type Profiles map[string]map[string]any

type val struct {
	v  any
	ts time.Time
	k  int
}

// pick ranks values like the SQL: latest/first by time (then position in
// from, then text), priority by position first, most_frequent by count.
func pick(vals []val, how string) any {
	if len(vals) == 0 {
		return nil
	}
	if how == "most_frequent" {
		type agg struct {
			n    int
			last time.Time
			k    int
		}
		m := map[string]*agg{}
		for _, v := range vals {
			s := v.v.(string)
			a := m[s]
			if a == nil {
				a = &agg{k: v.k}
				m[s] = a
			}
			a.n++
			if v.ts.After(a.last) {
				a.last = v.ts
			}
			if v.k < a.k {
				a.k = v.k
			}
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := m[keys[i]], m[keys[j]]
			if a.n != b.n {
				return a.n > b.n
			}
			if !a.last.Equal(b.last) {
				return a.last.After(b.last)
			}
			if a.k != b.k {
				return a.k < b.k
			}
			return keys[i] < keys[j]
		})
		return keys[0]
	}
	sort.Slice(vals, func(i, j int) bool {
		a, b := vals[i], vals[j]
		if how == "priority" && a.k != b.k {
			return a.k < b.k
		}
		if !a.ts.Equal(b.ts) {
			if how == "first" {
				return a.ts.Before(b.ts)
			}
			return a.ts.After(b.ts)
		}
		if a.k != b.k {
			return a.k < b.k
		}
		return fmt.Sprint(a.v) < fmt.Sprint(b.v) // the text, byte by byte
	})
	return vals[0].v
}

// Expected computes, in Go, the traits of the models the tests use (see
// TraitsYAML) at now.
func (f *Fixture) Expected(now time.Time) Profiles {
	out := Profiles{}
	for _, pid := range f.ProfileIDs {
		out[pid] = map[string]any{}
	}
	email, firstEmail, country, first := map[string][]val{}, map[string][]val{}, map[string][]val{}, map[string][]val{}
	for _, c := range f.Customers {
		pid := ProfileID(c.ID)
		if c.Email != nil && strings.TrimSpace(*c.Email) != "" {
			email[pid] = append(email[pid], val{*c.Email, c.UpdatedAt, 0})
			firstEmail[pid] = append(firstEmail[pid], val{*c.Email, c.UpdatedAt, 0})
		}
		if c.Country != nil {
			country[pid] = append(country[pid], val{*c.Country, c.UpdatedAt, 0})
		}
		if c.FirstName != nil {
			first[pid] = append(first[pid], val{*c.FirstName, c.UpdatedAt, 1})
		}
	}
	for _, c := range f.CRM {
		if c.FirstName != nil {
			pid := ProfileID(c.ID)
			first[pid] = append(first[pid], val{*c.FirstName, c.UpdatedAt, 0})
		}
	}
	type ord struct {
		n, n30      int64
		sum         float64
		min         float64
		first, last time.Time
	}
	orders := map[string]*ord{}
	for _, o := range f.Orders {
		pid := ProfileID(o.CustomerID)
		a := orders[pid]
		if a == nil {
			a = &ord{min: o.Total, first: o.OrderedAt, last: o.OrderedAt}
			orders[pid] = a
		}
		a.n++
		a.sum += o.Total
		if o.OrderedAt.After(now.Add(-30*24*time.Hour)) || o.OrderedAt.Equal(now.Add(-30*24*time.Hour)) {
			a.n30++
		}
		a.min = min(a.min, o.Total)
		if o.OrderedAt.Before(a.first) {
			a.first = o.OrderedAt
		}
		if o.OrderedAt.After(a.last) {
			a.last = o.OrderedAt
		}
	}
	pages := map[string]map[string]bool{}
	for _, e := range f.Events {
		pid := ProfileID(e.CustomerID)
		if e.Page != nil {
			if pages[pid] == nil {
				pages[pid] = map[string]bool{}
			}
			pages[pid][*e.Page] = true
		}
	}
	// population gap for churn_risk
	var gaps []float64
	for _, a := range orders {
		if a.n >= 2 {
			gaps = append(gaps, a.last.Sub(a.first).Seconds()/float64(a.n-1))
		}
	}
	popGap := 0.0
	for _, g := range gaps {
		popGap += g / float64(len(gaps))
	}
	for pid, p := range out {
		p["email"] = pick(email[pid], "latest")
		p["first_email"] = pick(firstEmail[pid], "first")
		p["first_name"] = pick(first[pid], "priority")
		p["country"] = pick(country[pid], "most_frequent")
		p["pages"] = int64(len(pages[pid]))
		a := orders[pid]
		if a == nil {
			p["order_count"], p["orders_30d"] = int64(0), int64(0)
			p["lifetime_value"], p["avg_order"], p["min_order"], p["last_order_at"], p["churn"] = nil, nil, nil, nil, nil
		} else {
			p["order_count"], p["orders_30d"] = a.n, a.n30
			p["lifetime_value"], p["avg_order"], p["min_order"], p["last_order_at"] = a.sum, a.sum/float64(a.n), a.min, a.last
			gap := popGap
			if a.n >= 2 {
				gap = a.last.Sub(a.first).Seconds() / float64(a.n-1)
			}
			gap = max(gap, 86400)
			elapsed := max(now.Sub(a.last).Seconds(), 0)
			p["churn"] = 1 - math.Exp(-elapsed/gap)
		}
		lv, _ := p["lifetime_value"].(float64)
		tier := "regular"
		if p["lifetime_value"] != nil && lv >= 300 {
			tier = "vip"
		}
		p["tier"] = tier
		p["big_buyer"] = tier == "vip" && p["order_count"].(int64) >= 3
	}
	// rfm: quintiles (ntile(5)) over profiles with orders, ties by profile_id
	var ids []string
	for pid := range orders {
		ids = append(ids, pid)
	}
	ntile := func(less func(a, b *ord) int) map[string]int {
		s := append([]string(nil), ids...)
		sort.Slice(s, func(i, j int) bool {
			if c := less(orders[s[i]], orders[s[j]]); c != 0 {
				return c < 0
			}
			return s[i] < s[j]
		})
		return Ntile(s, 5)
	}
	cmpF := func(a, b float64) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	rec := ntile(func(a, b *ord) int { return a.last.Compare(b.last) })
	frq := ntile(func(a, b *ord) int { return cmpF(float64(a.n), float64(b.n)) })
	mon := ntile(func(a, b *ord) int { return cmpF(a.sum, b.sum) })
	for pid, p := range out {
		if _, ok := orders[pid]; !ok {
			p["rfm_recency"], p["rfm_frequency"], p["rfm_monetary"], p["rfm"] = nil, nil, nil, nil
			continue
		}
		p["rfm_recency"], p["rfm_frequency"], p["rfm_monetary"] = int64(rec[pid]), int64(frq[pid]), int64(mon[pid])
		p["rfm"] = RFMLabel(rec[pid], frq[pid])
	}
	return out
}

// Ntile numbers sorted items 1..n like SQL's ntile(n): the first
// len%n groups hold one more item.
func Ntile(sorted []string, n int) map[string]int {
	out := map[string]int{}
	size, extra := len(sorted)/n, len(sorted)%n
	i := 0
	for g := 1; g <= n; g++ {
		k := size
		if g <= extra {
			k++
		}
		for j := 0; j < k && i < len(sorted); j++ {
			out[sorted[i]] = g
			i++
		}
	}
	return out
}

// RFMLabel is written here independently of the package's table.
func RFMLabel(r, f int) string {
	switch {
	case r >= 4 && f >= 4:
		return "champions"
	case r >= 4 && f <= 2:
		return "new"
	case r >= 3 && f >= 3:
		return "loyal"
	case r <= 2 && f >= 3:
		return "at risk"
	case r <= 2:
		return "hibernating"
	}
	return "needs attention"
}

// TraitsYAML are the traits of the fixture's project.
const TraitsYAML = `
traits:
  - {name: email, from: customers.email, pick: latest}
  - {name: first_email, from: customers.email, pick: first}
  - {name: first_name, pick: priority, from: [crm.first_name, customers.first_name]}
  - {name: country, from: customers.country, pick: most_frequent}
  - {name: lifetime_value, from: orders.total, aggregate: sum}
  - {name: order_count, from: orders, aggregate: count}
  - {name: orders_30d, from: orders, aggregate: count, within: 30d}
  - {name: avg_order, from: orders.total, aggregate: avg}
  - {name: min_order, from: orders.total, aggregate: min}
  - {name: last_order_at, from: orders.ordered_at, aggregate: max}
  - {name: pages, from: events.page, aggregate: count_distinct}
  - name: big_buyer
    sql: "tier = 'vip' AND order_count >= 3"
    type: boolean
  - name: tier
    sql: "CASE WHEN lifetime_value >= 300 THEN 'vip' ELSE 'regular' END"
    type: text
  - {name: rfm, model: rfm, source: orders, amount: total}
  - {name: churn, model: churn_risk, source: orders}
`
