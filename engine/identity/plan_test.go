package identity

import (
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// TestPlanPrintsWhatRuns: every statement a run executes — a rebuild whose
// rounds are reshuffled, then an increment — is a statement of the plan
// compile prints, with its rounds' {in}, {out} and numbers filled in; only
// the rows the limits' Go phase inserts and the settings put back after the
// run are not printed as statements.
func TestPlanPrintsWhatRuns(t *testing.T) {
	dialecttest.ForEach(t, func(t *testing.T, w dialecttest.Fresh) {
		g := &incData{r: rand.New(rand.NewSource(7)), people: 150, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		g.add(600, 200)
		g.load(t, w.WH)
		_, reset := dialects.BulkSettings(w.WH.Dialect())
		run := func() string {
			var printed, refined string
			var ran []string
			c := testContext(incProject(), w.WH.Dialect(), testNow)
			stats := runContext(t, w.WH, c, func(s *Step) {
				s.ReshuffleAfter = 2
				printed, refined = s.SQL(), s.w("refined")
				s.c.Trace.Hook = func(sql string, _ time.Duration, _ float64) { ran = append(ran, sql) }
			})
			printedStatements := statementPatterns(printed)
			goInserts := []string{"INSERT INTO " + refined + " (key, comp, component)\n",
				"INSERT INTO " + c.Staged(CutLinksTable) + " (a_type, a_value, b_type, b_value, detail)\n"}
			for _, sql := range ran {
				if printedStatements.match(sql) || slices.Contains(reset, sql) || hasAnyPrefix(sql, goInserts) {
					continue
				}
				t.Errorf("executed but not printed:\n%s", sql)
			}
			return strings.Join(stats.Details, "\n")
		}
		details := run()
		require.Contains(t, details, "full rebuild: no previous run")
		require.Regexp(t, `components: \d+ rounds \([1-9]\d* reshuffles\)`, details)
		require.Contains(t, details, "limits:")
		g.add(40, 10)
		g.load(t, w.WH)
		require.Contains(t, run(), "incremental:")
	})
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// patterns are the statements of a printed plan as regular expressions
// matching them as they run: each ends a printed block (";" then a blank
// line), starts at one of its lines (the lines before belong to comments
// of the control nodes), and has its rounds' names and numbers open.
type patterns []*regexp.Regexp

func statementPatterns(printed string) patterns {
	fill := strings.NewReplacer(`\{in\}`, `\S+`, `\{out\}`, `\S+`, `\{r\}`, `[0-9]+`, `\{i\}`, `[0-9]+`)
	var ps patterns
	for _, block := range strings.Split(printed, ";\n\n") {
		if i := strings.Index(block, "\n-- parameters: "); i >= 0 {
			block = block[:i]
		}
		lines := strings.Split(block, "\n")
		for i := range lines {
			ps = append(ps, regexp.MustCompile(`^`+fill.Replace(regexp.QuoteMeta(strings.Join(lines[i:], "\n")))+`$`))
		}
	}
	return ps
}

func (ps patterns) match(sql string) bool {
	for _, p := range ps {
		if p.MatchString(sql) {
			return true
		}
	}
	return false
}
