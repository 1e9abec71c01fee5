package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/profiles"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// Roles a token can have, from most to least powerful; see the README's API
// section for what each may do.
var Roles = []string{"admin", "editor", "marketer", "support"}

// ValidRole reports whether r is one of Roles.
func ValidRole(r string) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Token, AuditEntry and SavedSegment are the state store's records.
type (
	Token      = state.Token
	AuditEntry = state.AuditEntry
)

// ErrNoToken is an unknown or revoked token.
var ErrNoToken = state.ErrNoToken

// CreateToken makes an API token with a name and a role and returns it in
// clear, the only time it is seen: the store keeps its SHA-256.
func (s *Service) CreateToken(ctx context.Context, name, role string) (string, *Token, error) {
	if !ValidRole(role) {
		return "", nil, &UnknownError{fmt.Errorf("unknown role %q: one of %s", role, strings.Join(Roles, ", "))}
	}
	if strings.TrimSpace(name) == "" {
		return "", nil, &UnknownError{errors.New("a token needs a --name (who or what uses it)")}
	}
	store, err := s.store(ctx)
	if err != nil {
		return "", nil, err
	}
	return store.CreateToken(ctx, name, role)
}

// Tokens lists the tokens (never their secret).
func (s *Service) Tokens(ctx context.Context) ([]Token, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	return store.Tokens(ctx)
}

// RevokeToken revokes a token by name or id.
func (s *Service) RevokeToken(ctx context.Context, nameOrID string) error {
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	_, err = store.RevokeToken(ctx, nameOrID)
	return err
}

// Authenticate is the live token whose secret is token, or ErrNoToken.
func (s *Service) Authenticate(ctx context.Context, token string) (*Token, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	return store.TokenByHash(ctx, state.HashToken(token))
}

// Audit appends to the audit log.
func (s *Service) Audit(ctx context.Context, e AuditEntry) error {
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	return store.Audit(ctx, e)
}

// AuditLog is the newest limit entries of the audit log.
func (s *Service) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	return store.AuditLog(ctx, limit)
}

// SegmentInfo is a segment as listed: from the YAML project (read-only) or
// saved from the UI (kept in the state store).
type SegmentInfo struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Source      string          `json:"source"` // yaml | ui
	ReadOnly    bool            `json:"read_only"`
	UpdatedBy   string          `json:"updated_by,omitempty"`
	UpdatedAt   *time.Time      `json:"updated_at,omitempty"`
	Definition  *models.Segment `json:"definition,omitempty"`
}

// Segments lists the project's segments, YAML ones first, then those saved
// from the UI, each with its definition.
func (s *Service) Segments(ctx context.Context) ([]SegmentInfo, error) {
	var out []SegmentInfo
	for _, seg := range s.Project.Segments {
		out = append(out, SegmentInfo{Name: seg.Name, Description: seg.Description, Source: "yaml", ReadOnly: true, Definition: seg})
	}
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	saved, err := store.SavedSegments(ctx, s.Project.Name)
	if err != nil {
		return nil, err
	}
	for _, sv := range saved {
		seg, err := models.ParseSegment(sv.Definition)
		if err != nil { // the project changed under it: list it, say why
			seg = &models.Segment{Name: sv.Name, Description: "no longer valid: " + err.Error()}
		}
		at := sv.UpdatedAt
		out = append(out, SegmentInfo{Name: sv.Name, Description: seg.Description, Source: "ui", UpdatedBy: sv.UpdatedBy, UpdatedAt: &at, Definition: seg})
	}
	return out, nil
}

