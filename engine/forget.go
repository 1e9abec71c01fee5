package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// ForgetOptions shape an erasure.
type ForgetOptions struct {
	// Waiting hears whom a forget waits for: it always waits for the
	// project's lease (a run or sync in progress ends first, then the
	// person is erased from what it wrote and sent).
	Waiting  func(*state.HeldError)
	HTTP     *http.Client
	Delivery sync.Options
}

// ForgetReport is what an erasure did. It names the person only masked.
type ForgetReport struct {
	RequestID   string           `json:"request_id"`
	Identifier  string           `json:"identifier"` // masked
	Profiles    []string         `json:"profiles"`
	Identifiers int              `json:"identifiers"` // on the suppression list for this request
	Removed     map[string]int64 `json:"removed_rows"`
	Erasures    []state.Erasure  `json:"erasures"`
	// Sources still holding rows of the person: delete them at the source.
	Sources map[string]int64 `json:"sources_holding_rows"`
	// IdentifierOnly: no profile held the identifier, so it alone is on
	// the suppression list. The person's other identifiers are unknown
	// (only a run links them to it, and runs no longer read the rows
	// holding it), and later runs still make a profile of them.
	IdentifierOnly bool `json:"identifier_only"`
	Done           bool `json:"done"`
}

// Forget erases the person holding id: every identifier of their profile
// goes on the suppression list (hashed, in the state store and in the
// output schema), they leave the output tables now and every later run
// reads none of their source rows, every sync's destination is asked to
// erase them (or take them off its audience), and the report says which
// sources still hold their rows. It holds the project's lease and waits
// for it; it is idempotent, and a forget cut short is finished by the next
// forget, run or sync.
func (s *Service) Forget(ctx context.Context, id Ident, o ForgetOptions) (*ForgetReport, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	lease, err := store.AcquireWait(ctx, LeaseKey(s.Project.Name), "cohort forget", 0, func(h *state.HeldError) {
		if o.Waiting != nil {
			o.Waiting(h)
		}
	})
	if err != nil {
		return nil, err
	}
	defer lease.Release(context.WithoutCancel(ctx))
	wh, done, err := s.writer(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	pl, err := Compile(s.Project, wh.Dialect(), nil, s.runOptions(RunOptions{}))
	if err != nil {
		return nil, err
	}
	c := pl.Ctx
	if c.Project.Identity.Rule(id.Type) == nil {
		var types []string
		for _, r := range c.Project.Identity.Identifiers {
			types = append(types, r.Type)
		}
		return nil, &UnknownError{fmt.Errorf("unknown identifier type %q (one of %s)", id.Type, strings.Join(types, ", "))}
	}
	norm, err := identity.Normalize(ctx, wh, c, id.Type, id.Value)
	if err != nil {
		return nil, err
	}
	hash := identity.SuppressionHash(id.Type, norm)
	req := &state.ForgetRequest{ID: hash, Project: s.Project.Name, RequestedAt: s.now()}
	// an identifier forgotten before, itself or as one of a profile's, is
	// that request's: forgetting it again repeats it, and reports on it
	if by, err := store.SuppressedBy(ctx, s.Project.Name, hash); err != nil {
		return nil, err
	} else if by != "" {
		req.ID = by
	}
	hashes := []string{hash}
	var who *identity.Profile
	graph, err := c.FinalExists(ctx, wh, identity.GraphTable)
	if err == nil && graph {
		who, err = identity.Lookup(ctx, wh, c, id.Type, norm)
	} else if err == nil {
		err = identity.ErrNotFound
	}
	switch {
	case err == nil:
		req.ProfileIDs = []string{who.ID}
		for _, x := range who.Identifiers {
			hashes = append(hashes, identity.SuppressionHash(x.Type, x.Value))
		}
	case errors.Is(err, identity.ErrNotFound):
		// no profile (never resolved, or forgotten before): suppress the identifier alone
	default:
		return nil, err
	}
	if err := store.Suppress(ctx, req, hashes); err != nil {
		return nil, err
	}
	s.logger().Info("forget requested", "request_id", req.ID, "profiles", len(req.ProfileIDs))
	reps, err := s.finishForgets(ctx, wh, c, store, o)
	var rep *ForgetReport
	for _, r := range reps {
		if r.RequestID == req.ID {
			rep = r
		}
	}
	if rep == nil {
		rep = &ForgetReport{RequestID: req.ID, Profiles: req.ProfileIDs}
	}
	rep.IdentifierOnly = len(rep.Profiles) == 0
	rep.Identifier = id.Type + ":" + models.Mask(norm)
	// the sources are asked for every identifier of the request, not only
	// those of the profile found now: once the profile is gone a forget
	// finds the requested identifier alone
	mine, herr := store.RequestSuppressions(ctx, req.ID)
	if herr == nil {
		rep.Sources, herr = identity.HeldBy(ctx, wh, c, union(hashes, mine))
	}
	// lists and counts are empty, not null, in JSON
	if rep.Profiles == nil {
		rep.Profiles = []string{}
	}
	if rep.Erasures == nil {
		rep.Erasures = []state.Erasure{}
	}
	if rep.Removed == nil {
		rep.Removed = map[string]int64{}
	}
	if rep.Sources == nil {
		rep.Sources = map[string]int64{}
	}
	return rep, errors.Join(err, herr)
}

// finishForgets brings the output schema's suppression list in step with
// the state store's and finishes every erasure request not done, oldest
// first. The caller holds the project's lease.
func (s *Service) finishForgets(ctx context.Context, wh dialects.Warehouse, c *plan.Context, store *state.Store, o ForgetOptions) ([]*ForgetReport, error) {
	pending, err := store.ForgetRequests(ctx, s.Project.Name, true)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	all, err := store.Suppressions(ctx, s.Project.Name)
	if err != nil {
		return nil, err
	}
	if err := writeSuppressions(ctx, wh, c, all); err != nil {
		return nil, fmt.Errorf("writing the suppression list to %s.%s: %w", c.Schema, plan.SuppressionsTable, err)
	}
	var out []*ForgetReport
	var errs []error
	for _, req := range pending {
		rep, err := s.finishForget(ctx, wh, c, store, req, o)
		out = append(out, rep)
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func (s *Service) finishForget(ctx context.Context, wh dialects.Warehouse, c *plan.Context, store *state.Store, req state.ForgetRequest, o ForgetOptions) (*ForgetReport, error) {
	rep := &ForgetReport{RequestID: req.ID, Profiles: req.ProfileIDs, Removed: map[string]int64{}, IdentifierOnly: len(req.ProfileIDs) == 0}
	hashes, err := store.RequestSuppressions(ctx, req.ID)
	if err != nil {
		return rep, err
	}
	rep.Identifiers = len(hashes)
	if req.Step == state.ForgetSuppressed {
		if rep.Removed, err = removeFromOutput(ctx, wh, c, req.ProfileIDs); err != nil {
			return rep, fmt.Errorf("forget: removing the person from the output tables: %w", err)
		}
		if err := store.ForgetStep(ctx, req.ID, state.ForgetOutput, s.now()); err != nil {
			return rep, err
		}
		req.Step = state.ForgetOutput
	}
	if req.Step == state.ForgetOutput {
		failed := 0
		proj, err := s.everySync(ctx) // syncs made (or deleted) in the UI too
		if err != nil {
			return rep, err
		}
		before, err := store.Erasures(ctx, req.ID)
		if err != nil {
			return rep, err
		}
		answered := map[string]state.Erasure{}
		for _, e := range before {
			answered[e.Sync] = e
		}
		for _, sy := range proj.Syncs {
			r, err := sync.Erase(ctx, sync.EraseParams{Project: proj, Sync: sy.Name, Warehouse: wh, HTTP: o.HTTP,
				ProfileIDs: req.ProfileIDs, Delivery: o.Delivery})
			if err != nil {
				r.Status, r.Detail = sync.EraseFailed, err.Error()
			}
			if r.Status == sync.EraseFailed {
				failed++
			}
			if prev, ok := answered[sy.Name]; ok && r.Status == sync.NotHeld && heldThem(prev.Status) {
				// the destination held them and this request erased them
				// (or said what to do by hand): that answer stands
				continue
			}
			e := state.Erasure{RequestID: req.ID, Sync: sy.Name, Destination: r.Destination, Status: r.Status, Records: r.Records, Detail: r.Detail, At: s.now()}
			if err := store.RecordErasure(ctx, e); err != nil {
				return rep, err
			}
			s.logger().Info("forget: destination answered", "request_id", req.ID, "sync", sy.Name, "status", r.Status, "records", r.Records)
		}
		n, err := s.forgetRemovedSyncs(ctx, wh, c, store, proj, req, hashes)
		if err != nil {
			return rep, err
		}
		failed += n
		if failed > 0 {
			rep.Erasures, _ = store.Erasures(ctx, req.ID)
			return rep, fmt.Errorf("forget: %d destination(s) did not erase the person; the next forget, run or sync tries again", failed)
		}
		if err := store.ForgetRejections(ctx, s.Project.Name, req.ProfileIDs); err != nil {
			return rep, err
		}
		if err := store.ForgetStep(ctx, req.ID, state.ForgetDone, s.now()); err != nil {
			return rep, err
		}
	}
	if rep.Erasures, err = store.Erasures(ctx, req.ID); err != nil {
		return rep, err
	}
	// a destination nobody could ask is for the user to erase by hand:
	// nothing is left to retry, but the erasure is not done
	var byHand []string
	for _, e := range rep.Erasures {
		if e.Status == sync.NotInProject {
			byHand = append(byHand, e.Sync)
		}
	}
	if len(byHand) > 0 {
		return rep, fmt.Errorf("forget: sync %s is no longer in the project, so its destination was not asked to erase the person: erase them there by hand",
			strings.Join(byHand, ", "))
	}
	rep.Done = true
	return rep, nil
}

// forgetRemovedSyncs deletes the person's rows from the snapshots of syncs
// no longer in proj (their YAML removed), and records for each that held
// them that its destination could not be asked to erase them. It returns
// how many such syncs failed (a warehouse error: the next forget, run or
// sync tries again).
func (s *Service) forgetRemovedSyncs(ctx context.Context, wh dialects.Warehouse, c *plan.Context, store *state.Store, proj *models.Project,
	req state.ForgetRequest, hashes []string) (int, error) {
	known := map[string]bool{}
	for _, sy := range proj.Syncs {
		known[sy.Name] = true
	}
	gone, err := sync.RemovedSyncs(ctx, wh, c.Schema, func(name string) bool { return known[name] })
	if err != nil || len(gone) == 0 {
		return 0, err
	}
	last, err := store.LastSyncRuns(ctx, s.Project.Name) // their destinations, as their last runs recorded them
	if err != nil {
		return 0, err
	}
	failed := 0
	for _, name := range gone {
		e := state.Erasure{RequestID: req.ID, Sync: name, Destination: last[name].Destination, Status: sync.NotInProject, At: s.now()}
		n, err := sync.ForgetRemoved(ctx, sync.ForgetRemovedParams{Warehouse: wh, Schema: c.Schema, Sync: name, ProfileIDs: req.ProfileIDs,
			KeyIs: keyIsOneOf(c, hashes)})
		switch {
		case err != nil:
			failed++
			e.Status, e.Detail = sync.EraseFailed, err.Error()
		case n == 0:
			continue // it held none of their keys (or an earlier forget took them: its answer stands)
		default:
			dest := "its destination"
			if e.Destination != "" {
				dest = e.Destination
			}
			e.Records = n
			e.Detail = "no longer in the project, so " + dest + " was not asked to erase them: erase them there by hand " +
				"(Cohort has deleted its copy of their keys)"
		}
		if err := store.RecordErasure(ctx, e); err != nil {
			return failed, err
		}
		s.logger().Warn("forget: a sync no longer in the project held the person; its destination was not asked to erase them",
			"request_id", req.ID, "sync", name, "destination", e.Destination, "status", e.Status, "records", e.Records)
	}
	return failed, nil
}

// keyIsOneOf gives the condition that a sync's match key (the SQL
// expression key) is, read as an identifier of any type, one whose
// suppression hash is among hashes.
func keyIsOneOf(c *plan.Context, hashes []string) func(key string) (string, []any) {
	return func(key string) (string, []any) {
		if len(hashes) == 0 {
			return "1 = 0", nil
		}
		var conds []string
		var args []any
		for _, r := range c.Project.Identity.Identifiers {
			w := plan.In(identity.SuppressedExpr(c.Dialect, r.Type, identity.NormalizeExpr(c.Dialect, r, key)), hashes)
			conds, args = append(conds, w.Cond), append(args, w.Args...)
		}
		return "(" + strings.Join(conds, " OR ") + ")", args
	}
}

// writeSuppressions replaces the output schema's suppression list with hashes.
func writeSuppressions(ctx context.Context, wh dialects.Warehouse, c *plan.Context, hashes []string) error {
	d := c.Dialect
	t := d.Quote(c.Schema, plan.SuppressionsTable)
	for _, st := range []string{d.CreateSchema(c.Schema),
		"CREATE TABLE IF NOT EXISTS " + t + " (identifier_hash " + d.TypeName(dialects.Text) + " NOT NULL)",
		"DELETE FROM " + t} {
		if err := wh.Exec(ctx, st); err != nil {
			return err
		}
	}
	if len(hashes) == 0 {
		return nil
	}
	return wh.Exec(ctx, dialects.Bind(d, "INSERT INTO "+t+" (identifier_hash) SELECT h FROM ("+
		d.ArrayRows([]string{"?"}, []dialects.Type{dialects.Text})+") AS a(h)"), hashes)
}

// removeFromOutput deletes the rows of profiles from every table of the
// output schema with a profile_id column, and the rows of suppressed
// identifiers from every table with identifier_type and identifier_value
// columns (rejections, cut links), except the syncs' snapshots: sync.Erase
// drops their rows once the destination took the erasure. It counts the
// rows per table.
func removeFromOutput(ctx context.Context, wh dialects.Warehouse, c *plan.Context, profileIDs []string) (map[string]int64, error) {
	d := c.Dialect
	tables, err := wh.Tables(ctx, c.Schema, "")
	if err != nil {
		return nil, err
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
	out := map[string]int64{}
	for _, t := range tables {
		if t.View || t.Name == plan.SuppressionsTable || strings.HasPrefix(t.Name, "sync_") {
			continue
		}
		cols, err := wh.Columns(ctx, c.Schema+"."+t.Name)
		if err != nil {
			return nil, err
		}
		has := map[string]bool{}
		for _, col := range cols {
			has[strings.ToLower(col.Name)] = true
		}
		var ways []plan.Where // each way a row goes: see plan.DeleteEach
		for _, k := range []string{"profile_id", "merged_profile_id"} {
			if has[k] && len(profileIDs) > 0 {
				ways = append(ways, plan.In(k, profileIDs))
			}
		}
		if has["identifier_type"] && has["identifier_value"] {
			ways = append(ways, plan.Where{Cond: d.SHA256Hex("identifier_type || ':' || identifier_value") + " IN (SELECT identifier_hash FROM " +
				d.Quote(c.Schema, plan.SuppressionsTable) + ")"})
		}
		n, err := plan.DeleteEach(ctx, wh, d.Quote(c.Schema, t.Name), ways)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		if n > 0 {
			out[t.Name] += n
		}
	}
	return out, nil
}

func (r *ForgetReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "forget %s (request %s)\n", r.Identifier, r.RequestID[:12])
	if r.IdentifierOnly {
		b.WriteString("  no profile holds it, so only this identifier is suppressed. Only a run links a person's\n" +
			"  other identifiers (customer ids, cookies ...) to it, and runs no longer read the rows\n" +
			"  holding it: forget each of them too")
		if len(r.Sources) > 0 {
			b.WriteString(" (the rows of the sources below name them)")
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "  profile %s: %s on the suppression list\n", strings.Join(r.Profiles, ", "), plan.Count(int64(r.Identifiers), "identifier"))
	}
	if len(r.Removed) > 0 {
		b.WriteString("  removed from the output tables:")
		for _, t := range sortedKeys(r.Removed) {
			fmt.Fprintf(&b, " %s %d", t, r.Removed[t])
		}
		b.WriteString("\n")
	}
	for _, e := range r.Erasures {
		fmt.Fprintf(&b, "  sync %-24s %-12s %s", e.Sync, e.Destination, e.Status)
		if e.Records > 0 {
			fmt.Fprintf(&b, " (%s)", plan.Count(int64(e.Records), "record"))
		}
		if e.Detail != "" {
			b.WriteString(": " + e.Detail)
		}
		b.WriteString("\n")
	}
	if len(r.Sources) == 0 {
		b.WriteString("  no source holds rows of this person any more\n")
	} else {
		b.WriteString("  sources still holding rows of this person (delete them at the source; Cohort will not read them):\n")
		for _, s := range sortedKeys(r.Sources) {
			fmt.Fprintf(&b, "    %-24s %s\n", s, plan.Count(r.Sources[s], "row"))
		}
	}
	switch {
	case r.Done && r.IdentifierOnly:
		b.WriteString("  done for this identifier only: later runs and syncs leave out the rows holding it, not the person's other identifiers\n")
	case r.Done:
		b.WriteString("  done: later runs and syncs exclude this person\n")
	case !r.has(sync.EraseFailed) && r.has(sync.NotInProject):
		b.WriteString("  NOT finished: a sync above is no longer in the project, so its destination still holds\n" +
			"  this person: erase them there by hand (Cohort has done the rest)\n")
	default:
		b.WriteString("  NOT finished: the next forget, run or sync tries again\n")
	}
	return b.String()
}

// has says whether a destination answered with status.
func (r *ForgetReport) has(status string) bool {
	return slices.ContainsFunc(r.Erasures, func(e state.Erasure) bool { return e.Status == status })
}

// heldThem says an erasure's status records that the destination held
// the person when the request reached it.
func heldThem(status string) bool {
	return status == sync.Erased || status == sync.Removed || status == sync.Unsupported || status == sync.NotInProject
}

// union is the hashes of a and b, each once.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, h := range b {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func sortedKeys(m map[string]int64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
