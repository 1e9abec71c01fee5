package sync

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/models"
)

// Table names of a sync in the output schema.
const (
	profilesTable    = "profiles"
	membershipsTable = "segment_memberships"
)

// SnapshotTable holds, per match key, what the destination acknowledged:
// the hash of the synced fields, the profile and the destination's ref.
func SnapshotTable(sync string) string { return "sync_" + sync + "_snapshot" }

// AcksTable is the append-only log of the current run's acknowledgements:
// the change id (a row of ChangesTable) and the destination's ref. It is
// folded into the snapshot at the end of the run, or, after a crash, at the
// start of the next.
func AcksTable(sync string) string { return "sync_" + sync + "_acked" }

// ChangesTable is the current run's diff, streamed to the destination. It
// stays until the run's acknowledgements are folded, which read it.
func ChangesTable(sync string) string { return "sync_" + sync + "_changes" }

// KeySep separates the values of a sync key made of several match keys.
const KeySep = "\x1f"

// mapping is a sync's match and fields in a fixed order.
type mapping struct {
	match  []string // destination keys, sorted
	traits []string // match traits, in match order
	fields []string // destination fields, sorted
	from   []string // field traits, in fields order
	sig    string   // hex digest of the mapping: a new mapping resends everyone
}

func newMapping(s *models.Sync) mapping {
	var m mapping
	for k := range s.Match {
		m.match = append(m.match, k)
	}
	sort.Strings(m.match)
	for k := range s.Fields {
		m.fields = append(m.fields, k)
	}
	sort.Strings(m.fields)
	var sig strings.Builder
	for _, k := range m.match {
		m.traits = append(m.traits, s.Match[k])
		fmt.Fprintf(&sig, "k:%s=%s\n", k, s.Match[k])
	}
	for _, f := range m.fields {
		m.from = append(m.from, s.Fields[f])
		fmt.Fprintf(&sig, "f:%s=%s\n", f, s.Fields[f])
	}
	sum := md5.Sum([]byte(sig.String()))
	m.sig = hex.EncodeToString(sum[:8])
	return m
}

// keyValues splits a sync key back into its match values, by destination
// key (a missing one is left out).
func (m mapping) keyValues(key string) map[string]string {
	k := map[string]string{}
	for i, v := range strings.Split(key, KeySep) {
		if i < len(m.match) && v != "" {
			k[m.match[i]] = v
		}
	}
	return k
}

// KeyValues is a sync key of s (a snapshot's or a rejected row's) as its
// match values, by destination key.
func KeyValues(s *models.Sync, key string) map[string]string { return newMapping(s).keyValues(key) }

// MatchKeys are s's destination match keys in the order of its sync keys'
// parts (joined by KeySep).
func MatchKeys(s *models.Sync) []string { return newMapping(s).match }

// keyText is a record's match values as the sync key: in match order,
// joined by KeySep, "" for a missing one.
func (m mapping) keyText(k map[string]string) string {
	vals := make([]string, len(m.match))
	for i, n := range m.match {
		vals[i] = k[n]
	}
	return strings.Join(vals, KeySep)
}

// diffQuery is the SELECT of a sync's changes against its snapshot (folded
// with any acknowledgements not yet folded): one row per match key to add,
// update or remove, with columns op, change_id, sync_key, sync_hash,
// profile_id, ref, f0..fn. snapshot says whether the sync's tables exist (a
// dry run of a first sync reads an empty snapshot instead).
type diffSpec struct {
	d       dialects.Dialect
	schema  string
	sync    *models.Sync
	m       mapping
	consent string // condition over profiles aliased a; "" for none
	// withdrawn are queries of the profile ids consent excludes: without
	// the consent the rule asks for, or forgotten
	withdrawn []string
	mode      destinations.Mode
	canDelete bool
	// held is what the destination holds: heldNone (a dry run of a first
	// sync), heldSnapshot, or heldUnfolded (a dry run after a crash: the
	// snapshot with the crashed run's acknowledgements).
	held int
	// late asks, with held heldSnapshot, for the diff that joins the
	// members with the snapshot on match keys and hashes only (each hash as
	// the dialect's HashValue) and reads the fields of the changes and the
	// snapshot's rows for them last: what a re-sync, where few members
	// changed, holds in memory is then a key and a hash per member and per
	// snapshot row. The diff of a re-sync of 1,000,000 members after 1%
	// changed spilled 90 MB instead of 165 MB at 32 MB on DuckDB 2.0, with
	// 92,000-95,000 page faults instead of 116,000-117,000 and 10% less
	// processor time (3.9 s instead of 4.3-4.4 s). A first
	// sync, where every member is a change, reads each member's fields
	// once instead (late, it would join all of them back).
	late bool
	// slices > 1 cuts the diff by the hash of the match key: the query is
	// then the diff of the keys whose hash modulo slices is slice. A key's
	// profiles, its snapshot row and its change all fall in the same slice,
	// so the slices' diffs together are the whole diff, and none holds more
	// than its share of the audience in memory.
	slice, slices int
}

