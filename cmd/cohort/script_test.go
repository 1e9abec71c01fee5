package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

func TestMain(m *testing.M) {
	if os.Getenv("COHORT_TEST_MAIN") == "1" { // the test binary as the cohort command (process tests)
		main()
		os.Exit(0)
	}
	testscript.Main(m, map[string]func(){
		"cohort": main,
	})
}

// TestScripts runs testdata/script/*.txtar: the command line as a user types it.
// `exitcode N cmd args...` runs a command and checks its exact exit code;
// $PGDSN is a fresh PostgreSQL database of the script's own; `webhook ...`
// drives a local webhook receiver (webhook_script_test.go).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PGDSN", dialecttest.NewPostgresDB(env.T().(testing.TB)))
			env.Setenv("CI", "true") // no progress lines
			env.Values["webhook"] = &hook{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"webhook": webhookCmd,
			"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exitcode N command [args...]")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("%v", err)
				}
				if got != want {
					ts.Fatalf("exit code %d, want %d", got, want)
				}
			},
		},
	})
}
