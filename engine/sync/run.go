package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	stdsync "sync"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/consent"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/engine/state"
	"github.com/cohort-cdp/cohort/models"
)

// Params are one run of one sync.
type Params struct {
	Project   *models.Project
	Sync      string
	Warehouse dialects.Warehouse
	// Store records the run and its rejected rows; nil records nothing.
	Store *state.Store
	// HTTP is the client connectors send with; nil: one with a 60 s timeout.
	HTTP   *http.Client
	RunID  string           // "" draws one
	Now    func() time.Time // nil: time.Now
	DryRun bool             // compute and show the changes; write and send nothing
	Sample int              // dry run: changes shown per operation (default 5)
	// PageRows is how many changes are read from the warehouse per query
	// (default 50,000): memory holds at most a page, whatever the audience
	// (the DuckDB driver holds a query's whole result: 50,000 rows of a
	// changes table held 25-30 MB). Acknowledgements are folded as many at
	// a time.
	PageRows int
	// SliceRows is about how many match keys one statement of the diff
	// compares (default 1,000,000): a larger audience or snapshot is diffed
	// a slice of key hashes at a time, so that the warehouse never holds
	// the whole audience joined with the whole snapshot. At MemoryLimit and
	// one thread, a million members against a million-row snapshot fit one
	// statement; slices of 100,000 took 50% more processor time (each
	// reads the audience and the snapshot again) and no less memory.
	SliceRows int
	// Delivery tunes retries and gives the clock (tests); the sync's name,
	// mode and the connector's limits are filled in.
	Delivery Options
	// Progress, when set, hears after each acknowledged batch how many of
	// the run's changes have a final outcome.
	Progress func(done, total int64)
}

// Planned counts a run's changes before any is sent.
type Planned struct {
	Adds    int64 `json:"adds"`
	Changes int64 `json:"changes"`
	Removes int64 `json:"removes"`
}

// Total is the number of changes.
func (p Planned) Total() int64 { return p.Adds + p.Changes + p.Removes }

// Change is one change as a dry run shows it.
type Change struct {
	Op        string            `json:"op"`
	ProfileID string            `json:"profile_id"`
	Key       map[string]string `json:"key"`
	Fields    map[string]any    `json:"fields,omitempty"`

	key string // the sync key, which samples are ordered by
}

// Result is what a sync run did (or, dry, would do).
type Result struct {
	Run     state.SyncRun `json:"run"`
	Region  string        `json:"region"`
	Consent string        `json:"consent"` // the consent rule, in words
	Planned Planned       `json:"planned"`
	Sample  []Change      `json:"sample,omitempty"`
	Stats   Stats         `json:"stats"`
	// Unsendable are changes Cohort could not turn into the destination's
	// types (a text trait in a number field); they count as rejected.
	Unsendable int64         `json:"unsendable,omitempty"`
	DiffTime   time.Duration `json:"diff_time"`

	diffed bool // the changes table was built
}

