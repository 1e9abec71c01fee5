package sync

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// Erasure outcomes, per sync.
const (
	Erased      = "erased"      // the destination's erasure API took every record
	Removed     = "removed"     // no erasure API: the records were taken off the audience
	NotHeld     = "not_held"    // the sync never delivered the person
	EraseFailed = "failed"      // some records were not taken: retried by the next forget, run or sync
	Unsupported = "unsupported" // the destination can neither erase nor remove: delete by hand
	// NotInProject: the sync is no longer in the project but its snapshot
	// held the person; its destination was not asked: erase them by hand
	NotInProject = "not_in_project"
)

// EraseParams are one erasure request against one sync's destination.
type EraseParams struct {
	Project    *models.Project
	Sync       string
	Warehouse  dialects.Warehouse
	HTTP       *http.Client
	ProfileIDs []string
	Delivery   Options
}

// EraseResult is what the destination answered.
type EraseResult struct {
	Destination string
	Status      string
	Records     int64
	Detail      string
}

// Erase asks a sync's destination to erase the people its snapshot holds
// for profileIDs (their match keys and refs are known only there), through
// its Eraser, or takes them off the audience where it has none, and drops
// their snapshot rows once the destination took them: no table keeps their
// keys in clear. The caller holds the project's lease. A crashed run's
// acknowledgements are folded first, and its changes table dropped (it holds
// keys in clear too). Rows the destination did not take stay, so that the
// next attempt knows whom to erase.
func Erase(ctx context.Context, p EraseParams) (EraseResult, error) {
	s, dest, err := find(p.Project, p.Sync)
	if err != nil {
		return EraseResult{}, err
	}
	res := EraseResult{Destination: dest.Name}
	spec, err := destinations.Lookup(dest.Type)
	if err != nil {
		return res, err
	}
	wh, d, schema := p.Warehouse, p.Warehouse.Dialect(), p.Project.Warehouse.Schema
	if _, err := wh.Columns(ctx, schema+"."+SnapshotTable(s.Name)); errors.Is(err, dialects.ErrNoTable) {
		res.Status = NotHeld
		return res, nil
	} else if err != nil {
		return res, err
	}
	if err := foldCrashed(ctx, wh, schema, s.Name); err != nil {
		return res, err
	}
	if len(p.ProfileIDs) == 0 {
		res.Status = NotHeld
		return res, nil
	}
	snap := d.Quote(schema, SnapshotTable(s.Name))
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(p.ProfileIDs)), ", ")
	args := make([]any, len(p.ProfileIDs))
	for i, id := range p.ProfileIDs {
		args[i] = id
	}
	rows, err := wh.Query(ctx, dialects.Bind(d, "SELECT sync_key, profile_id, coalesce(ref, '') FROM "+snap+" WHERE profile_id IN ("+ph+") ORDER BY sync_key"), args...)
	if err != nil {
		return res, err
	}
	m := newMapping(s)
	var recs []destinations.Record
	for rows.Next() {
		var key, pid, ref string
		if err := rows.Scan(&key, &pid, &ref); err != nil {
			rows.Close()
			return res, err
		}
		k := m.keyValues(key)
		id := md5.Sum([]byte("erase" + KeySep + s.Name + KeySep + key))
		recs = append(recs, destinations.Record{ID: hex.EncodeToString(id[:]), Op: destinations.Remove, ProfileID: pid, Key: k, Ref: ref})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return res, err
	}
	res.Records = int64(len(recs))
	if len(recs) == 0 {
		res.Status = NotHeld
		return res, nil
	}
	client := p.HTTP
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	dst, _, err := destinations.Open(dest.Type, destinations.Config{Name: dest.Name, Region: dest.Region, Values: dest.Config, HTTP: client})
	if err != nil {
		return res, err
	}
	if c, ok := dst.(io.Closer); ok {
		defer c.Close()
	}
	e, canErase := dst.(destinations.Eraser)
	switch {
	case spec.CanErase && canErase:
		dst, res.Status = Erasing(e), Erased
	case spec.CanDelete:
		res.Status = Removed
	default:
		res.Status = Unsupported
		res.Detail = fmt.Sprintf("%s cannot erase or remove people through its API: delete %d record(s) in %s by hand", dest.Type, len(recs), dest.Name)
		return res, nil
	}
	i := 0
	next := func() (*destinations.Record, error) {
		if i == len(recs) {
			return nil, io.EOF
		}
		i++
		return &recs[i-1], nil
	}
	del := dialects.Bind(d, "DELETE FROM "+snap+" WHERE sync_key = ?")
	var reasons []string
	ack := func(batch []Ack) error {
		for _, a := range batch {
			if a.Outcome != destinations.Accepted {
				if a.Reason != "" && len(reasons) < 3 {
					reasons = append(reasons, a.Reason)
				}
				continue
			}
			if err := wh.Exec(ctx, del, m.keyText(a.Record.Key)); err != nil {
				return err
			}
		}
		return nil
	}
	o := p.Delivery
	o.Sync, o.Segment, o.Mode = s.Name, s.Segment, destinations.Mirror
	o.Limits = tighter(spec.Limits, o.Limits)
	st, err := Deliver(ctx, dst, o, next, ack)
	if err != nil || st.Removed < res.Records {
		res.Status = EraseFailed
		res.Detail = fmt.Sprintf("%d of %d record(s) taken", st.Removed, res.Records)
		if len(reasons) > 0 {
			res.Detail += ": " + strings.Join(reasons, "; ")
		}
		if err != nil {
			res.Detail += ": " + err.Error()
		}
	}
	return res, nil
}

