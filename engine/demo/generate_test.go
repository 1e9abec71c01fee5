package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
)

// anchor is the fixed "now" of the tests.
var anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func generate(t *testing.T, wh dialects.Warehouse, o Options) Summary {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = anchor
	}
	s, err := Generate(context.Background(), wh, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checksums is an order-independent fingerprint of every demo table: the
// row count and the sum of a hash of each row's values written out as text.
func checksums(t *testing.T, wh dialects.Warehouse) map[string]string {
	t.Helper()
	tables, err := demoTables()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, tb := range keptTables(tables) {
		rows, err := wh.Query(context.Background(), "SELECT * FROM "+wh.Dialect().Quote(tb.Schema, tb.Name))
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(tb.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var sum uint64
		var n int
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			h := fnv.New64a()
			for _, v := range vals {
				fmt.Fprintf(h, "%s\x1f", canonical(v))
			}
			sum += h.Sum64()
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		sums[tb.qualified()] = fmt.Sprintf("%d rows, sum %016x", n, sum)
	}
	return sums
}

// canonical writes a scanned value the same way whichever driver read it.
func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return "\x00NULL"
	case time.Time:
		return plan.TimeArg(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case []byte:
		return string(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	}
	return fmt.Sprint(v)
}

func TestDeterministic(t *testing.T) {
	a := dialecttest.Open(t, "duckdb")
	generate(t, a.WH, Options{Profiles: 800, Seed: 7})
	first := checksums(t, a.WH)
	var order string
	if err := plan.QueryRow(context.Background(), a.WH, "SELECT CAST(current_setting('preserve_insertion_order') AS VARCHAR)", nil, &order); err != nil || order != "true" {
		t.Errorf("DuckDB's preserve_insertion_order left at %q (%v)", order, err)
	}

	// Again in another warehouse, and over the first one: the same tables.
	b := dialecttest.Open(t, "duckdb")
	generate(t, b.WH, Options{Profiles: 800, Seed: 7})
	generate(t, a.WH, Options{Profiles: 800, Seed: 7})
	for _, wh := range []dialects.Warehouse{a.WH, b.WH} {
		again := checksums(t, wh)
		for table, sum := range first {
			if again[table] != sum {
				t.Errorf("%s: %s, then %s", table, sum, again[table])
			}
		}
	}

	// Another seed: every table but the parameters differs.
	generate(t, b.WH, Options{Profiles: 800, Seed: 8})
	other := checksums(t, b.WH)
	for table, sum := range first {
		if table != "demo_truth.params" && other[table] == sum {
			t.Errorf("%s: the same with another seed: %s", table, sum)
		}
	}
}

func TestSizesScale(t *testing.T) {
	w := dialecttest.Open(t, "duckdb")
	small := generate(t, w.WH, Options{Profiles: 500, Seed: 3})
	big := generate(t, w.WH, Options{Profiles: 2000, Seed: 3})
	if small.Rows("demo_truth.persons") != 500 || big.Rows("demo_truth.persons") != 2000 {
		t.Fatalf("persons: %d and %d", small.Rows("demo_truth.persons"), big.Rows("demo_truth.persons"))
	}
	for _, tr := range big.Tables {
		if tr.Table == "demo_truth.params" || tr.Table == "demo_truth.junk" {
			continue
		}
		r := float64(tr.Rows) / float64(small.Rows(tr.Table))
		if small.Rows(tr.Table) < 5 || r < 3 || r > 5.5 {
			t.Errorf("%s: %d rows for 500 profiles, %d for 2000 (x%.2f, want about x4)", tr.Table, small.Rows(tr.Table), tr.Rows, r)
		}
	}
	if ev := big.Events(); ev < 2000*15 || ev > 2000*30 {
		t.Errorf("%d event rows for 2000 profiles: want about 20 a person", ev)
	}
	t.Logf("2000 profiles: %d raw rows, %d events", big.RawRows(), big.Events())
}

// count runs a count query on the warehouse.
func count(t *testing.T, wh dialects.Warehouse, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := plan.QueryRow(context.Background(), wh, dialects.Bind(wh.Dialect(), q), args, &n); err != nil {
		t.Fatalf("%s\n%v", q, err)
	}
	return n
}

func TestDirtyData(t *testing.T) {
	w := dialecttest.Open(t, "duckdb")
	generate(t, w.WH, Options{Profiles: 2000, Seed: 11})
	wh := w.WH
	atLeast := func(what string, min int64, q string, args ...any) {
		t.Helper()
		n := count(t, wh, q, args...)
		if n < min {
			t.Errorf("%s: %d, want at least %d", what, n, min)
		}
		t.Logf("%-58s %6d", what, n)
	}
	none := func(what string, q string, args ...any) {
		t.Helper()
		if n := count(t, wh, q, args...); n != 0 {
			t.Errorf("%s: %d, want none", what, n)
		}
	}
	phones := `SELECT phone FROM cohort_demo.support_tickets UNION ALL SELECT phone FROM cohort_demo.shop_customers UNION ALL SELECT phone FROM cohort_demo.lead_ads`
	for _, f := range []struct{ example, re string }{
		{"06-12345678", `^06-[0-9]{8}$`},
		{"+31 6 1234 5678", `^\+31 6 [0-9]{4} [0-9]{4}$`},
		{"0031612345678", `^00316[0-9]{8}$`},
		{"+31 (0)6 12345678", `^\+31 \(0\)6 [0-9]{8}$`},
		{"+32 470 12 34 56", `^\+32 47[0-9] [0-9]{2} [0-9]{2} [0-9]{2}$`},
		{"0049 151 12345678", `^0049 151 [0-9]{8}$`},
	} {
		atLeast("phones written like "+f.example, 3, `SELECT count(*) FROM (`+phones+`) p WHERE regexp_matches(phone, ?)`, f.re)
	}
	atLeast("empty phones in shop_customers", 5, `SELECT count(*) FROM cohort_demo.shop_customers WHERE phone = ''`)
	atLeast("NULL phones in shop_customers", 5, `SELECT count(*) FROM cohort_demo.shop_customers WHERE phone IS NULL`)
	emails := `SELECT email FROM cohort_demo.shop_customers UNION ALL SELECT email FROM cohort_demo.newsletter UNION ALL SELECT email FROM cohort_demo.orders
		UNION ALL SELECT email FROM cohort_demo.support_tickets UNION ALL SELECT email FROM cohort_demo.lead_ads`
	atLeast("e-mails with white space around", 20, `SELECT count(*) FROM (`+emails+`) e WHERE email <> trim(email)`)
	atLeast("e-mails with capitals", 20, `SELECT count(*) FROM (`+emails+`) e WHERE email <> lower(email)`)
	atLeast("empty e-mails", 3, `SELECT count(*) FROM (`+emails+`) e WHERE email = ''`)
	atLeast("test@ accounts", 2, `SELECT count(*) FROM cohort_demo.shop_customers WHERE lower(email) LIKE 'test@%'`)
	atLeast("@example.com accounts", 1, `SELECT count(*) FROM cohort_demo.shop_customers WHERE email LIKE '%@example.com'`)
	atLeast("re-registrations: one e-mail, two customer_ids, other case", 20,
		`SELECT count(*) FROM (SELECT lower(trim(email)) FROM cohort_demo.shop_customers GROUP BY 1
		 HAVING count(DISTINCT customer_id) = 2 AND count(DISTINCT email) = 2) d`)
	atLeast("customers on the one shared tablet", FamilyTabletMembers,
		`SELECT max(n) FROM (SELECT anonymous_id, count(DISTINCT user_id) AS n FROM cohort_demo.web_events GROUP BY 1) c`)
	none("other cookies with more than one customer",
		`SELECT count(*) FROM (SELECT anonymous_id, count(DISTINCT user_id) AS n FROM cohort_demo.web_events GROUP BY 1) c WHERE n BETWEEN 3 AND 10`)
	atLeast("people behind each shared info@ mailbox (the least)", 2,
		`SELECT min(n) FROM (SELECT info_mailbox, count(*) AS n FROM demo_truth.persons WHERE info_mailbox IS NOT NULL GROUP BY 1) m`)
	atLeast("info@ rows in support tickets, leads, newsletter", 3,
		`SELECT count(*) FROM (SELECT email FROM cohort_demo.support_tickets UNION ALL SELECT email FROM cohort_demo.lead_ads UNION ALL SELECT email FROM cohort_demo.newsletter) e
		 WHERE lower(trim(email)) LIKE 'info@%'`)
	atLeast("cookies that log in later", 100,
		`SELECT count(*) FROM (SELECT anonymous_id FROM cohort_demo.web_events GROUP BY 1
		 HAVING count(*) FILTER (WHERE user_id IS NULL) > 0 AND min(occurred_at) FILTER (WHERE user_id IS NULL) < min(occurred_at) FILTER (WHERE user_id IS NOT NULL)) c`)
	atLeast("customers with several cookies", 100,
		`SELECT count(*) FROM (SELECT user_id FROM cohort_demo.web_events WHERE user_id IS NOT NULL GROUP BY 1 HAVING count(DISTINCT anonymous_id) > 1) c`)
	atLeast("visitors who never log in", 50,
		`SELECT count(*) FROM (SELECT anonymous_id FROM cohort_demo.web_events GROUP BY 1 HAVING count(user_id) = 0) c`)
	atLeast("cart abandoners (add_to_cart in 7 days, no order since)", 20,
		`SELECT count(DISTINCT w.user_id) FROM cohort_demo.web_events w
		 WHERE w.event_name = 'add_to_cart' AND w.occurred_at >= CAST(? AS TIMESTAMP) - INTERVAL 7 DAY
		   AND NOT EXISTS (SELECT 1 FROM cohort_demo.orders o WHERE o.customer_id = w.user_id AND o.ordered_at >= w.occurred_at)`, plan.TimeArg(anchor))
	atLeast("one-time buyers", 300, `SELECT count(*) FROM (SELECT customer_id FROM cohort_demo.orders GROUP BY 1 HAVING count(*) = 1) c`)
	atLeast("loyal buyers (8 orders or more)", 50, `SELECT count(*) FROM (SELECT customer_id FROM cohort_demo.orders GROUP BY 1 HAVING count(*) >= 8) c`)
	atLeast("lapsed VIPs (500 euro or more, last order > 90 days ago)", 20,
		`SELECT count(*) FROM (SELECT customer_id FROM cohort_demo.orders GROUP BY 1
		 HAVING sum(total) >= 500 AND max(ordered_at) < CAST(? AS TIMESTAMP) - INTERVAL 90 DAY) c`, plan.TimeArg(anchor))
	atLeast("orders in the last 30 days", 50, `SELECT count(*) FROM cohort_demo.orders WHERE ordered_at >= CAST(? AS TIMESTAMP) - INTERVAL 30 DAY`, plan.TimeArg(anchor))
	atLeast("newsletter opt-outs", 20, `SELECT count(*) FROM cohort_demo.newsletter WHERE NOT opted_in`)
	atLeast("leads who never became customers", 50, `SELECT count(*) FROM demo_truth.persons WHERE kind = 'lead'`)
	atLeast("app log-ins carrying an e-mail", 50, `SELECT count(*) FROM cohort_demo.app_events WHERE email IS NOT NULL`)
	for _, tb := range []struct{ table, column string }{
		{"shop_customers", "created_at"}, {"shop_customers", "updated_at"}, {"orders", "ordered_at"}, {"web_events", "occurred_at"},
		{"app_events", "occurred_at"}, {"newsletter", "consent_at"}, {"newsletter", "updated_at"}, {"support_tickets", "created_at"},
		{"lead_ads", "created_at"}, {"cms_accounts", "created_at"}, {"cms_accounts", "last_login_at"},
	} {
		none("cohort_demo."+tb.table+"."+tb.column+" outside the 2 years before now",
			`SELECT count(*) FROM cohort_demo.`+tb.table+` WHERE `+tb.column+` > CAST(? AS TIMESTAMP) OR `+tb.column+` < CAST(? AS TIMESTAMP) - INTERVAL 730 DAY`,
			plan.TimeArg(anchor), plan.TimeArg(anchor))
	}
	none("unsubscribed before subscribing", `SELECT count(*) FROM cohort_demo.newsletter WHERE updated_at < consent_at`)
	none("orders before their customer registered",
		`SELECT count(*) FROM cohort_demo.orders o JOIN demo_truth.accounts a ON a.customer_id = o.customer_id JOIN demo_truth.persons p ON p.person_id = a.person_id
		 WHERE o.ordered_at < p.created_at`)
}

// TestTruth checks the truth against the raw tables, normalizing them in
// each warehouse with the identity package's own expressions: every
// identifier that is not junk, a test account or empty has exactly one
// person in demo_truth.identifiers.
func TestTruth(t *testing.T) {
	sources, rules, err := projectRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 8 {
		t.Fatalf("%d sources in the demo project, want 8", len(sources))
	}
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		wh, d := w.WH, w.WH.Dialect()
		generate(t, wh, Options{Profiles: 1500, Seed: 5})
		raw := rawIdentifiers(d, sources, rules)
		test := d.RegexpMatches("r.identifier_value", "?")
		if n := count(t, wh, `SELECT count(*) FROM (`+raw+`) r
			WHERE NOT EXISTS (SELECT 1 FROM demo_truth.identifiers i WHERE i.identifier_type = r.identifier_type AND i.identifier_value = r.identifier_value)
			  AND NOT EXISTS (SELECT 1 FROM demo_truth.junk j WHERE j.identifier_type = r.identifier_type AND j.identifier_value = r.identifier_value)
			  AND NOT (r.identifier_type = 'email' AND `+test+`)`, TestEmailPattern); n != 0 {
			t.Errorf("%d identifiers in raw tables have no person in demo_truth", n)
		}
		if n := count(t, wh, `SELECT count(*) FROM demo_truth.identifiers i
			WHERE NOT EXISTS (SELECT 1 FROM (`+raw+`) r WHERE i.identifier_type = r.identifier_type AND i.identifier_value = r.identifier_value)`); n != 0 {
			t.Errorf("%d identifiers in demo_truth appear in no raw table", n)
		}
		if n := count(t, wh, `SELECT count(*) FROM (SELECT identifier_type, identifier_value FROM demo_truth.identifiers GROUP BY 1, 2 HAVING count(*) > 1) d`); n != 0 {
			t.Errorf("%d identifiers have several persons", n)
		}
		if n := count(t, wh, `SELECT count(*) FROM demo_truth.identifiers i JOIN demo_truth.junk j
			ON j.identifier_type = i.identifier_type AND j.identifier_value = i.identifier_value`); n != 0 {
			t.Errorf("%d junk identifiers are someone's", n)
		}
		if n := count(t, wh, `SELECT count(*) FROM demo_truth.identifiers i WHERE NOT EXISTS (SELECT 1 FROM demo_truth.persons p WHERE p.person_id = i.person_id)`); n != 0 {
			t.Errorf("%d identifiers of unknown persons", n)
		}
		for _, typ := range []string{"customer_id", "email", "phone", "anonymous_id", "device_id"} {
			if n := count(t, wh, `SELECT count(*) FROM demo_truth.identifiers WHERE identifier_type = ?`, typ); n < 100 {
				t.Errorf("%d %s identifiers in the truth", n, typ)
			}
		}
		for _, reason := range []string{"shared_device", "shared_mailbox", "test_account"} {
			if n := count(t, wh, `SELECT count(*) FROM demo_truth.junk WHERE reason = ?`, reason); n == 0 {
				t.Errorf("no junk of reason %s", reason)
			}
		}
		// Phones are E.164 and e-mails lower case without white space, as identity normalizes them.
		if n := count(t, wh, `SELECT count(*) FROM demo_truth.identifiers WHERE identifier_type = 'phone' AND NOT `+
			d.RegexpMatches("identifier_value", `'^\+(316[0-9]{8}|3247[0-9]{7}|49151[0-9]{8})$'`)); n != 0 {
			t.Errorf("%d phones in the truth are not E.164 mobile numbers", n)
		}
		norm := identity.NormalizeExpr(d, rules.Rule("email"), "identifier_value")
		if n := count(t, wh, `SELECT count(*) FROM demo_truth.identifiers WHERE identifier_type = 'email' AND identifier_value <> `+norm); n != 0 {
			t.Errorf("%d e-mails in the truth are not normalized", n)
		}
	})
}