// Run runs one sync; the caller holds the project's lease (Service.Sync
// does), so that no warehouse run or other sync interleaves. It folds what
// an earlier run had acknowledged into the snapshot, computes the diff in
// the warehouse, sends it, records each acknowledgement as it comes, and
// folds them into the snapshot. A run whose rows were rejected or not
// delivered ends partial, one that stopped early failed (with an error);
// either way what was acknowledged is kept, and the rest is offered again on
// the next run. A run of this sync still recorded as running is marked
// failed (abandoned): its process died.
func Run(ctx context.Context, p Params) (*Result, error) {
	t, err := targetOf(p)
	if err != nil {
		return nil, err
	}
	s, dest, spec := t.sync, t.dest, t.spec
	if ps := spec.CheckMapping(destinations.Mode(s.Mode), s.Match, s.Fields, func(string) string { return "" }); len(ps) > 0 {
		return nil, fmt.Errorf("sync %s: %w", s.Name, joinProblems(ps))
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	runID := p.RunID
	if runID == "" {
		runID = newRunID()
	}
	wh, d := p.Warehouse, p.Warehouse.Dialect()
	schema := p.Project.Warehouse.Schema
	for _, t := range []string{profilesTable, membershipsTable} {
		if _, err := wh.Columns(ctx, schema+"."+t); err != nil {
			if errors.Is(err, dialects.ErrNoTable) {
				return nil, fmt.Errorf("sync %s: %s.%s does not exist yet: run `cohort run` first", s.Name, schema, t)
			}
			return nil, fmt.Errorf("sync %s: %w", s.Name, err)
		}
	}
	exists := func(t string) (bool, error) {
		_, err := wh.Columns(ctx, schema+"."+t)
		if errors.Is(err, dialects.ErrNoTable) {
			return false, nil
		}
		return err == nil, err
	}
	var have [3]bool // snapshot, acks, changes (a crashed run's)
	for i, t := range []string{SnapshotTable(s.Name), AcksTable(s.Name), ChangesTable(s.Name)} {
		if have[i], err = exists(t); err != nil {
			return nil, fmt.Errorf("sync %s: %w", s.Name, err)
		}
	}
	x, err := t.diff(ctx, wh, schema)
	if err != nil {
		return nil, err
	}
	var held int64
	if x.slices, held, err = slices(ctx, wh, x, have[0], p.SliceRows); err != nil {
		return nil, fmt.Errorf("sync %s: sizing the diff: %w", s.Name, err)
	}
	// A snapshot that holds nobody (a first sync) makes every member a
	// change: that diff reads the members' fields as it goes (see diffSpec.late).
	x.late = held > 0
	res := &Result{Region: t.region, Consent: t.rule.String(),
		Run: state.SyncRun{ID: runID, Project: p.Project.Name, Sync: s.Name, Destination: dest.Name, Mode: s.Mode, StartedAt: now()}}

	if p.DryRun {
		switch {
		case !have[0]:
			x.held = heldNone
		case have[1] && have[2]:
			x.held = heldUnfolded
		}
		return res, dryRun(ctx, wh, x, p.Sample, res)
	}

	// Tables, then a crashed run's acknowledgements into the snapshot.
	for _, st := range tableDDL(d, schema, s.Name) {
		if err := wh.Exec(ctx, st); err != nil {
			return nil, fmt.Errorf("sync %s: creating its tables: %w", s.Name, err)
		}
	}
	fold := func() error { return foldAcks(ctx, wh, schema, s.Name, runID, p.PageRows) }
	if !have[2] { // no changes table: nothing can have been acknowledged
		fold = func() error { return wh.Exec(ctx, "DELETE FROM "+d.Quote(schema, AcksTable(s.Name))) }
	}
	if err := fold(); err != nil {
		return nil, fmt.Errorf("sync %s: folding a crashed run's acknowledgements into the snapshot: %w", s.Name, err)
	}
	if p.Store != nil {
		if err := p.Store.AbandonSyncRuns(ctx, p.Project.Name, s.Name, runID); err != nil {
			return nil, err
		}
		if err := p.Store.StartSyncRun(ctx, &res.Run); err != nil {
			return nil, err
		}
	}
	runErr := deliverRun(ctx, p, spec, dest, x, res)
	// Whatever happened, what was acknowledged goes into the snapshot; the
	// changes table goes only once that is done (the fold reads it).
	if res.diffed {
		err := foldAcks(context.WithoutCancel(ctx), wh, schema, s.Name, runID, p.PageRows)
		if err == nil {
			err = wh.Exec(context.WithoutCancel(ctx), d.DropTable(d.Quote(schema, ChangesTable(s.Name))))
		}
		if err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("folding acknowledgements into the snapshot (they stay in %s and are folded next run): %w",
				AcksTable(s.Name), err))
		}
	}

	r := &res.Run
	st := res.Stats
	r.Added, r.Changed, r.Removed, r.Retried, r.Pending = st.Added, st.Changed, st.Removed, st.Retried, st.Pending
	r.Rejected = st.Rejected + res.Unsendable
	undelivered := res.Planned.Total() - st.Delivered() - r.Rejected
	switch {
	case runErr != nil:
		// kept for retention.runs and not purged by a forget: a vendor's message quoting a person is masked
		r.Status, r.Error = state.Failed, models.MaskValuesIn(runErr.Error())
		r.Pending = undelivered
	case r.Rejected > 0 || undelivered > 0:
		r.Status, r.Pending = state.Partial, undelivered
		r.Error = plan.Count(int64(r.Rejected), "row") + " rejected and " + plan.Thousands(int64(undelivered)) + " not delivered; they are offered again on the next run"
	default:
		r.Status = state.Succeeded
	}
	fin := now()
	r.FinishedAt = &fin
	if p.Store != nil {
		if err := p.Store.FinishSyncRun(context.WithoutCancel(ctx), r); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if runErr != nil {
		return res, fmt.Errorf("sync %s failed: %w", s.Name, maskedError{runErr})
	}
	return res, nil
}

