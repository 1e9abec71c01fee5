package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/models"
)

func previewCmd(g *globals) *cobra.Command {
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
			s, pctx, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			seg, err := chooseSegment(s.p, args, file)
			if err != nil {
				return err
			}
			res, err := segments.Preview(ctx, s.wh, pctx, seg, segments.PreviewOptions{Sample: sample, Traits: traits, WithSQL: withSQL})
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), res)
		},
	}
	c.Flags().IntVar(&sample, "sample", 0, "how many sample members to show (default 10)")
	c.Flags().StringSliceVar(&traits, "traits", nil, "traits to show per sample member (comma separated)")
	c.Flags().BoolVar(&withSQL, "sql", false, "also print the SQL")
	c.Flags().StringVar(&file, "definition", "", "an unsaved segment definition: a YAML or JSON file, or - for standard input")
	return c
}

// chooseSegment is the saved segment named in args, or the unsaved one in file.
func chooseSegment(p *models.Project, args []string, file string) (*models.Segment, error) {
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
		seg, err := models.ParseSegment(data)
		if err != nil {
			return nil, err
		}
		if err := models.ValidateSegment(p, seg); err != nil {
			return nil, err
		}
		return seg, nil
	case len(args) == 1:
		return savedSegment(p, args[0])
	}
	return nil, usagef("preview: name a segment, or pass --definition FILE")
}

func savedSegment(p *models.Project, name string) (*models.Segment, error) {
	if seg := p.Segment(name); seg != nil {
		return seg, nil
	}
	var names []string
	for _, s := range p.Segments {
		names = append(names, s.Name)
	}
	return nil, usagef("unknown segment %q%s", name, models.Suggest(name, names, "segment"))
}

func overlapCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "overlap A B [C]",
		Short: "Sizes of two or three segments and of each intersection",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, pctx, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			var segs []*models.Segment
			for _, a := range args {
				seg, err := savedSegment(s.p, a)
				if err != nil {
					return err
				}
				segs = append(segs, seg)
			}
			res, err := segments.Overlap(ctx, s.wh, pctx, segs)
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), res)
		},
	}
}

// personView is `cohort profile`: identifiers from identity, the rest from profiles.
type personView struct {
	Identity *identity.Profile     `json:"identity"`
	Profile  *profiles.ProfileView `json:"profile"`
}

func (v personView) String() string {
	// the identity part already names the profile
	view := strings.TrimPrefix(v.Profile.String(), "profile "+v.Profile.ProfileID+"\n\n")
	return v.Identity.String() + "\n" + view
}

func profileCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "profile TYPE:VALUE",
		Short: "One person: identifiers with their sources, traits, segments, recent events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := identity.ParseIdent(args[0])
			if err != nil {
				return usageError{err}
			}
			s, pctx, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			who, err := identity.Lookup(ctx, s.wh, pctx, id.Type, id.Value)
			if err != nil {
				return err
			}
			view, err := profiles.View(ctx, s.wh, pctx, who.ID)
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), personView{Identity: who, Profile: view})
		},
	}
}

func explainCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "explain TYPE:VALUE TYPE:VALUE",
		Short: "Why two identifiers are (or are not) one profile: the chain of links and rules",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var ids [2]identity.Ident
			for i, a := range args {
				id, err := identity.ParseIdent(a)
				if err != nil {
					return usageError{err}
				}
				ids[i] = id
			}
			s, pctx, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			ex, err := identity.Explain(ctx, s.wh, pctx, ids[0], ids[1])
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), ex)
		},
	}
}