// TestSameDataEverywhere generates into DuckDB and into PostgreSQL (through
// a scratch DuckDB) and compares every table.
func TestSameDataEverywhere(t *testing.T) {
	duck := dialecttest.Open(t, "duckdb")
	pg := dialecttest.Open(t, "postgres")
	o := Options{Profiles: 1200, Seed: 42}
	sd := generate(t, duck.WH, o)
	sp := generate(t, pg.WH, o)
	a, b := checksums(t, duck.WH), checksums(t, pg.WH)
	if len(a) != 15 {
		t.Errorf("%d tables, want 15", len(a))
	}
	for table, sum := range a {
		if b[table] != sum {
			t.Errorf("%s: duckdb %s, postgres %s", table, sum, b[table])
		}
	}
	if sd.RawRows() != sp.RawRows() || sd.RawRows() == 0 {
		t.Errorf("raw rows: duckdb %d, postgres %d", sd.RawRows(), sp.RawRows())
	}
	// Generating again replaces the demo tables.
	sp2 := generate(t, pg.WH, Options{Profiles: 300, Seed: 42})
	if n := count(t, pg.WH, `SELECT count(*) FROM demo_truth.persons`); n != 300 || sp2.Rows("demo_truth.persons") != 300 {
		t.Errorf("after generating again: %d persons", n)
	}
	t.Logf("postgres: %d raw rows copied in %s", sp.RawRows(), sp.Elapsed)
}

// TestGenerate1M measures a million profiles in DuckDB; set COHORT_BENCH=1.
func TestGenerate1M(t *testing.T) {
	if os.Getenv("COHORT_BENCH") != "1" {
		t.Skip("set COHORT_BENCH=1 to generate 1,000,000 profiles")
	}
	w := dialecttest.Open(t, "duckdb")
	last, lastCPU := time.Now(), plan.CPUSeconds()
	s, err := Generate(context.Background(), w.WH, Options{Profiles: 1_000_000, Seed: 1, Now: anchor, Progress: func(msg string) {
		t.Logf("%5.1fs wall %5.1fs cpu, then %s", time.Since(last).Seconds(), plan.CPUSeconds()-lastCPU, msg)
		last, lastCPU = time.Now(), plan.CPUSeconds()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("last step %5.1fs wall; cpu of the whole test %.1fs", time.Since(last).Seconds(), plan.CPUSeconds())
	for _, tr := range s.Tables {
		t.Logf("%-28s %10d", tr.Table, tr.Rows)
	}
	t.Logf("1,000,000 profiles: %d raw rows, %d event rows (web, app, orders) in %.1fs", s.RawRows(), s.Events(), s.Elapsed.Seconds())
}