// maskedError is a failed run's error as the caller prints or logs it:
// the personal values it quotes masked, as in the run history, while
// errors.Is and errors.As still reach what it wraps (a cancelled context,
// an open circuit).
type maskedError struct{ err error }

func (e maskedError) Error() string { return models.MaskValuesIn(e.err.Error()) }
func (e maskedError) Unwrap() error { return e.err }

// MemoryLimit and Threads are the settings a `cohort sync` process opens
// an embedded warehouse (DuckDB, in the process) with when the project
// sets no warehouse.memory_limit or threads: the diff (a slice of key
// hashes at a time, see Params.SliceRows) and the fold (a slice of change
// ids at a time) spill to disk instead of growing the process. A first sync
// of 1,000,000 members peaked at 811 MB resident without a limit and 313 MB
// at 128 MB and two threads; at 32 MB, two threads ran out of memory in the
// diff and in the fold, one does not (and takes no more processor time).
// They are set when the warehouse opens: lowered later, DuckDB keeps the
// memory it cached for the higher limit (620-710 MB). With DuckDB 2.0, one
// thread at 32 MB holds because the diff finds shared match keys by
// grouping the profiles table and the fold's anti-join is built on the
// acknowledgements (see diff.go): grouping the members themselves, or a
// NOT EXISTS over the snapshot, ran out of memory. A first sync of
// 1,000,000 members then peaked at 185-186 MB resident (DuckDB 1.5.6:
// 190-207 MB, measured the same way), for 35-37 s of processor time
// instead of 28-30 s.
const (
	MemoryLimit = "32MB"
	Threads     = 1
)

// Eligible is the SQL condition that the profiles row aliased alias would
// be sent by sync name were it a member outside the holdout: its
// destination's consent rule holds and it has a match key, as the diff
// asks of the members it sends. Lift asks it of the holdout, so that the
// arms it compares are both people the sync could reach: without it, a
// sync with a consent purpose compares the consenting (often the more
// engaged) with everyone.
func Eligible(p *models.Project, name string, d dialects.Dialect, alias string) (string, error) {
	t, err := targetOf(Params{Project: p, Sync: name})
	if err != nil {
		return "", err
	}
	return sendable(d.Quote, alias, newMapping(t.sync).traits, t.rule.Condition(d.Quote, alias)), nil
}

// target is what a run of one sync works from: the sync, its destination
// and the consent rule of the destination's region.
type target struct {
	sync   *models.Sync
	dest   *models.Destination
	spec   *destinations.Spec
	region string
	rule   consent.Rule
}

// targetOf finds the sync p names, its destination and the consent rule
// that applies there.
func targetOf(p Params) (*target, error) {
	s, dest, err := find(p.Project, p.Sync)
	if err != nil {
		return nil, err
	}
	spec, err := destinations.Lookup(dest.Type)
	if err != nil {
		return nil, fmt.Errorf("sync %s: destination %s: %w", s.Name, dest.Name, err)
	}
	region := spec.RegionOf(dest.Region, dest.Config)
	rule, err := consent.For(p.Project, s, region, spec.IsInternal(dest.Config))
	if err != nil {
		return nil, err
	}
	return &target{sync: s, dest: dest, spec: spec, region: region, rule: rule}, nil
}

// diff is the sync's diff against its snapshot, whole (late and slices
// are the run's to set): members sent where the consent rule holds and,
// once someone was forgotten, where they are not suppressed.
func (t *target) diff(ctx context.Context, wh dialects.Warehouse, schema string) (diffSpec, error) {
	d := wh.Dialect()
	cond := t.rule.Condition(d.Quote, "a")
	var withdrawn []string
	if cond != "" {
		withdrawn = append(withdrawn, "SELECT a.profile_id FROM "+d.Quote(schema, profilesTable)+" a WHERE NOT ("+cond+")")
	}
	if forgotten, err := suppressed(ctx, wh, schema); err != nil {
		return diffSpec{}, fmt.Errorf("sync %s: %w", t.sync.Name, err)
	} else if forgotten {
		if cond != "" {
			cond += " AND "
		}
		cond += consent.Unsuppressed(d, schema, "a")
		withdrawn = append(withdrawn, consent.Suppressed(d, schema))
	}
	return diffSpec{d: d, schema: schema, sync: t.sync, m: newMapping(t.sync), consent: cond, withdrawn: withdrawn,
		mode: destinations.Mode(t.sync.Mode), canDelete: t.spec.CanDelete, held: heldSnapshot}, nil
}

