package sqlgrammar_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohort-cdp/cohort/dialects/sqlgrammar"
)

// goldens are the compiler's golden files of a dialect: every statement a
// run of the test projects executes, as `cohort compile` prints it.
func goldens(t *testing.T, dialect string) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../engine/testdata/*/" + dialect + ".sql", "../../engine/segments/testdata/*/" + dialect + ".sql"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("%s: only %d golden files (run go test ./engine/... -update)", dialect, len(files))
	}
	return files
}

// statements splits a script at the semicolons that end a line of SQL (a
// comment ending in one, before any SQL, ends nothing); the line of each
// statement's first line in the script comes with it.
func statements(script string) (stmts []string, lines []int) {
	line, start, code := 1, 1, false
	var cur strings.Builder
	for _, l := range strings.SplitAfter(script, "\n") {
		cur.WriteString(l)
		t := strings.TrimSpace(l)
		comment := strings.HasPrefix(t, "--")
		code = code || (t != "" && !comment)
		if code && strings.HasSuffix(t, ";") {
			stmts, lines = append(stmts, cur.String()), append(lines, start)
			cur.Reset()
			start, code = line+1, false
		}
		line++
	}
	if code {
		stmts, lines = append(stmts, cur.String()), append(lines, start)
	}
	return stmts, lines
}

// TestGoldenSQLParses: every statement of the Snowflake and BigQuery golden
// files is valid in that warehouse's grammar. The grammars are large
// (Snowflake's needs seconds of CPU for some statements), so this runs in
// make test-snowflake and make test-bigquery: COHORT_TEST_GRAMMAR names
// the dialect ("all" for both).
func TestGoldenSQLParses(t *testing.T) {
	only := os.Getenv("COHORT_TEST_GRAMMAR")
	if only == "" {
		t.Skip("COHORT_TEST_GRAMMAR is not set: make test-snowflake and make test-bigquery parse the golden files")
	}
	for _, dialect := range []string{"snowflake", "bigquery"} {
		if only != "all" && only != dialect {
			continue
		}
		for _, file := range goldens(t, dialect) {
			t.Run(dialect+"/"+filepath.Base(filepath.Dir(file)), func(t *testing.T) {
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				stmts, lines := statements(string(b))
				for i, s := range stmts {
					start := time.Now()
					s = rounds.Replace(s)
					if dialect == "snowflake" {
						s = unbind(s)
						// The grammar lacks NULLS FIRST|LAST in a window's
						// ORDER BY, which Snowflake has (see its window
						// function syntax); the rest of the statement is checked.
						s = strings.ReplaceAll(s, " NULLS LAST", "")
					}
					errs, _ := sqlgrammar.Check(dialect, s)
					if d := time.Since(start); d > 5*time.Second {
						t.Logf("%s:%d took %s to parse", file, lines[i], d)
					}
					for _, e := range errs {
						t.Errorf("%s:%d: %s\n%s", file, lines[i]+e.Line-1, e.Msg, excerpt(s, e.Line))
					}
				}
			})
		}
	}
}

// rounds fills in the names a plan's loop gives each round's statements
// (plan.Loop: {in}, {out} and the round's number) as a round does.
var rounds = strings.NewReplacer("{in}", "round_in", "{out}", "round_out", "{r}", "2", "{i}", "2")

// unbind writes NULL for each ? placeholder outside quotes and comments:
// the Snowflake grammar has no token for them (the driver binds them), and
// NULL stands wherever a value does.
func unbind(s string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == '\\' && quote == '\'' && i+1 < len(s) {
				b.WriteByte(ch)
				i++
				ch = s[i]
			} else if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '-' && i+1 < len(s) && s[i+1] == '-':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			b.WriteString(s[i : i+j])
			i += j - 1
			continue
		case ch == '?':
			b.WriteString("NULL")
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func excerpt(s string, line int) string {
	ls := strings.Split(s, "\n")
	if line-1 < len(ls) && line >= 1 {
		return "    " + ls[line-1]
	}
	return ""
}

// TestGrammarsRejectTheOtherDialect: the check can fail (a test that cannot
// is a defect): each grammar rejects what only the other warehouse accepts.
func TestGrammarsRejectTheOtherDialect(t *testing.T) {
	if errs := sqlgrammar.Snowflake("SELECT a FROM t QUALIFY ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) = 1;"); len(errs) > 0 {
		t.Fatalf("valid Snowflake rejected: %v", errs)
	}
	if errs := sqlgrammar.GoogleSQL("SELECT a FROM `p.d.t` WHERE REGEXP_CONTAINS(a, @p1);"); len(errs) > 0 {
		t.Fatalf("valid BigQuery rejected: %v", errs)
	}
	if errs := sqlgrammar.Snowflake("SELECT a FROM `d`.`t`;"); len(errs) == 0 {
		t.Error("Snowflake grammar accepted back-quoted names")
	}
	if errs := sqlgrammar.GoogleSQL("SELECT a FROM t UNION SELECT b FROM u;"); len(errs) == 0 {
		t.Error("GoogleSQL grammar accepted a UNION without ALL or DISTINCT")
	}
}

// TestNotInBinary: the parsers stay out of the cohort binary.
func TestNotInBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../cmd/cohort").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/bytebase/") || strings.HasPrefix(dep, "github.com/antlr4-go/") || strings.HasSuffix(dep, "/sqlgrammar") {
			t.Errorf("cmd/cohort depends on %s", dep)
		}
	}
}
