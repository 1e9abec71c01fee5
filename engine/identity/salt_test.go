package identity

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
	"github.com/cohort-cdp/cohort/engine/plan"
)

// TestSaltedKeysEndAClash: when two identifiers share a key the rebuild
// tries again with a salt, which must give them different keys. A salt
// that only XORs every key with one constant cannot: the XOR of a value's
// keys under two salts must differ from value to value, and the unsalted
// key stays what it was (the keys of existing state).
func TestSaltedKeysEndAClash(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		ctx := context.Background()
		d := w.WH.Dialect()
		require.NoError(t, w.WH.Exec(ctx, d.CreateSchema("salt_test")))
		s := &Step{c: &plan.Context{Dialect: d, Schema: "salt_test", RunID: "t"}, scratch: d.Quote("salt_test")}
		var values []string
		for i := range 40 {
			values = append(values, fmt.Sprintf("SELECT %s AS v", dialects.Literal(d, fmt.Sprintf("user%d@mail.test", i))))
		}
		keys := func(salt string) map[string]int64 {
			require.NoError(t, w.WH.Exec(ctx, d.DropTable(s.w("salt"))))
			require.NoError(t, w.WH.Exec(ctx, d.CreateTableAs(s.w("salt"), "SELECT CAST("+dialects.Literal(d, salt)+" AS "+d.TypeName(dialects.Text)+") AS salt", false)))
			out := map[string]int64{}
			for _, line := range dialecttest.Lines(t, w.WH, "SELECT v, "+s.keyExpr("'email'", "v")+" FROM ("+strings.Join(values, " UNION ALL ")+") x") {
				v, k, _ := strings.Cut(line, "|")
				out[v], _ = strconv.ParseInt(k, 10, 64)
			}
			require.Len(t, out, len(values))
			return out
		}
		none, one, two := keys(""), keys("1"), keys("2")
		xors := map[int64]bool{}
		for v := range one {
			xors[one[v]^two[v]] = true
			require.NotEqual(t, none[v], one[v], v)
		}
		require.Greater(t, len(xors), len(values)/2, "the salts change every key by the same bits")
		// unsalted, the key is the parts hashed together, as in existing state
		for v, k := range none {
			var want int64
			require.NoError(t, plan.QueryRow(ctx, w.WH, "SELECT "+d.Hash64("''", "'email'", "':'", dialects.Literal(d, v)), nil, &want))
			require.Equal(t, want, k, v)
		}
	})
}