func find(p *models.Project, name string) (*models.Sync, *models.Destination, error) {
	var known []string
	for _, s := range p.Syncs {
		if s.Name == name {
			dest := p.Destination(s.Destination)
			if dest == nil {
				return nil, nil, fmt.Errorf("sync %s: unknown destination %q", s.Name, s.Destination)
			}
			return s, dest, nil
		}
		known = append(known, s.Name)
	}
	return nil, nil, fmt.Errorf("unknown sync %q (syncs: %s)", name, strings.Join(known, ", "))
}

func joinProblems(ps []destinations.Problem) error {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// newRunID is the start time to the nanosecond, then random hex: run
// histories list runs of one sync started in the same second (a clock
// fixed for a test, or a sync run again at once) in the order they started.
func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	now := time.Now().UTC()
	return now.Format("20060102T150405") + fmt.Sprintf("%09d", now.Nanosecond()) + "-" + hex.EncodeToString(b)
}

// dryRun counts the changes and samples a few of each kind.
func dryRun(ctx context.Context, wh dialects.Warehouse, x diffSpec, sample int, res *Result) error {
	if sample <= 0 {
		sample = 5
	}
	start := time.Now()
	for x.slice = 0; x.slice < max(x.slices, 1); x.slice++ {
		var n Planned
		if err := count(ctx, wh, "SELECT op, count(*) FROM (\n"+x.query()+"\n) d GROUP BY op", &n); err != nil {
			return fmt.Errorf("sync %s: computing the diff: %w", x.sync.Name, err)
		}
		res.Planned.Adds, res.Planned.Changes, res.Planned.Removes = res.Planned.Adds+n.Adds, res.Planned.Changes+n.Changes, res.Planned.Removes+n.Removes
	}
	res.DiffTime = time.Since(start)
	if res.Planned == (Planned{}) {
		return nil
	}
	// A few of each kind, the first by key: the rows ranked within their
	// kind in each slice, then the first of the slices'. (A top-N of one
	// kind at a time read the diff once a kind, and on DuckDB 2.0 at 32 MB
	// a re-sync's top-N by key ran out of memory on the demo's 25 changes.)
	some := map[destinations.Op][]Change{}
	for x.slice = 0; x.slice < max(x.slices, 1); x.slice++ {
		if err := sampleOf(ctx, wh, x, sample, some); err != nil {
			return err
		}
	}
	for _, op := range []destinations.Op{destinations.Add, destinations.Update, destinations.Remove} {
		s := some[op]
		sort.SliceStable(s, func(i, j int) bool { return s[i].key < s[j].key })
		res.Sample = append(res.Sample, s[:min(len(s), sample)]...)
	}
	return nil
}

// sampleOf adds to some the first n changes of each kind by key in x's
// slice.
func sampleOf(ctx context.Context, wh dialects.Warehouse, x diffSpec, n int, some map[destinations.Op][]Change) error {
	rows, err := wh.Query(ctx, fmt.Sprintf(`SELECT * FROM (
  SELECT d.*, row_number() OVER (PARTITION BY op ORDER BY sync_key) AS sample_rank FROM (
%s
  ) d
) r WHERE sample_rank <= %d`, x.query(), n))
	if err != nil {
		return fmt.Errorf("sync %s: sampling the diff: %w", x.sync.Name, err)
	}
	defer rows.Close()
	rr := newRowReader(x.m, nil)
	for rows.Next() {
		rec, err := rr.scan(rows, true)
		if err != nil {
			return err
		}
		some[rec.Op] = append(some[rec.Op], Change{Op: string(rec.Op), ProfileID: rec.ProfileID, Key: rec.Key, Fields: rec.Fields, key: x.m.keyText(rec.Key)})
	}
	return rows.Err()
}

