package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/models"
)

func previewCmd(g *globals) *cobra.Command {
	var showPII bool
	var (
		sample  int
		traits  []string
		withSQL bool
		file    string
	)
	c := &cobra.Command{
		Use:   "preview [SEGMENT]",
		Short: "Count a segment, its change since the last run, and a sample of members",
		Long: "Preview a saved segment by name, or an unsaved definition (YAML or JSON) with --definition FILE\n" +
			"(- reads standard input), as the UI does while a marketer edits.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			seg, err := chooseSegment(svc, args, file)
			if err != nil {
				return err
			}
			switch {
			case sample < 0:
				return usagef("--sample %d: give 0 (no members) or more", sample)
			case sample == 0 && cmd.Flags().Changed("sample"):
				sample = -1 // none: the engine's 0 is its default
			}
			res, err := svc.Preview(ctx, seg, engine.PreviewOptions{Sample: sample, Traits: traits, WithSQL: withSQL})
			if err != nil {
				return err
			}
			redact(cmd, svc, showPII, "segment "+seg.Name, res)
			return g.emit(cmd.OutOrStdout(), res)
		},
	}
	c.Flags().IntVar(&sample, "sample", 0, "how many sample members to show (default 10; 0 shows none)")
	c.Flags().StringSliceVar(&traits, "traits", nil, "traits to show per sample member (comma separated)")
	c.Flags().BoolVar(&withSQL, "sql", false, "also print the SQL")
	showPIIFlag(c, &showPII)
	c.Flags().StringVar(&file, "definition", "", "an unsaved segment definition: a YAML or JSON file, or - for standard input")
	return c
}

// chooseSegment is the saved segment named in args, or the unsaved one in file.
func chooseSegment(svc *engine.Service, args []string, file string) (*models.Segment, error) {
	switch {
	case file != "" && len(args) > 0:
		return nil, usagef("give a segment name or --definition, not both")
	case file != "":
		var data []byte
		var err error
		if file == "-" {
			data, err = readAll(os.Stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, usagef("--definition: %v", err)
		}
		return svc.ParseSegment(data)
	case len(args) == 1:
		return svc.Segment(args[0])
	}
	return nil, usagef("preview: name a segment, or pass --definition FILE")
}

func overlapCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "overlap A B [C]",
		Short: "Sizes of two or three segments and of each intersection",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			res, err := svc.Overlap(cmd.Context(), args)
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), res)
		},
	}
}

func profileCmd(g *globals) *cobra.Command {
	var showPII bool
	c := &cobra.Command{
		Use:   "profile TYPE:VALUE",
		Short: "One person: identifiers with their sources, traits, segments, recent events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := engine.ParseIdent(args[0])
			if err != nil {
				return usageError{err}
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			who, err := svc.Profile(cmd.Context(), id)
			if err != nil {
				return err
			}
			audit(cmd.Context(), svc, "profile.view", id.Type+":"+models.Mask(id.Value), "profile "+who.Profile.ProfileID)
			redact(cmd, svc, showPII, "profile "+who.Profile.ProfileID, who)
			return g.emit(cmd.OutOrStdout(), who)
		},
	}
	showPIIFlag(c, &showPII)
	return c
}

func explainCmd(g *globals) *cobra.Command {
	var showPII bool
	c := &cobra.Command{
		Use:   "explain TYPE:VALUE TYPE:VALUE",
		Short: "Why two identifiers are (or are not) one profile: the chain of links and rules",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ids [2]engine.Ident
			for i, a := range args {
				id, err := engine.ParseIdent(a)
				if err != nil {
					return usageError{err}
				}
				ids[i] = id
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			ex, err := svc.Explain(cmd.Context(), ids[0], ids[1])
			if err != nil {
				return err
			}
			redact(cmd, svc, showPII, "explain "+ex.A.Type+":"+models.Mask(ex.A.Value)+" "+ex.B.Type+":"+models.Mask(ex.B.Value), ex)
			return g.emit(cmd.OutOrStdout(), ex)
		},
	}
	showPIIFlag(c, &showPII)
	return c
}

// isUnknown reports a request naming something the project does not have.
func isUnknown(err error) bool {
	var ue *engine.UnknownError
	return errors.As(err, &ue)
}

func liftCmd(g *globals) *cobra.Command {
	var metric, since string
	cmd := &cobra.Command{
		Use:   "lift SEGMENT --metric TRAIT|SOURCE[.EVENT] [--since DATE]",
		Short: "A campaign's lift: members sent to destinations against the segment's holdout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if metric == "" {
				return usageError{fmt.Errorf("lift needs --metric: a boolean or numeric trait, or an event as SOURCE or SOURCE.EVENT_NAME")}
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			o := engine.LiftOptions{Metric: metric}
			if since != "" {
				at, err := time.ParseInLocation(time.DateOnly, since, svc.Project.Location())
				if err != nil {
					return usageError{fmt.Errorf("--since %q: write a date as 2026-11-01", since)}
				}
				o.Since = &at
			}
			res, err := svc.Lift(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			if !g.json { // in the JSON as warnings
				for _, w := range res.Warnings {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+w)
				}
			}
			return g.emit(cmd.OutOrStdout(), res)
		},
	}
	cmd.Flags().StringVar(&metric, "metric", "", "a boolean trait (rate), a numeric trait (mean), or an event: SOURCE or SOURCE.EVENT_NAME (rate of members with one since they entered)")
	cmd.Flags().StringVar(&since, "since", "", "count events from this date (in the project's timezone) instead of from each member's entry")
	return cmd
}
