package dialecttest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/cohort-cdp/cohort/dialects"
)

// Conformance is the suite every dialect passes: each dialect package's
// dialect_test.go calls it with its registered name.
func Conformance(t *testing.T, typ string) {
	ctx := context.Background()
	w := Open(t, typ)
	wh, d := w.WH, w.WH.Dialect()
	exec := func(t *testing.T, q string, args ...any) {
		t.Helper()
		if err := wh.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s\n%v", q, err)
		}
	}
	one := func(t *testing.T, q string, args []any, dest ...any) {
		t.Helper()
		rows, err := wh.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s\n%v", q, err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("%s: no row (%v)", q, rows.Err())
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	t.Run("registry", func(t *testing.T) {
		drv, err := dialects.Lookup(typ)
		if err != nil || drv.Dialect.Name() != typ {
			t.Fatalf("lookup %s: %v", typ, err)
		}
		if _, err := dialects.Lookup("oracle"); err == nil {
			t.Fatal("unknown dialect must be an error")
		}
	})

	t.Run("pinned connection", func(t *testing.T) {
		pin, ok := wh.(dialects.Pinner)
		if !ok {
			t.Skip("no connections to pin")
		}
		p, release, err := pin.Pin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// a temporary table lives on one connection: a pool would lose it
		// as soon as two statements are in flight
		if err := p.Exec(ctx, "CREATE TEMPORARY TABLE pinned_check AS SELECT 1 AS x"); err != nil {
			t.Fatal(err)
		}
		rows, err := wh.Query(ctx, "SELECT 1") // holds another connection of the pool meanwhile
		if err != nil {
			t.Fatal(err)
		}
		var x int64
		prow, err := p.Query(ctx, "SELECT x FROM pinned_check")
		if err != nil {
			t.Fatalf("the pinned connection lost its temporary table: %v", err)
		}
		if !prow.Next() || prow.Scan(&x) != nil || x != 1 {
			t.Fatalf("pinned_check: %d (%v)", x, prow.Err())
		}
		prow.Close()
		rows.Close()
		if err := p.Exec(ctx, "DROP TABLE pinned_check"); err != nil {
			t.Fatal(err)
		}
		release()
		one(t, "SELECT 2", nil, &x) // releasing gives the connection back, the pool stays open
		if x != 2 {
			t.Fatalf("after release: %d", x)
		}
	})

	t.Run("quote", func(t *testing.T) {
		schema, table := "Weird Schema", `odd "name"`
		if d.Capabilities().RestrictedNames {
			schema, table = "Weird_Schema", "odd name-1"
		}
		exec(t, d.CreateSchema(schema))
		exec(t, d.CreateSchema(schema)) // idempotent
		tbl := d.Quote(schema, table)
		exec(t, d.CreateTableAs(tbl, `SELECT 1 AS `+d.Quote("select"), false))
		var v int64
		one(t, `SELECT `+d.Quote("select")+` FROM `+tbl, nil, &v)
		if v != 1 {
			t.Fatalf("got %d", v)
		}
		exec(t, d.DropTable(tbl))
		exec(t, d.DropTable(tbl)) // if exists
	})

	t.Run("types and parameters", func(t *testing.T) {
		exec(t, d.CreateSchema("conf"))
		q := dialects.Bind(d, `SELECT CAST(? AS `+d.TypeName(dialects.Text)+`) AS t, CAST(? AS `+d.TypeName(dialects.Integer)+`) AS i,
 CAST(? AS `+d.TypeName(dialects.Number)+`) AS n, CAST(? AS `+d.TypeName(dialects.Boolean)+`) AS b,
 CAST(? AS `+d.TypeName(dialects.Timestamp)+`) AS ts`)
		exec(t, d.CreateTableAs(d.Quote("conf", "typed"), q, true), "it's", int64(1)<<40, 2.5, true, "2026-03-01 12:30:00")
		var (
			s  string
			i  int64
			n  float64
			b  bool
			ep float64
		)
		one(t, `SELECT t, i, n, b, `+d.EpochSeconds("ts")+` FROM `+d.Quote("conf", "typed"), nil, &s, &i, &n, &b, &ep)
		if s != "it's" || i != 1<<40 || n != 2.5 || !b || ep != 1772368200 {
			t.Fatalf("round trip: %q %d %v %v %v", s, i, n, b, ep)
		}
		// Let: the name stands for the value at each reference
		var let int64
		one(t, `SELECT `+d.Let("i - 1099511627770", "v", "v * v + v")+` FROM `+d.Quote("conf", "typed"), nil, &let)
		if let != 42 {
			t.Fatalf("let: %d, want 42 (v = 6)", let)
		}
		cols, err := wh.Columns(ctx, "conf.typed")
		if err != nil || len(cols) != 5 || cols[0].Name != "t" || cols[4].Name != "ts" {
			t.Fatalf("columns: %v %v", cols, err)
		}
		if _, err := wh.Columns(ctx, "conf.missing"); !errors.Is(err, dialects.ErrNoTable) {
			t.Fatalf("missing table: %v", err)
		}
		qc, err := wh.QueryColumns(ctx, `SELECT t, i AS renamed FROM conf.typed`)
		if err != nil || len(qc) != 2 || qc[1].Name != "renamed" {
			t.Fatalf("query columns: %v %v", qc, err)
		}
	})

	t.Run("hashes", func(t *testing.T) {
		// Bucket must agree across dialects: these values are the same on every one.
		var b1, b2 int64
		one(t, `SELECT `+d.Bucket("'abc'", 1000)+`, `+d.Bucket("'profile-1:seg'", 100), nil, &b1, &b2)
		if b1 != 272 || b2 != 49 {
			t.Fatalf("bucket: got %d %d, want 272 49", b1, b2)
		}
		// MD5Hex too: public profile ids are derived from it.
		var md5 string
		one(t, `SELECT `+d.MD5Hex("'abc'"), nil, &md5)
		if md5 != "900150983cd24fb0d6963f7d28e17f72" {
			t.Fatalf("md5: %q", md5)
		}
		// HashValue tells equal hashes from different ones, whether taken
		// from the md5 or from its text in a table.
		var same, differ, fromText bool
		one(t, `SELECT `+d.HashValue(d.MD5Hex("'abc'"))+` = `+d.HashValue(d.MD5Hex("'ab' || 'c'"))+`, `+
			d.HashValue(d.MD5Hex("'abc'"))+` = `+d.HashValue(d.MD5Hex("'abd'"))+`, `+
			d.HashValue("'900150983cd24fb0d6963f7d28e17f72'")+` = `+d.HashValue(d.MD5Hex("'abc'")), nil, &same, &differ, &fromText)
		if !same || differ || !fromText {
			t.Fatalf("hash value: equal %v, different %v, from text %v", same, differ, fromText)
		}
		// SHA256Hex agrees with Go's crypto/sha256 (the suppression list).
		var sha string
		one(t, `SELECT `+d.SHA256Hex("'email:'||'jan@voorbeeld.nl'"), nil, &sha)
		if want := fmt.Sprintf("%x", sha256.Sum256([]byte("email:jan@voorbeeld.nl"))); sha != want {
			t.Fatalf("sha256: %q, want %q", sha, want)
		}
		var h1, h2, h3 int64
		one(t, `SELECT `+d.Hash64("'a'")+`, `+d.Hash64("'a'")+`, `+d.Hash64("'b'"), nil, &h1, &h2, &h3)
		if h1 != h2 || h1 == h3 {
			t.Fatalf("hash64 not a function: %d %d %d", h1, h2, h3)
		}
	})

	t.Run("array rows, views and table lists", func(t *testing.T) {
		exec(t, d.CreateSchema("arr"))
		tbl := d.Quote("arr", "t_rows")
		exec(t, d.CreateTableAs(tbl, `SELECT CAST(NULL AS `+d.TypeName(dialects.Text)+`) AS s, CAST(NULL AS `+d.TypeName(dialects.Integer)+`) AS i LIMIT 0`, false))
		ins := "INSERT INTO " + tbl + " (s, i)\n" + d.ArrayRows([]string{"?", "?"}, []dialects.Type{dialects.Text, dialects.Integer})
		exec(t, dialects.Bind(d, ins), []string{"a", "it's", "c"}, []int64{1, 2, 1 << 40})
		var n, sum int64
		var joined string
		one(t, `SELECT count(*), sum(i), min(s || ':' || CAST(i AS `+d.TypeName(dialects.Text)+`)) FROM `+tbl+` WHERE s <> 'c'`, nil, &n, &sum, &joined)
		if n != 2 || sum != 3 || joined != "a:1" {
			t.Fatalf("array rows: %d %d %q", n, sum, joined)
		}
		exec(t, d.CreateView(d.Quote("arr", "t_rows_view"), "SELECT s FROM "+tbl))
		one(t, `SELECT count(*) FROM `+d.Quote("arr", "t_rows_view"), nil, &n)
		if n != 3 {
			t.Fatalf("view: %d rows", n)
		}
		tables, err := wh.Tables(ctx, "arr", "rows")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, tb := range tables {
			got[tb.Name] = tb.View
		}
		if view, ok := got["t_rows_view"]; len(got) != 2 || !ok || !view || got["t_rows"] {
			t.Fatalf("tables: %v", tables)
		}
		if tables, _ := wh.Tables(ctx, "arr", "view"); len(tables) != 1 {
			t.Fatalf("tables containing view: %v", tables)
		}
	})

	t.Run("regexp", func(t *testing.T) {
		var m1, m2 bool
		var r string
		one(t, dialects.Bind(d, `SELECT `+d.RegexpMatches("'test@x.nl'", "?")+`, `+d.RegexpMatches("'a@example.com'", "?")+`, `+
			d.RegexpReplace("'06-1234 5678'", `'[^0-9]'`, "''")), []any{"^test@", `@example\.org$`}, &m1, &m2, &r)
		if !m1 || m2 || r != "0612345678" {
			t.Fatalf("regexp: %v %v %q", m1, m2, r)
		}
	})

	t.Run("replace tables atomically", func(t *testing.T) {
		exec(t, d.CreateSchema("swap"))
		exec(t, d.CreateTableAs(d.Quote("swap", "a"), "SELECT 1 AS v", false))
		exec(t, d.CreateTableAs(d.Quote("swap", "a_new"), "SELECT 2 AS v", false))
		exec(t, d.CreateTableAs(d.Quote("swap", "b_new"), "SELECT 3 AS v", false)) // b does not exist yet
		if err := dialects.Publish(ctx, wh, []dialects.Replace{{Schema: "swap", Final: "a", Staged: "a_new"}, {Schema: "swap", Final: "b", Staged: "b_new"}}); err != nil {
			t.Fatal(err)
		}
		var a, b int64
		one(t, `SELECT (SELECT v FROM swap.a), (SELECT v FROM swap.b)`, nil, &a, &b)
		if a != 2 || b != 3 {
			t.Fatalf("after swap: %d %d", a, b)
		}
		// Appending in place: Apply runs instead of the rename.
		exec(t, d.CreateTableAs(d.Quote("swap", "b_more"), "SELECT 5 AS v", false))
		if err := dialects.Publish(ctx, wh, []dialects.Replace{{Schema: "swap", Final: "b", Staged: "b_more",
			Apply: []string{"INSERT INTO swap.b SELECT v FROM swap.b_more", d.DropTable(d.Quote("swap", "b_more"))}}}); err != nil {
			t.Fatal(err)
		}
		var n int64
		one(t, `SELECT count(*), sum(v) FROM swap.b`, nil, &n, &b)
		if n != 2 || b != 8 {
			t.Fatalf("after append: %d rows, sum %d", n, b)
		}
		if !d.Capabilities().AtomicPublish {
			return
		}
		// An atomic publication that fails changes nothing.
		exec(t, d.CreateTableAs(d.Quote("swap", "a_new"), "SELECT 4 AS v", false))
		txs := d.Publish([]dialects.Replace{{Schema: "swap", Final: "a", Staged: "a_new"}})
		if len(txs) != 1 {
			t.Fatalf("an atomic publication is one transaction, not %d", len(txs))
		}
		err := wh.InTx(ctx, append(txs[0], "SELECT nope FROM swap.a"))
		if err == nil {
			t.Fatal("want error")
		}
		one(t, `SELECT v FROM swap.a`, nil, &a)
		if a != 2 {
			t.Fatalf("failed swap changed the table: %d", a)
		}
	})
}