// slices is how many slices of key hashes the diff is cut into: one per
// sliceRows (default 1,000,000) of the larger of the segment and the
// snapshot; held is the snapshot's rows.
func slices(ctx context.Context, wh dialects.Warehouse, x diffSpec, snapshot bool, sliceRows int) (n int, held int64, err error) {
	if sliceRows <= 0 {
		sliceRows = 1_000_000
	}
	d := x.d
	var members int64
	if err := plan.QueryRow(ctx, wh, fmt.Sprintf("SELECT count(*) FROM %s WHERE segment = %s",
		d.Quote(x.schema, membershipsTable), literal(x.sync.Segment)), nil, &members); err != nil {
		return 0, 0, err
	}
	if snapshot {
		if err := plan.QueryRow(ctx, wh, "SELECT count(*) FROM "+d.Quote(x.schema, SnapshotTable(x.sync.Name)), nil, &held); err != nil {
			return 0, 0, err
		}
	}
	return int((max(members, held) + int64(sliceRows) - 1) / int64(sliceRows)), held, nil
}

func count(ctx context.Context, wh dialects.Warehouse, q string, into *Planned) error {
	rows, err := wh.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			op string
			n  int64
		)
		if err := rows.Scan(&op, &n); err != nil {
			return err
		}
		switch op {
		case "add":
			into.Adds = n
		case "update":
			into.Changes = n
		case "remove":
			into.Removes = n
		}
	}
	return rows.Err()
}

// rowReader turns rows of the diff into Records.
type rowReader struct {
	m     mapping
	types []destinations.FieldType // per field; nil: as scanned
	dest  []any
}

func newRowReader(m mapping, types []destinations.FieldType) *rowReader {
	return &rowReader{m: m, types: types, dest: make([]any, 6+len(m.fields))}
}

// scan reads one row (op, change_id, sync_key, sync_hash, profile_id, ref,
// f0..fn, and extra columns when extra). The key's values come back from
// sync_key; fields are coerced to the destination's types.
func (r *rowReader) scan(rows dialects.Rows, extra bool) (*destinations.Record, error) {
	vals := r.dest
	if extra {
		cols, err := rows.Columns()
		if err != nil {
			return nil, err
		}
		vals = make([]any, len(cols))
	}
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	rec := &destinations.Record{Op: destinations.Op(text(vals[0])), ID: text(vals[1]), ProfileID: text(vals[4]), Ref: text(vals[5]),
		Key: make(map[string]string, len(r.m.match))}
	parts := strings.Split(text(vals[2]), KeySep)
	for i, k := range r.m.match {
		if i < len(parts) && parts[i] != "" {
			rec.Key[k] = parts[i]
		}
	}
	if rec.Op != destinations.Remove {
		rec.Fields = make(map[string]any, len(r.m.fields))
		for i, f := range r.m.fields {
			v := plain(vals[6+i])
			if r.types != nil {
				c, err := destinations.Coerce(v, r.types[i])
				if err != nil {
					return rec, &coerceError{field: f, trait: r.m.from[i], err: err}
				}
				v = c
			}
			rec.Fields[f] = v
		}
	}
	return rec, nil
}

type coerceError struct {
	field, trait string
	err          error
}

