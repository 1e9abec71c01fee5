package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/api"
	"github.com/cohort-cdp/cohort/engine"
)

// benchAPICmd measures the API over HTTP on a generated demo project.
func benchAPICmd(g *globals) *cobra.Command {
	var (
		profiles, rate, previews int
		duration, warmup         time.Duration
		keep, cpuProfile         string
		existing                 bool
	)
	c := &cobra.Command{
		Use:   "api",
		Short: "Generate and run a demo project, then measure profile look-ups at a steady rate and segment previews over HTTP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if g.json {
				out = io.Discard
			}
			var svc *engine.Service
			if existing {
				s, err := g.service()
				if err != nil {
					return err
				}
				defer s.Close()
				svc = s
				if cmd.Flags().Changed("profiles") || keep != "" {
					return usagef("--existing measures the project of --project as its last run left it: --profiles and --keep do not apply")
				}
				profiles = 0
				fmt.Fprintf(out, "project %s as its last run left it\n", svc.Project.Name)
			} else {
				s, done, err := g.benchDemo(keep, "cohort-bench-api-")
				if err != nil {
					return err
				}
				defer done()
				svc = s
				if _, err := svc.GenerateDemo(ctx, engine.DemoOptions{Profiles: profiles, Seed: 1, Now: svc.Clock()}); err != nil {
					return err
				}
				start := time.Now()
				if _, err := svc.Run(ctx, engine.RunOptions{}); err != nil {
					return err
				}
				fmt.Fprintf(out, "demo project: %s, run in %s\n", engine.Count(int64(profiles), "person"), time.Since(start).Round(time.Millisecond))
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			rep, err := api.Bench(ctx, svc, api.BenchOptions{Rate: rate, Duration: duration, Warmup: warmup, Previews: previews})
			pprof.StopCPUProfile()
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"profiles": profiles, "bench": rep})
			}
			fmt.Fprint(out, rep.String())
			return nil
		},
	}
	c.Flags().IntVar(&profiles, "profiles", 100_000, "people in the generated demo data")
	c.Flags().IntVar(&rate, "rate", 200, "profile look-ups per second")
	c.Flags().DurationVar(&duration, "duration", 20*time.Second, "how long to send look-ups")
	c.Flags().DurationVar(&warmup, "warmup", 0, "first send look-ups of other identifiers at the same rate for this long, left out of the figures: a server that has run a while holds the blocks its look-ups read")
	c.Flags().IntVar(&previews, "previews", 50, "segment previews, one after the other")
	c.Flags().StringVar(&keep, "keep", "", "build the demo project in this folder and keep it (default: a temporary folder)")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the measurement (server, warehouse and load generator) to this file, for `go tool pprof`")
	c.Flags().BoolVar(&existing, "existing", false, "measure the demo project of --project as its last `cohort run` left it, instead of generating one (a 1M-people demo takes minutes to build)")
	return c
}