// foldCrashed folds a crashed run's acknowledgements into a sync's
// snapshot and drops its changes table (it holds keys in clear too).
func foldCrashed(ctx context.Context, wh dialects.Warehouse, schema, sync string) error {
	if _, err := wh.Columns(ctx, schema+"."+ChangesTable(sync)); errors.Is(err, dialects.ErrNoTable) {
		return nil
	} else if err != nil {
		return err
	}
	d := wh.Dialect()
	if err := wh.InTx(ctx, foldStatements(d, schema, sync, "forget")); err != nil {
		return fmt.Errorf("sync %s: folding a crashed run's acknowledgements: %w", sync, err)
	}
	return wh.Exec(ctx, d.DropTable(d.Quote(schema, ChangesTable(sync))))
}

// RemovedSyncs lists, by name, the syncs whose snapshots are in schema but
// that known does not name: syncs removed from the project, whose
// snapshots still hold the match keys they sent, in clear.
func RemovedSyncs(ctx context.Context, wh dialects.Warehouse, schema string, known func(sync string) bool) ([]string, error) {
	tables, err := wh.Tables(ctx, schema, "_snapshot")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range tables {
		name, ok := strings.CutPrefix(t.Name, "sync_")
		name, ok2 := strings.CutSuffix(name, "_snapshot")
		if t.View || !ok || !ok2 || name == "" || known(name) {
			continue
		}
		cols, err := wh.Columns(ctx, schema+"."+t.Name)
		if err != nil {
			return nil, err
		}
		has := map[string]bool{}
		for _, c := range cols {
			has[strings.ToLower(c.Name)] = true
		}
		if has["sync_key"] && has["profile_id"] { // a snapshot, not a table of the same name
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ForgetRemovedParams are one erasure request against a sync removed from
// the project.
type ForgetRemovedParams struct {
	Warehouse  dialects.Warehouse
	Schema     string
	Sync       string
	ProfileIDs []string
	// KeyIs gives the condition, with its arguments, that a match key (the
	// SQL expression key) is one of the person's identifiers: their row
	// whose profile id is from before a merge is found by its key.
	KeyIs func(key string) (cond string, args []any)
}

// ForgetRemoved deletes the person's rows (of their profiles, or whose key
// is theirs) from the snapshot of a sync removed from the project, a
// crashed run's acknowledgements folded in first, and returns how many
// there were: the records its destination was sent and still holds. That
// destination is not asked to erase them: without the sync's definition
// neither its destination nor its match keys are known. No row keeps their
// keys in clear; the other people's rows stay for their own forget.
func ForgetRemoved(ctx context.Context, p ForgetRemovedParams) (int64, error) {
	wh, d := p.Warehouse, p.Warehouse.Dialect()
	if err := foldCrashed(ctx, wh, p.Schema, p.Sync); err != nil {
		return 0, err
	}
	var ways []plan.Where
	if len(p.ProfileIDs) > 0 {
		ways = append(ways, plan.In("profile_id", p.ProfileIDs))
	}
	if p.KeyIs != nil {
		cond, args := p.KeyIs("sync_key")
		ways = append(ways, plan.Where{Cond: cond, Args: args})
	}
	n, err := plan.DeleteEach(ctx, wh, d.Quote(p.Schema, SnapshotTable(p.Sync)), ways)
	if err != nil {
		return n, fmt.Errorf("sync %s: %w", p.Sync, err)
	}
	return n, nil
}