// sliceCond is the condition that the text expression key falls in the
// spec's slice ("" when the diff is not sliced).
func (x diffSpec) sliceCond(key string) string {
	if x.slices <= 1 {
		return ""
	}
	// the hash may be negative (PostgreSQL's): the modulo is made positive
	return fmt.Sprintf("(%[1]s %% %[2]d + %[2]d) %% %[2]d = %[3]d", x.d.Hash64(key), x.slices, x.slice)
}

const (
	heldNone = iota
	heldSnapshot
	heldUnfolded
)

// sendable is the condition that the profiles row aliased alias may be
// sent: one of the match traits is there, and consent (a condition over
// the same row, or "") holds.
func sendable(q func(parts ...string) string, alias string, traits []string, consent string) string {
	var present []string
	for _, t := range traits {
		present = append(present, q(alias, t)+" IS NOT NULL")
	}
	where := "(" + strings.Join(present, " OR ") + ")"
	if consent != "" {
		where += " AND " + consent
	}
	return where
}

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (x diffSpec) query() string {
	d := x.d
	q := func(parts ...string) string { return d.Quote(parts...) }
	text := d.TypeName(dialects.Text)
	asText := func(e string) string { return "CAST(" + e + " AS " + text + ")" }
	late := x.late && x.held == heldSnapshot

	// The key: the match traits as text, joined.
	var key []string
	for _, t := range x.m.traits {
		key = append(key, "coalesce("+asText(q("a", t))+", '')")
	}
	keyExpr := key[0]
	if len(key) > 1 {
		keyExpr = strings.Join(key, " || chr(31) || ")
	}
	// The hash: the mapping's signature and every field, NULL apart from ''.
	hashParts := []string{literal(x.m.sig)}
	var fieldCols []string
	for i, t := range x.m.from {
		hashParts = append(hashParts, "coalesce('=' || "+asText(q("a", t))+", '~')")
		fieldCols = append(fieldCols, fmt.Sprintf("%s AS f%d", q("a", t), i))
	}
	hashExpr := d.MD5Hex(strings.Join(hashParts, " || chr(31) || "))

	and := func(c string) string { // " AND c", or "" without a slice
		if c == "" {
			return ""
		}
		return " AND " + c
	}
	// The members outside the holdout, with consent and a match key (in
	// the spec's slice), as rows of profiles aliased a.
	members := fmt.Sprintf(`FROM %s a
  JOIN %s m ON m.profile_id = a.profile_id AND m.segment = %s AND m.holdout IS NOT TRUE
  WHERE %s%s`, q(x.schema, profilesTable), q(x.schema, membershipsTable), literal(x.sync.Segment),
		sendable(q, "a", x.m.traits, x.consent), and(x.sliceCond(keyExpr)))
	var b strings.Builder
	fmt.Fprintf(&b, "-- sync %s: segment %s to destination %s, mode %s\n", x.sync.Name, x.sync.Segment, x.sync.Destination, x.mode)
	b.WriteString("WITH eligible AS (\n  -- members outside the holdout, with consent and a match key\n")
	if late {
		fmt.Fprintf(&b, "  SELECT %s AS sync_key, %s AS sync_hash, a.profile_id\n  %s\n)", keyExpr, d.HashValue(hashExpr), members)
	} else {
		fmt.Fprintf(&b, "  SELECT %s AS sync_key, %s AS sync_hash, a.profile_id%s\n  %s\n)", keyExpr, hashExpr, prefixed(", ", fieldCols), members)
	}
	// The keys several members share are found among the keys several
	// profiles share (members or not, with consent or not): grouping the
	// profiles table alone spills, where DuckDB 2.0 ran out of memory at
	// 32 MB and one thread grouping the join of profiles and memberships
	// (materialized or not). Shared keys are few: grouping the members who
	// have one is small. The profiles are grouped by the key's 64-bit hash,
	// not by the key: a group holds an integer instead of the key's text
	// (1M members, five alternated runs each: the re-sync's diff 2.75-3.04 s
	// instead of 2.89-3.60 s, the same peaks). Two keys with one hash only
	// make both candidates: shared groups the members by the key itself.
	//
	// In the late diff, shared reads the members again instead of
	// eligible: a CTE read twice is materialized by DuckDB (a million
	// members with their hashes, spilled at 32 MB), one read once streams
	// into the join with the snapshot. (Streamed with the members' fields
	// into the join with a snapshot of 1,000,000 rows, eligible ran out of
	// memory at 32 MB: fields are read late or eligible is materialized.)
	shared := fmt.Sprintf(`SELECT sync_key, min(%s) AS profile_id FROM eligible
  WHERE %s IN (SELECT key_hash FROM candidates)
  GROUP BY sync_key`, d.TextOrder("profile_id"), d.Hash64("sync_key"))
	if late {
		shared = fmt.Sprintf(`SELECT %[1]s AS sync_key, min(%[2]s) AS profile_id
  %[3]s AND %[4]s IN (SELECT key_hash FROM candidates)
  GROUP BY %[1]s`, keyExpr, d.TextOrder("a.profile_id"), members, d.Hash64(keyExpr))
	}
	fmt.Fprintf(&b, `, candidates AS (
  -- hashes of the match keys several profiles share, members or not
  SELECT %[1]s AS key_hash FROM %[2]s a
  WHERE %[3]s%[4]s
  GROUP BY %[1]s HAVING count(*) > 1
), shared AS (
  -- match keys several members share: the smallest profile_id is sent
  %[5]s HAVING count(*) > 1
), audience AS (
  SELECT * FROM eligible e
  WHERE NOT EXISTS (SELECT 1 FROM shared s WHERE s.sync_key = e.sync_key AND s.profile_id <> e.profile_id)
)`, d.Hash64(keyExpr), q(x.schema, profilesTable), sendable(q, "a", x.m.traits, ""), and(x.sliceCond(keyExpr)), shared)

	// The snapshot as the destination holds it: acknowledgements not yet
	// folded (a crashed run's) win over the snapshot's rows.
	snap := q(x.schema, SnapshotTable(x.sync.Name))
	switch x.held {
	case heldSnapshot:
		slice := ""
		if c := x.sliceCond("sync_key"); c != "" {
			slice = " WHERE " + c
		}
		cols := "sync_key, sync_hash, profile_id, ref"
		if late {
			cols = "sync_key, " + d.HashValue("sync_hash") + " AS sync_hash"
		}
		fmt.Fprintf(&b, `, held AS (
  SELECT %s FROM %s%s
)`, cols, snap, slice)
	case heldUnfolded:
		fmt.Fprintf(&b, `, acked AS (
  %s
), held AS (
  -- what the destination holds: the snapshot, with the acknowledgements of a crashed run
  SELECT s.sync_key, s.sync_hash, s.profile_id, s.ref FROM %s s
  WHERE NOT EXISTS (SELECT 1 FROM acked k WHERE k.sync_key = s.sync_key)%s
  UNION ALL
  SELECT k.sync_key, k.sync_hash, k.profile_id, coalesce(k.ref, s.ref) FROM acked k
  LEFT JOIN %s s ON s.sync_key = k.sync_key WHERE k.op <> 'remove'%s
)`, ackedQuery(d, x.schema, x.sync.Name), snap, and(x.sliceCond("s.sync_key")), snap, and(x.sliceCond("k.sync_key")))
	default:
		fmt.Fprintf(&b, `, held AS (
  -- the first run of this sync: the destination holds nobody yet
  SELECT CAST(NULL AS %[1]s) AS sync_key, CAST(NULL AS %[1]s) AS sync_hash, CAST(NULL AS %[1]s) AS profile_id, CAST(NULL AS %[1]s) AS ref WHERE 1 = 0
)`, text)
	}
	// Who is removed: in mirror mode everyone who left; in every mode a
	// person whose consent was withdrawn (the destination must forget them).
	// held is the snapshot's row aliased h (s in the late diff).
	held := "h"
	if late {
		held = "s"
	}
	// A withdrawn consent is found by a join, not by "profile_id IN (the
	// profiles without consent)" inside the OR below: there PostgreSQL ran
	// the IN as a subplan that scanned those profiles again for every
	// person who left once they outgrew work_mem (1M held, 10,000 gone,
	// 500,000 without consent: stopped after 60 s; 1.3 s as a join).
	var removeWhen []string
	withdrawn := ""
	if x.canDelete {
		if x.mode == destinations.Mirror {
			removeWhen = append(removeWhen, "TRUE")
		} else if len(x.withdrawn) > 0 {
			withdrawn = fmt.Sprintf("\n  LEFT JOIN (SELECT DISTINCT w.profile_id FROM (%s) w) wd ON wd.profile_id = %s.profile_id",
				strings.Join(x.withdrawn, "\n    UNION ALL "), held)
			removeWhen = append(removeWhen, "wd.profile_id IS NOT NULL")
		}
	}
	changed := "c.sync_hash <> h.sync_hash"
	if x.mode == destinations.Insert {
		changed = "FALSE"
	}
	removeCond := "FALSE"
	if len(removeWhen) > 0 {
		removeCond = strings.Join(removeWhen, " OR ")
	}
	changeID := func(alias string) string {
		return d.MD5Hex(literal(x.sync.Name+KeySep) + " || " + alias + "op || chr(31) || " + alias + "sync_key || chr(31) || " + alias + "sync_hash")
	}
	if !late {
		fmt.Fprintf(&b, `, diff AS (
  SELECT CASE WHEN c.sync_key IS NULL THEN 'remove' WHEN h.sync_key IS NULL THEN 'add' ELSE 'update' END AS op,
    coalesce(c.sync_key, h.sync_key) AS sync_key, coalesce(c.sync_hash, h.sync_hash) AS sync_hash,
    coalesce(c.profile_id, h.profile_id) AS profile_id, h.ref%s
  FROM audience c FULL JOIN held h ON h.sync_key = c.sync_key%s
  WHERE (c.sync_key IS NULL AND (%s)) OR h.sync_key IS NULL OR (c.sync_key IS NOT NULL AND %s)
)
SELECT op, %s AS change_id, sync_key, sync_hash, profile_id, ref%s FROM diff`,
			cols(", c.", len(fieldCols), "f%d"), withdrawn, removeCond, changed, changeID(""), cols(", ", len(fieldCols), "f%d"))
		return b.String()
	}
	// The late diff: the keys whose member left, came or changed (hash
	// values compared), then what the snapshot holds for them and the
	// fields of their member (a removal sends none: its profile may still
	// exist, outside the audience). The hash text is computed again from
	// the member's row, the same row eligible read; a removal keeps the
	// snapshot's. Removals the consent decides wait for the snapshot's
	// profile_id.
	gone := "FALSE" // removals are decided once the snapshot's row is read
	if removeCond != "FALSE" {
		gone = "TRUE"
	}
	fmt.Fprintf(&b, `, diff AS (
  SELECT CASE WHEN c.sync_key IS NULL THEN 'remove' WHEN h.sync_key IS NULL THEN 'add' ELSE 'update' END AS op,
    coalesce(c.sync_key, h.sync_key) AS sync_key, c.profile_id
  FROM audience c FULL JOIN held h ON h.sync_key = c.sync_key
  WHERE (c.sync_key IS NULL AND %s) OR h.sync_key IS NULL OR (c.sync_key IS NOT NULL AND %s)
), changes AS (
  SELECT x.op, x.sync_key, CASE WHEN x.op = 'remove' THEN s.sync_hash ELSE %s END AS sync_hash,
    coalesce(x.profile_id, s.profile_id) AS profile_id, s.ref%s
  FROM diff x
  LEFT JOIN %s s ON s.sync_key = x.sync_key AND x.op <> 'add'
  LEFT JOIN %s a ON a.profile_id = x.profile_id AND x.op <> 'remove'%s
  WHERE x.op <> 'remove' OR (%s)
)
SELECT op, %s AS change_id, sync_key, sync_hash, profile_id, ref%s FROM changes`,
		gone, changed, hashExpr, prefixed(", ", fieldCols), snap, q(x.schema, profilesTable), withdrawn, removeCond,
		changeID(""), cols(", ", len(fieldCols), "f%d"))
	return b.String()
}

