package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
)

func scheduleCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schedule",
		Short: "What cohort serve runs and when: each scheduled job with its last and next run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			jobs, err := svc.Schedule(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.json {
				return printJSON(out, jobs)
			}
			if len(jobs) == 0 {
				fmt.Fprintln(out, "nothing is scheduled: give a sync a schedule:, or cohort.yaml a schedule: for the warehouse run")
				return nil
			}
			loc := svc.Project.Location()
			at := func(t *time.Time) string {
				if t == nil {
					return "-"
				}
				return engine.ShowTime(*t, loc)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tSCHEDULE\tLAST SLOT\tSTATUS\tNEXT")
			for _, j := range jobs {
				status, next := j.Status, at(j.Next)
				if status == "" {
					status = "-"
				}
				switch {
				case j.LastSlot == nil:
					status, next = "not seen by serve yet", "its first slot after serve starts"
				case j.Due:
					next = "now (due)"
				case j.Next == nil:
					next = "after the next successful warehouse run"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.Job, j.Schedule, at(j.LastSlot), status, next)
				if j.Error != "" {
					fmt.Fprintf(tw, "\t  error: %s\t\t\t\n", firstLine(j.Error))
				}
			}
			return tw.Flush()
		},
	}
}