// FindSegment is a segment by name, YAML or saved from the UI.
func (s *Service) FindSegment(ctx context.Context, name string) (*SegmentInfo, error) {
	all, err := s.Segments(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range all {
		if all[i].Name == name {
			return &all[i], nil
		}
		names = append(names, all[i].Name)
	}
	return nil, &UnknownError{fmt.Errorf("unknown segment %q%s", name, models.Suggest(name, names, "segment"))}
}

// ConflictError is a change the current state forbids (a YAML segment
// edited from the UI, a name taken).
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// SaveSegment validates a segment definition (JSON or YAML) and saves it in
// the state store. create refuses a name in use; otherwise the name must be
// a segment saved from the UI. YAML segments are read-only here.
func (s *Service) SaveSegment(ctx context.Context, def []byte, by string, create bool) (*models.Segment, error) {
	seg, err := s.ParseSegment(def)
	if err != nil {
		return nil, err
	}
	if s.Project.Segment(seg.Name) != nil {
		return nil, &ConflictError{fmt.Sprintf("segment %q is defined in the project's YAML and is read-only here: change it in the YAML, or save under another name", seg.Name)}
	}
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	saved, err := store.SavedSegments(ctx, s.Project.Name)
	if err != nil {
		return nil, err
	}
	exists := false
	for _, sv := range saved {
		exists = exists || sv.Name == seg.Name
	}
	if create && exists {
		return nil, &ConflictError{fmt.Sprintf("a segment named %q exists: choose another name, or update it", seg.Name)}
	}
	if !create && !exists {
		return nil, &UnknownError{fmt.Errorf("unknown segment %q: create it first", seg.Name)}
	}
	b, err := seg.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return seg, store.SaveSegment(ctx, s.Project.Name, state.SavedSegment{Name: seg.Name, Definition: b, UpdatedBy: by, UpdatedAt: s.now()})
}

// DeleteSegment deletes a segment saved from the UI.
func (s *Service) DeleteSegment(ctx context.Context, name string) error {
	if s.Project.Segment(name) != nil {
		return &ConflictError{fmt.Sprintf("segment %q is defined in the project's YAML and is read-only here", name)}
	}
	proj, err := s.project(ctx)
	if err != nil {
		return err
	}
	for _, sy := range proj.Syncs {
		if sy.Segment == name {
			return &ConflictError{fmt.Sprintf("sync %q sends segment %q: delete the sync first", sy.Name, name)}
		}
	}
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	if err := store.DeleteSegment(ctx, s.Project.Name, name); errors.Is(err, state.ErrNoSegment) {
		return &UnknownError{fmt.Errorf("unknown segment %q", name)}
	} else if err != nil {
		return err
	}
	return nil
}

// SegmentPoint is a segment's size after one run.
type SegmentPoint struct {
	RunAt   time.Time `json:"run_at"`
	Members int64     `json:"members"`
	Entered int64     `json:"entered"`
	Exited  int64     `json:"exited"`
}

// SegmentHistory is a segment's size over time, oldest first, from the
// warehouse's segment_history (entries and exits per run).
func (s *Service) SegmentHistory(ctx context.Context, name string) ([]SegmentPoint, error) {
	if _, err := s.FindSegment(ctx, name); err != nil {
		return nil, err
	}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	q := dialects.Bind(wh.Dialect(), `SELECT changed_at,
  sum(CASE WHEN change = 'entered' THEN 1 ELSE 0 END), sum(CASE WHEN change = 'exited' THEN 1 ELSE 0 END)
FROM `+c.Input(segments.HistoryTable)+` WHERE segment = ? GROUP BY changed_at ORDER BY changed_at`)
	rows, err := wh.Query(ctx, q, name)
	if err != nil {
		if errors.Is(err, dialects.ErrNoTable) {
			return []SegmentPoint{}, nil
		}
		return nil, err
	}
	defer rows.Close()
	out := []SegmentPoint{}
	var members int64
	for rows.Next() {
		var p SegmentPoint
		if err := rows.Scan(&p.RunAt, &p.Entered, &p.Exited); err != nil {
			return nil, err
		}
		members += p.Entered - p.Exited
		p.Members = members
		p.RunAt = p.RunAt.UTC()
		out = append(out, p)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil || len(out) == 0 {
		return out, err
	}
	// retention.segment_history may have pruned the oldest entries: the
	// sizes count back from the segment's members now
	var now int64
	if err := plan.QueryRow(ctx, wh, dialects.Bind(wh.Dialect(), "SELECT count(*) FROM "+c.Input(segments.MembershipsTable)+" WHERE segment = ?"),
		[]any{name}, &now); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Members += now - members
	}
	return out, nil
}

// PauseSync stops the scheduler from running a sync until ResumeSync.
func (s *Service) PauseSync(ctx context.Context, name, by string) error {
	if err := s.knownSync(ctx, name); err != nil {
		return err
	}
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	return store.PauseSync(ctx, s.Project.Name, name, by)
}

// ResumeSync lets the scheduler run a paused sync again.
func (s *Service) ResumeSync(ctx context.Context, name string) error {
	if err := s.knownSync(ctx, name); err != nil {
		return err
	}
	store, err := s.store(ctx)
	if err != nil {
		return err
	}
	return store.ResumeSync(ctx, s.Project.Name, name)
}

// CatalogTrait is a trait as the segment builder offers it.
type CatalogTrait struct {
	Name string `json:"name"`
	// Type is the kind of its values (text, number, boolean, timestamp):
	// the warehouse's column after a run, else what the definition says;
	// text when neither knows.
	Type          string `json:"type"`
	WarehouseType string `json:"warehouse_type,omitempty"` // the column's type as the warehouse names it, after a run
}

// CatalogField is a column of a source with the kind of its values.
type CatalogField struct {
	Name string `json:"name"`
	Type string `json:"type"` // text | number | boolean | timestamp, "" when none of them
}

// CatalogSource is a source as the segment builder offers it; for events,
// the event names its event column holds and the columns ("properties")
// an event condition's where can test.
type CatalogSource struct {
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Columns   []string       `json:"columns"`
	Fields    []CatalogField `json:"fields"`
	Timestamp string         `json:"timestamp,omitempty"`
	Event     string         `json:"event,omitempty"` // the column naming the event
	Events    []string       `json:"events,omitempty"`
}

// BuilderCatalog is what the segment builder needs: traits, event sources,
// operators, segments, destinations and syncs.
type BuilderCatalog struct {
	Traits       []CatalogTrait  `json:"traits"`
	Sources      []CatalogSource `json:"sources"`
	Operators    []string        `json:"operators"`
	Segments     []string        `json:"segments"`
	Destinations []string        `json:"destinations"`
	Syncs        []string        `json:"syncs"`
}

// Operators a trait or column condition may use.
var Operators = []string{"eq", "neq", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "starts_with", "is_null", "between", "before", "after", "within"}

// catalogEvents caps the event names the catalog lists per source.
const catalogEvents = 500

// Catalog is what the segment builder offers.
func (s *Service) Catalog(ctx context.Context) (*BuilderCatalog, error) {
	out := &BuilderCatalog{Traits: []CatalogTrait{}, Sources: []CatalogSource{}, Operators: Operators, Segments: []string{}, Destinations: []string{}, Syncs: []string{}}
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	d := wh.Dialect()
	columns := map[string]map[string]string{} // source → column → kind
	for _, src := range s.Project.Sources {
		cs := CatalogSource{Name: src.Name, Kind: src.Kind, Columns: []string{}, Fields: []CatalogField{}, Timestamp: src.Timestamp, Event: src.Event}
		if src.Kind == "" {
			cs.Kind = "entities"
		}
		var cols []dialects.Column
		if src.Table != "" {
			cols, err = wh.Columns(ctx, src.Table)
		} else {
			cols, err = wh.QueryColumns(ctx, src.SQL)
		}
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		columns[src.Name] = map[string]string{}
		for _, col := range cols {
			k := models.KindOf(col.Type)
			cs.Columns = append(cs.Columns, col.Name)
			cs.Fields = append(cs.Fields, CatalogField{Name: col.Name, Type: k})
			columns[src.Name][col.Name] = k
		}
		if src.Event != "" && err == nil {
			if cs.Events, err = s.eventNames(ctx, wh, d, src); err != nil {
				return nil, err
			}
		}
		out.Sources = append(out.Sources, cs)
	}
	// a trait's kind: its column in profiles after a run, else its definition
	built := map[string]string{}
	if cols, err := wh.Columns(ctx, c.Input(profiles.Table)); err == nil {
		for _, col := range cols {
			built[col.Name] = col.Type
		}
	}
	declared := models.TraitKinds(s.Project, func(src, col string) string { return columns[src][col] }, nil)
	for _, t := range s.Project.Traits {
		ct := CatalogTrait{Name: t.Name, WarehouseType: built[t.Name], Type: models.KindOf(built[t.Name])}
		if ct.Type == "" {
			ct.Type = declared[t.Name]
		}
		if ct.Type == "" {
			ct.Type = models.KindText
		}
		out.Traits = append(out.Traits, ct)
	}
	segs, err := s.Segments(ctx)
	if err != nil {
		return nil, err
	}
	for _, sg := range segs {
		out.Segments = append(out.Segments, sg.Name)
	}
	for _, d := range s.Project.Destinations {
		out.Destinations = append(out.Destinations, d.Name)
	}
	proj, err := s.project(ctx)
	if err != nil {
		return nil, err
	}
	for _, sy := range proj.Syncs {
		out.Syncs = append(out.Syncs, sy.Name)
	}
	sort.Strings(out.Segments)
	return out, nil
}

// eventNames are the distinct values of an events source's event column
// (up to catalogEvents), with the names the project's segments use.
func (s *Service) eventNames(ctx context.Context, wh dialects.Warehouse, d dialects.Dialect, src *models.Source) ([]string, error) {
	seen := map[string]bool{}
	for _, seg := range s.Project.Segments {
		seg.Where.Walk(func(c *models.Condition) {
			if c.Event != nil && c.Event.Source == src.Name && c.Event.Name != "" {
				seen[c.Event.Name] = true
			}
		})
	}
	col := d.Quote(src.Event)
	q := dialects.Bind(d, "SELECT DISTINCT CAST("+col+" AS "+d.TypeName(dialects.Text)+") FROM "+plan.Relation(d, src)+" s WHERE "+col+" IS NOT NULL ORDER BY 1 LIMIT ?")
	rows, err := wh.Query(ctx, q, catalogEvents)
	if err != nil {
		return nil, fmt.Errorf("catalog: event names of source %s: %w", src.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		seen[n] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// ErrNotFound says an identifier is in no profile.
var ErrNotFound = identity.ErrNotFound

// Records of the state store, as the API returns them.
type (
	RunRecord     = state.Run
	SyncRun       = state.SyncRun
	Rejection     = state.Rejection
	PreviewResult = segments.PreviewResult
	Segment       = models.Segment
)

// RunRecord is one warehouse run by id.
func (s *Service) RunRecord(ctx context.Context, id string) (*RunRecord, error) {
	runs, err := s.Runs(ctx, 10000)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		if runs[i].ID == id {
			return &runs[i], nil
		}
	}
	return nil, &UnknownError{fmt.Errorf("unknown run %q", id)}
}

// Rejections are the rows a destination refused in one run of a sync.
func (s *Service) Rejections(ctx context.Context, syncName, runID string, limit int) ([]Rejection, error) {
	if err := s.knownSync(ctx, syncName); err != nil {
		return nil, err
	}
	store, err := s.store(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := store.Rejections(ctx, runID, limit)
	if err != nil {
		return nil, err
	}
	out := []Rejection{}
	for _, r := range rs {
		if r.Sync == syncName {
			out = append(out, r)
		}
	}
	return out, nil
}

// SampleIdentifiers is up to n identifiers of the last run's identity graph
// (spread by a hash, not the first rows), for load generators.
func (s *Service) SampleIdentifiers(ctx context.Context, n int) ([]Ident, error) {
	wh, c, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := wh.Query(ctx, dialects.Bind(wh.Dialect(), `SELECT identifier_type, identifier_value FROM `+c.Input(identity.GraphTable)+
		` ORDER BY `+wh.Dialect().Hash64("identifier_value")+` LIMIT ?`), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Ident
	for rows.Next() {
		var id Ident
		if err := rows.Scan(&id.Type, &id.Value); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SyncFigures is each sync's name, pause and last run, read from the state
// store alone (no warehouse, no schedule): what /metrics reports at every
// scrape.
func (s *Service) SyncFigures(ctx context.Context) ([]SyncStatus, error) {
	proj, err := s.project(ctx)
	if err != nil {
		return nil, err
	}
	last, paused, err := s.syncState(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SyncStatus, 0, len(proj.Syncs))
	for _, sy := range proj.Syncs {
		st := SyncStatus{Name: sy.Name, Segment: sy.Segment, Destination: sy.Destination, Mode: sy.Mode, Paused: paused[sy.Name]}
		if r, ok := last[sy.Name]; ok {
			st.LastRun = &r
		}
		out = append(out, st)
	}
	return out, nil
}