func cols(sep string, n int, format string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(sep)
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

func prefixed(sep string, items []string) string {
	var b strings.Builder
	for _, s := range items {
		b.WriteString(sep + s)
	}
	return b.String()
}

// tableDDL creates a sync's snapshot and ack tables when missing.
func tableDDL(d dialects.Dialect, schema, sync string) []string {
	text := d.TypeName(dialects.Text)
	return []string{
		d.CreateSchema(schema),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (sync_key %[2]s NOT NULL, sync_hash %[2]s NOT NULL, profile_id %[2]s NOT NULL, ref %[2]s, run_id %[2]s NOT NULL)",
			d.Quote(schema, SnapshotTable(sync)), text),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (change_id %[2]s NOT NULL, ref %[2]s)", d.Quote(schema, AcksTable(sync)), text),
	}
}

// ackedQuery is the acknowledged changes: the rows of ChangesTable the
// destination took, with the ref it gave.
func ackedQuery(d dialects.Dialect, schema, sync string) string {
	return ackedSlice(d, schema, sync, "")
}

// ackedSlice is ackedQuery for the change ids cond (conditions on
// a.change_id, from idRanges) selects.
func ackedSlice(d dialects.Dialect, schema, sync, cond string) string {
	q := fmt.Sprintf("SELECT c.op, c.sync_key, c.sync_hash, c.profile_id, a.ref FROM %s c JOIN %s a ON a.change_id = c.change_id",
		d.Quote(schema, ChangesTable(sync)), d.Quote(schema, AcksTable(sync)))
	if cond != "" {
		q += " WHERE TRUE" + cond
	}
	return q
}