func (e *coerceError) Error() string {
	return fmt.Sprintf("field %s (trait %s): %v", e.field, e.trait, e.err)
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// plain turns what a driver scanned into a plain value (decimals to text).
func plain(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return v
}

// deliverRun materializes the diff, streams it to the destination and
// records every acknowledgement.
func deliverRun(ctx context.Context, p Params, spec *destinations.Spec, dest *models.Destination, x diffSpec, res *Result) error {
	wh, d := p.Warehouse, x.d
	changes := d.Quote(x.schema, ChangesTable(x.sync.Name))
	start := time.Now()
	_ = wh.Exec(ctx, d.DropTable(changes))
	// The first slice creates the table, the others add to it.
	diff := []string{d.CreateTableAs(changes, x.query(), false)}
	for x.slice = 1; x.slice < x.slices; x.slice++ {
		diff = append(diff, "INSERT INTO "+changes+"\n"+x.query())
	}
	if err := bulk(ctx, wh, diff...); err != nil {
		return fmt.Errorf("computing the diff: %w", err)
	}
	res.diffed = true
	if err := count(ctx, wh, "SELECT op, count(*) FROM "+changes+" GROUP BY op", &res.Planned); err != nil {
		return fmt.Errorf("counting the diff: %w", err)
	}
	res.DiffTime = time.Since(start)
	if res.Planned.Total() == 0 {
		return nil
	}

	client := p.HTTP
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	dst, _, err := destinations.Open(dest.Type, destinations.Config{Name: dest.Name, Region: dest.Region, Values: dest.Config, HTTP: client})
	if err != nil {
		return err
	}
	if c, ok := dst.(io.Closer); ok {
		defer c.Close() // a connection pool (postgres) is the run's to release
	}
	types := make([]destinations.FieldType, len(x.m.fields))
	for i, f := range x.m.fields {
		if types[i], err = spec.FieldType(f); err != nil {
			return err
		}
	}

	var (
		mu    stdsync.Mutex
		local []state.Rejection // changes that could not be coerced
	)
	rr := newRowReader(x.m, types)
	// The changes are read a page of rows at a time (a driver may hold a
	// query's whole result in memory): removals first, so that a key never
	// leaves after it arrived, then adds and updates.
	page := int64(p.PageRows)
	if page <= 0 {
		page = 50_000
	}
	columns := "op, change_id, sync_key, sync_hash, profile_id, ref" + cols(", ", len(x.m.fields), "f%d")
	var queries []string
	total := res.Planned.Total()
	for _, where := range []string{"op = 'remove'", "op <> 'remove'"} {
		if where == "op = 'remove'" && res.Planned.Removes == 0 || where != "op = 'remove'" && res.Planned.Removes == total {
			continue
		}
		for _, r := range idRanges("change_id", total, page) {
			queries = append(queries, fmt.Sprintf("SELECT %s FROM %s WHERE %s%s", columns, changes, where, r))
		}
	}
	var rows dialects.Rows
	defer func() {
		if rows != nil {
			rows.Close()
		}
	}()
	next := func() (*destinations.Record, error) {
		for {
			if rows == nil {
				if len(queries) == 0 {
					return nil, io.EOF
				}
				r, err := wh.Query(ctx, queries[0])
				if err != nil {
					return nil, err
				}
				rows, queries = r, queries[1:]
			}
			if !rows.Next() {
				err := rows.Err()
				rows.Close()
				rows = nil
				if err != nil {
					return nil, err
				}
				continue
			}
			rec, err := rr.scan(rows, false)
			var ce *coerceError
			if errors.As(err, &ce) {
				mu.Lock()
				local = append(local, state.Rejection{RunID: res.Run.ID, Sync: x.sync.Name, Key: text(rr.dest[2]), ProfileID: rec.ProfileID,
					Reason: models.MaskValuesIn("not sent: " + ce.Error()), RejectedAt: time.Now()})
				mu.Unlock()
				continue
			}
			if err != nil {
				return nil, err
			}
			return rec, nil
		}
	}
	// One statement for every batch, parsed and planned once.
	insert, err := dialects.Prepare(ctx, wh, dialects.Bind(d, "INSERT INTO "+d.Quote(x.schema, AcksTable(x.sync.Name))+" (change_id, ref)\n"+
		"SELECT c, NULLIF(r, '') FROM ("+d.ArrayRows([]string{"?", "?"}, []dialects.Type{dialects.Text, dialects.Text})+") AS t(c, r)"))
	if err != nil {
		return err
	}
	defer insert.Close()
	var done int64
	ack := func(batch []Ack) error {
		var ids, refs []string
		var rejected []state.Rejection
		for _, a := range batch {
			switch a.Outcome {
			case destinations.Accepted:
				ids, refs = append(ids, a.Record.ID), append(refs, a.Ref)
			case destinations.Rejected:
				rejected = append(rejected, state.Rejection{RunID: res.Run.ID, Sync: x.sync.Name, Key: x.m.keyText(a.Record.Key),
					ProfileID: a.Record.ProfileID, Reason: a.Reason, RejectedAt: time.Now()})
			}
		}
		if len(ids) > 0 {
			if err := insert.Exec(ctx, ids, refs); err != nil {
				return err
			}
		}
		if p.Store != nil && len(rejected) > 0 {
			if err := p.Store.AddRejections(ctx, p.Project.Name, rejected); err != nil {
				return err
			}
		}
		done += int64(len(batch))
		if p.Progress != nil {
			p.Progress(done, res.Planned.Total())
		}
		return nil
	}
	o := p.Delivery
	o.Sync, o.Segment, o.Mode = x.sync.Name, x.sync.Segment, x.mode
	o.Limits = tighter(spec.Limits, o.Limits)
	st, err := Deliver(ctx, dst, o, next, ack)
	res.Stats = st
	res.Unsendable = int64(len(local))
	if p.Store != nil && len(local) > 0 {
		err = errors.Join(err, p.Store.AddRejections(context.WithoutCancel(ctx), p.Project.Name, local))
	}
	return err
}

// foldAcks folds a run's acknowledgements into the snapshot a slice of
// change ids at a time (page acknowledgements or so, default 50,000), each
// slice in its own transaction: no statement joins all of a large run's
// acknowledgements with all of its changes at once, which ran out of memory
// under a small memory limit. A slice folded stays folded; the rest stays in
// the ack table for the next run.
func foldAcks(ctx context.Context, wh dialects.Warehouse, schema, sync, runID string, page int) error {
	d := wh.Dialect()
	if page <= 0 {
		page = 50_000
	}
	var n int64
	if err := plan.QueryRow(ctx, wh, "SELECT count(*) FROM "+d.Quote(schema, AcksTable(sync)), nil, &n); err != nil {
		return err
	}
	acked, acks := idRanges("a.change_id", n, int64(page)), idRanges("change_id", n, int64(page))
	for i := range acked {
		if err := wh.InTx(ctx, foldSlice(d, schema, sync, runID, acked[i], acks[i])); err != nil {
			return err
		}
	}
	return nil
}

// tighter is the connector's limits, narrowed where the caller asks for
// smaller batches or fewer writers (tests, a careful operator); never wider.
func tighter(spec, want destinations.Limits) destinations.Limits {
	l := spec
	if want.BatchRecords > 0 && (l.BatchRecords == 0 || want.BatchRecords < l.BatchRecords) {
		l.BatchRecords = want.BatchRecords
	}
	if want.BatchBytes > 0 && (l.BatchBytes == 0 || want.BatchBytes < l.BatchBytes) {
		l.BatchBytes = want.BatchBytes
	}
	if want.Concurrency > 0 && (l.Concurrency == 0 || want.Concurrency < l.Concurrency) {
		l.Concurrency = want.Concurrency
	}
	return l
}

// idRanges cuts the change ids (md5 hex, spread evenly) into about
// total/page ranges, as conditions to append to a WHERE.
func idRanges(col string, total, page int64) []string {
	n := (total + page - 1) / page
	if n <= 1 {
		return []string{""}
	}
	n = min(n, 1<<16)
	step := (uint64(1) << 32) / uint64(n)
	out := make([]string, n)
	for i := range out {
		lo, hi := uint64(i)*step, uint64(i+1)*step
		switch {
		case i == 0:
			out[i] = fmt.Sprintf(" AND %s < '%08x'", col, hi)
		case i == len(out)-1:
			out[i] = fmt.Sprintf(" AND %s >= '%08x'", col, lo)
		default:
			out[i] = fmt.Sprintf(" AND %[1]s >= '%08[2]x' AND %[1]s < '%08[3]x'", col, lo, hi)
		}
	}
	return out
}

// bulk runs large set-based statements, one after the other, with the
// dialect's bulk settings (rows in any order, which lets DuckDB stream a
// CREATE TABLE AS instead of holding it), on one pinned connection so that
// the settings apply to them.
func bulk(ctx context.Context, wh dialects.Warehouse, statements ...string) error {
	set, reset := dialects.BulkSettings(wh.Dialect())
	if len(set) > 0 {
		if p, ok := wh.(dialects.Pinner); ok {
			pinned, release, err := p.Pin(ctx)
			if err != nil {
				return err
			}
			defer release()
			wh = pinned
		}
		for _, st := range set {
			if err := wh.Exec(ctx, st); err != nil {
				return err
			}
		}
		defer func() {
			for _, st := range reset {
				_ = wh.Exec(context.WithoutCancel(ctx), st)
			}
		}()
	}
	for _, st := range statements {
		if err := wh.Exec(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// suppressed says whether the output schema's suppression list names
// anyone (cohort forget).
func suppressed(ctx context.Context, wh dialects.Warehouse, schema string) (bool, error) {
	t := schema + "." + plan.SuppressionsTable
	if _, err := wh.Columns(ctx, t); errors.Is(err, dialects.ErrNoTable) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var n int64
	if err := plan.QueryRow(ctx, wh, "SELECT count(*) FROM "+wh.Dialect().Quote(schema, plan.SuppressionsTable), nil, &n); err != nil {
		return false, err
	}
	return n > 0, nil
}