// foldStatements fold the acknowledgements into the snapshot (one
// transaction) and empty the ack table: an add inserts, an update keeps
// the ref the destination gave before unless it gave a new one, a removal
// deletes.
func foldStatements(d dialects.Dialect, schema, sync, runID string) []string {
	return foldSlice(d, schema, sync, runID, "", "")
}

// foldSlice is foldStatements for the acknowledgements whose change ids
// the conditions select (on a.change_id and on change_id: the same range).
func foldSlice(d dialects.Dialect, schema, sync, runID, ackedCond, ackCond string) []string {
	snap, acks := d.Quote(schema, SnapshotTable(sync)), d.Quote(schema, AcksTable(sync))
	acked := ackedSlice(d, schema, sync, ackedCond)
	empty := fmt.Sprintf("DELETE FROM %s", acks)
	if ackCond != "" {
		empty += " WHERE TRUE" + ackCond
	}
	return []string{
		fmt.Sprintf(`UPDATE %[1]s SET sync_hash = k.sync_hash, profile_id = k.profile_id, ref = coalesce(k.ref, %[1]s.ref), run_id = %[3]s
FROM (%[2]s) k WHERE %[1]s.sync_key = k.sync_key AND k.op = 'update'`, snap, acked, literal(runID)),
		fmt.Sprintf("DELETE FROM %s WHERE sync_key IN (SELECT k.sync_key FROM (%s) k WHERE k.op = 'remove')", snap, acked),
		// An anti-join written as a LEFT JOIN: DuckDB 2.0 plans NOT EXISTS
		// as a mark join that holds the whole snapshot in memory, which ran
		// out of memory at 32 MB folding a million-member first sync (the
		// snapshot at 150,000 keys); this one holds the slice's
		// acknowledgements instead.
		fmt.Sprintf(`INSERT INTO %[1]s (sync_key, sync_hash, profile_id, ref, run_id)
SELECT k.sync_key, k.sync_hash, k.profile_id, k.ref, %[3]s FROM (%[2]s) k
LEFT JOIN %[1]s s ON s.sync_key = k.sync_key
WHERE k.op = 'add' AND s.sync_key IS NULL`, snap, acked, literal(runID)),
		empty,
	}
}
