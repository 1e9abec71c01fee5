package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// ErrNotFound says an identifier is in no profile.
var ErrNotFound = errors.New("identifier is in no profile")

// Ident is an identifier as people write it: type:value.
type Ident struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

func (i Ident) String() string { return i.Type + ":" + i.Value }

// ParseIdent reads "email:a@x.nl", split at the first colon.
func ParseIdent(s string) (Ident, error) {
	typ, value, ok := strings.Cut(s, ":")
	typ = strings.TrimSpace(typ)
	if !ok || typ == "" || value == "" {
		return Ident{}, fmt.Errorf("%q: write an identifier as TYPE:VALUE, e.g. email:a@x.nl", s)
	}
	return Ident{Type: typ, Value: value}, nil
}

// Profile is one profile's identifiers.
type Profile struct {
	ID          string              `json:"profile_id"`
	Identifiers []ProfileIdentifier `json:"identifiers"`
	// RunSources says the identifiers' Sources were read from the last
	// run's SourcesTable: every row the run gave this profile came from one
	// of them (not so when they were read from the sources as they are now).
	RunSources bool `json:"-"`
	// Asked is the identifier the profile was looked up by, normalized.
	Asked Ident `json:"-"`
}

// Sources lists the sources holding any of the profile's identifiers.
func (p *Profile) Sources() []string {
	var out []string
	for _, id := range p.Identifiers {
		for _, src := range id.Sources {
			if !slices.Contains(out, src) {
				out = append(out, src)
			}
		}
	}
	return out
}

// ProfileIdentifier is an identifier of a profile and the sources holding it.
type ProfileIdentifier struct {
	Type      string     `json:"type"`
	Value     string     `json:"value"`
	FirstSeen *time.Time `json:"first_seen_at,omitempty"`
	LastSeen  *time.Time `json:"last_seen_at,omitempty"`
	Sources   []string   `json:"sources"`
}

func (p *Profile) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s: %s\n", p.ID, plan.Count(int64(len(p.Identifiers)), "identifier"))
	for _, id := range p.Identifiers {
		fmt.Fprintf(&b, "  %-40s from %s", id.Type+":"+id.Value, strings.Join(id.Sources, ", "))
		if id.FirstSeen != nil {
			fmt.Fprintf(&b, "; seen %s .. %s", plan.ShowTime(*id.FirstSeen, id.FirstSeen.Location()), plan.ShowTime(*id.LastSeen, id.LastSeen.Location()))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Normalize applies an identifier type's rule to a value: in Go where that
// gives what the warehouse gives (normalizeASCII), else in the warehouse.
func Normalize(ctx context.Context, wh dialects.Warehouse, c *plan.Context, typ, value string) (string, error) {
	return normalize(ctx, wh, c, typ, value)
}

func normalize(ctx context.Context, wh dialects.Warehouse, c *plan.Context, typ, value string) (string, error) {
	d := wh.Dialect()
	var v sql.NullString
	rule := c.Project.Identity.Rule(typ)
	// a statement less per look-up where Go gives the same (most values)
	if s, ok := normalizeASCII(rule, value); ok {
		v = sql.NullString{String: s, Valid: s != ""}
	} else {
		q := "SELECT " + NormalizeExpr(d, rule, "raw") + " FROM (SELECT CAST(? AS " + d.TypeName(dialects.Text) + ") AS raw) input"
		if err := plan.QueryRow(ctx, wh, dialects.Bind(d, q), []any{value}, &v); err != nil {
			return "", err
		}
	}
	if !v.Valid {
		return "", fmt.Errorf("%s:%s is not an identifier once normalized (empty): %w", typ, value, ErrNotFound)
	}
	return v.String, nil
}

// rejection returns the rule and detail that kept an identifier out, if any.
func rejection(ctx context.Context, wh dialects.Warehouse, c *plan.Context, id Ident) (rule, detail string, err error) {
	ok, err := c.FinalExists(ctx, wh, RejectionsTable)
	if err != nil || !ok {
		return "", "", err
	}
	q := dialects.Bind(wh.Dialect(), "SELECT rule, detail FROM "+c.Final(RejectionsTable)+
		" WHERE identifier_type = ? AND identifier_value = ? AND rule <> '"+RuleLimit+"' ORDER BY rule LIMIT 1")
	rows, err := wh.Query(ctx, q, id.Type, id.Value)
	if err != nil {
		return "", "", err
	}
	defer rows.Close()
	if rows.Next() {
		err = rows.Scan(&rule, &detail)
	}
	return rule, detail, errors.Join(err, rows.Err())
}

// profileOf finds an identifier's profile id in the final identity_graph ("" when none).
// It filters on the value alone, which the look-up index covers (DuckDB
// scans an index for a filter on its one column, not for two filters), and
// picks the type here: a value is shared by a few types at most.
func profileOf(ctx context.Context, wh dialects.Warehouse, c *plan.Context, id Ident) (string, error) {
	q := dialects.Bind(wh.Dialect(), "SELECT identifier_type, profile_id FROM "+c.Final(GraphTable)+" WHERE identifier_value = ?")
	rows, err := wh.Query(ctx, q, id.Value)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var t, p string
		if err := rows.Scan(&t, &p); err != nil {
			return "", err
		}
		if t == id.Type {
			return p, nil
		}
	}
	return "", rows.Err()
}

// Lookup finds the profile of an identifier (normalized by its type's rule)
// with every identifier of it and the sources each came from.
func Lookup(ctx context.Context, wh dialects.Warehouse, c *plan.Context, typ, value string) (*Profile, error) {
	if err := c.RequireFinal(ctx, wh, GraphTable); err != nil {
		return nil, err
	}
	v, err := normalize(ctx, wh, c, typ, value)
	if err != nil {
		return nil, err
	}
	id := Ident{typ, v}
	pid, err := profileOf(ctx, wh, c, id)
	if err != nil {
		return nil, err
	}
	if pid == "" {
		rule, detail, err := rejection(ctx, wh, c, id)
		if err != nil {
			return nil, err
		}
		if rule != "" {
			return nil, fmt.Errorf("%s was rejected by rule %s (%s): %w", id, rule, detail, ErrNotFound)
		}
		return nil, fmt.Errorf("%s: no source holds it: %w", id, ErrNotFound)
	}
	p := &Profile{ID: pid, Asked: id}
	ids, ok, err := identifiersOf(ctx, wh, c, pid)
	if err != nil {
		return nil, err
	}
	if ok {
		p.Identifiers, p.RunSources = ids, true
		sortIdentifiers(c, p.Identifiers)
		sortSources := sourceOrder(c)
		for _, pi := range p.Identifiers {
			sortSources(pi.Sources)
		}
		return p, nil
	}
	d := wh.Dialect()
	rows, err := wh.Query(ctx, dialects.Bind(d, "SELECT identifier_type, identifier_value, first_seen_at, last_seen_at FROM "+c.Final(GraphTable)+" WHERE profile_id = ?"), pid)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var pi ProfileIdentifier
		var first, last sql.NullTime
		if err := rows.Scan(&pi.Type, &pi.Value, &first, &last); err != nil {
			rows.Close()
			return nil, err
		}
		if first.Valid {
			f, l := plan.WallClock(first.Time, c.Loc), plan.WallClock(last.Time, c.Loc)
			pi.FirstSeen, pi.LastSeen = &f, &l
		}
		p.Identifiers = append(p.Identifiers, pi)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	sortIdentifiers(c, p.Identifiers)
	where, fromRun, err := sourcesOf(ctx, wh, c, pid, p.Identifiers)
	p.RunSources = fromRun
	if err != nil {
		return nil, err
	}
	for i := range p.Identifiers {
		p.Identifiers[i].Sources = where[p.Identifiers[i].Type+":"+p.Identifiers[i].Value]
		if p.Identifiers[i].Sources == nil {
			p.Identifiers[i].Sources = []string{}
		}
	}
	return p, nil
}

// sourcesOf says which sources hold each identifier (type:value) of a
// profile: from _identity_sources where the last run built it (fromRun),
// else by reading every source.
func sourcesOf(ctx context.Context, wh dialects.Warehouse, c *plan.Context, pid string, ids []ProfileIdentifier) (where map[string][]string, fromRun bool, err error) {
	where = map[string][]string{}
	cols, err := wh.Columns(ctx, c.Schema+"."+SourcesTable)
	if err != nil && !errors.Is(err, dialects.ErrNoTable) {
		return nil, false, err
	}
	if err != nil {
		for _, src := range c.Project.Sources {
			found, err := sourceHolds(ctx, wh, c, src, pid)
			if err != nil {
				return nil, false, fmt.Errorf("source %s: %w", src.Name, err)
			}
			for _, k := range found {
				where[k] = append(where[k], src.Name)
			}
		}
		return where, false, nil
	}
	if len(ids) == 0 {
		return where, true, nil
	}
	// one equality per identifier (on the key too where the table has it,
	// see SourcesKey); UNION ALL keeps each its own
	keyed := slices.ContainsFunc(cols, func(col dialects.Column) bool { return strings.EqualFold(col.Name, SourcesKey) })
	single, err := singleSources(ctx, wh, c)
	if err != nil {
		return nil, false, err
	}
	d := wh.Dialect()
	values := map[string]bool{}
	q := &plan.Builder{}
	var parts []string
	for _, id := range ids {
		if src, ok := single[id.Type]; ok {
			where[id.Type+":"+id.Value] = []string{src}
			continue
		}
		if values[id.Value] {
			continue
		}
		values[id.Value] = true
		cond := "identifier_value = " + q.Arg(id.Value)
		if keyed {
			cond = SourcesKey + " = " + d.Hash64("CAST("+q.Arg(id.Value)+" AS "+d.TypeName(dialects.Text)+")") + " AND " + cond
		}
		parts = append(parts, "SELECT identifier_type, identifier_value, source FROM "+c.Final(SourcesTable)+" WHERE "+cond)
	}
	if len(parts) == 0 {
		return where, true, nil
	}
	q.W(strings.Join(parts, "\nUNION ALL\n"))
	st := q.Statement(d)
	rows, err := wh.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var t, v, src string
		if err := rows.Scan(&t, &v, &src); err != nil {
			return nil, false, err
		}
		if _, ok := single[t]; !ok { // a value shared with another type
			where[t+":"+v] = append(where[t+":"+v], src)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	sortSources := sourceOrder(c)
	for _, srcs := range where {
		sortSources(srcs)
	}
	return where, true, nil
}

// sortIdentifiers puts a profile's identifiers in the order a look-up
// shows them: by the types' rank, then type and value.
func sortIdentifiers(c *plan.Context, ids []ProfileIdentifier) {
	sort.Slice(ids, func(i, j int) bool {
		a, b := ids[i], ids[j]
		if ra, rb := rank(c.Project, a.Type), rank(c.Project, b.Type); ra != rb {
			return ra < rb
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Value < b.Value
	})
}

// sourceOrder returns a function putting sources in the project's order,
// its map of the order built once for all of a profile's lists.
func sourceOrder(c *plan.Context) func(srcs []string) {
	order := map[string]int{}
	for i, src := range c.Project.Sources {
		order[src.Name] = i
	}
	return func(srcs []string) { sort.Slice(srcs, func(i, j int) bool { return order[srcs[i]] < order[srcs[j]] }) }
}

// singleSources maps each identifier type that the last run found in one
// source alone to that source: every identifier of the type came from it,
// and a look-up need not probe SourcesTable for them (on the 1M demo, half
// of a person's identifiers are cookies and devices, each of one source).
// It costs a scan of SourcesTable, so it is computed only where the
// warehouse keeps it between look-ups (dialects.Rememberer); nil elsewhere.
func singleSources(ctx context.Context, wh dialects.Warehouse, c *plan.Context) (map[string]string, error) {
	table := c.Final(SourcesTable)
	v, ok, err := dialects.Remember(ctx, wh, "identity single sources of "+table, func(ctx context.Context, wh dialects.Warehouse) (any, error) {
		// DISTINCT, not min and max: DuckDB took 10 s of processor time
		// for those over the 1M demo's 7.4M rows, 0.1 s for this
		rows, err := wh.Query(ctx, "SELECT DISTINCT identifier_type, source FROM "+table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		single, many := map[string]string{}, map[string]bool{}
		for rows.Next() {
			var t, src string
			if err := rows.Scan(&t, &src); err != nil {
				return nil, err
			}
			if _, seen := single[t]; seen || many[t] {
				delete(single, t)
				many[t] = true
				continue
			}
			single[t] = src
		}
		return single, rows.Err()
	})
	if err != nil || !ok {
		return nil, err
	}
	return v.(map[string]string), nil
}

// sourceHolds lists the identifiers (type:value) of a profile found in a source.
func sourceHolds(ctx context.Context, wh dialects.Warehouse, c *plan.Context, src *models.Source, pid string) ([]string, error) {
	d := wh.Dialect()
	q := &plan.Builder{}
	var parts []string
	for _, id := range src.Identifiers {
		norm := NormalizeExpr(d, c.Project.Identity.Rule(id.Type), "src."+d.Quote(id.Column))
		parts = append(parts, "SELECT DISTINCT "+lit(id.Type)+" AS identifier_type, "+norm+" AS identifier_value FROM "+plan.Relation(d, src)+" src\n"+
			"WHERE "+norm+" IN (SELECT identifier_value FROM "+c.Final(GraphTable)+" WHERE profile_id = "+q.Arg(pid)+" AND identifier_type = "+lit(id.Type)+")")
	}
	q.W(strings.Join(parts, "\nUNION ALL\n"))
	st := q.Statement(d)
	rows, err := wh.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t, v string
		if err := rows.Scan(&t, &v); err != nil {
			return nil, err
		}
		out = append(out, t+":"+v)
	}
	return out, rows.Err()
}

// SourcesTable says which sources hold each identifier, for the profile
// look-up: one row per identifier (normalized) and source, rebuilt by every
// run. Without it a look-up reads every source in full.
const SourcesTable = "_identity_sources"

// SourcesKey is SourcesTable's column holding a 64-bit hash of
// identifier_value (the dialect's Hash64), where SourcesByKey.
const SourcesKey = "identifier_key"

// SourcesByKey says whether SourcesTable is written in the order of
// SourcesKey, where the warehouse prunes blocks by their minimum and
// maximum: a look-up by value then reads only the few rows of its key,
// and the run builds no index on the table. An integer key prunes far
// better than the text itself: DuckDB keeps only the first 8 bytes of a
// text's minimum and maximum and compares every text of a block it
// cannot skip (1M demo: a probe costs 0.7 ms of processor time instead
// of 2.4 ms).
func SourcesByKey(d dialects.Dialect) bool { return d.Capabilities().MinMaxPruning }

// SourcesStep builds SourcesTable: every source's identifier columns,
// normalized as identity reads them, distinct per source. Rows of
// forgotten people are left out as identity leaves them out.
func SourcesStep(c *plan.Context) plan.Step {
	d := c.Dialect
	var parts []string
	for _, src := range c.Project.Sources {
		for _, id := range src.Identifiers {
			norm := NormalizeExpr(d, c.Project.Identity.Rule(id.Type), "src."+d.Quote(id.Column))
			parts = append(parts, "-- "+plan.CommentSafe(src.Name+"."+id.Column)+"\nSELECT DISTINCT "+lit(id.Type)+" AS identifier_type, "+norm+" AS identifier_value, "+
				lit(src.Name)+" AS source\nFROM "+SourceRows(c, src)+" src\nWHERE "+norm+" IS NOT NULL")
		}
	}
	q, what := strings.Join(parts, "\nUNION ALL\n"), ""
	if SourcesByKey(d) {
		q, what = "SELECT s.*, "+d.Hash64("s.identifier_value")+" AS "+SourcesKey+" FROM (\n"+q+"\n) s\nORDER BY "+SourcesKey,
			", in the order of a hash of each identifier, which a look-up filters on"
	}
	st := plan.Statement{SQL: "-- " + SourcesTable + ": which sources hold each identifier, for the profile look-up" + what + "\n" +
		d.CreateTableAs(c.Staged(SourcesTable), q, false)}
	if len(parts) == 0 {
		ty := d.TypeName(dialects.Text)
		st.SQL = d.CreateTableAs(c.Staged(SourcesTable), "SELECT CAST(NULL AS "+ty+") AS identifier_type, CAST(NULL AS "+ty+") AS identifier_value, CAST(NULL AS "+ty+") AS source WHERE 1 = 0", false)
	}
	return &plan.SQLStep{StepName: "identity_sources", Header: "which sources hold each identifier (identity's sources)",
		Statements: []plan.Statement{st}, Ctx: c, Out: []string{SourcesTable},
		Count: map[string]string{SourcesTable: c.Staged(SourcesTable)}}
}

// ProfileIdentifiersTable holds each profile's identifiers with the sources
// holding them (sources: their names joined by commas, NULL where none
// does), in the order of profile_id: a look-up reads a person's in one
// statement instead of reading identity_graph by profile and then probing
// SourcesTable for each identifier (1M demo: 1.5 ms of processor time a
// look-up less). Built where the warehouse prunes blocks by their minimum
// and maximum (ProfileIdentifiersByProfile); elsewhere a look-up reads the
// graph and SourcesTable through their indexes.
const ProfileIdentifiersTable = "_profile_identifiers"

// ProfileIdentifiersByProfile says whether runs build ProfileIdentifiersTable.
func ProfileIdentifiersByProfile(d dialects.Dialect) bool { return d.Capabilities().MinMaxPruning }

// ProfileIdentifiersStep builds ProfileIdentifiersTable from this run's
// identity_graph and SourcesTable (nil where the dialect does not prune by
// block, see ProfileIdentifiersByProfile). Each identifier's sources are
// joined into one text first, then to the graph one to one: a join of the
// graph to SourcesTable's rows took half as much processor time again.
func ProfileIdentifiersStep(c *plan.Context) plan.Step {
	d := c.Dialect
	if !ProfileIdentifiersByProfile(d) {
		return nil
	}
	q := "-- " + ProfileIdentifiersTable + ": each profile's identifiers and the sources holding them, in profile order, for the profile look-up\n" +
		d.CreateTableAs(c.Staged(ProfileIdentifiersTable), "WITH held AS (\n"+
			"  SELECT identifier_type, identifier_value, "+d.StringAgg("source", "','")+" AS sources FROM "+c.Input(SourcesTable)+" GROUP BY identifier_type, identifier_value\n)\n"+
			"SELECT g.profile_id, g.identifier_type, g.identifier_value, g.first_seen_at, g.last_seen_at, held.sources\n"+
			"FROM "+c.Input(GraphTable)+" g\nLEFT JOIN held ON held.identifier_type = g.identifier_type AND held.identifier_value = g.identifier_value\n"+
			"ORDER BY g.profile_id", false)
	return &plan.SQLStep{StepName: "profile_identifiers", Header: "each profile's identifiers with their sources (identity's graph and sources)",
		Statements: []plan.Statement{{SQL: q}}, Ctx: c, Out: []string{ProfileIdentifiersTable},
		Count: map[string]string{ProfileIdentifiersTable: c.Staged(ProfileIdentifiersTable)}}
}

// identifiersOf reads a profile's identifiers and their sources from
// ProfileIdentifiersTable (ok false where the last run did not build it).
func identifiersOf(ctx context.Context, wh dialects.Warehouse, c *plan.Context, pid string) (ids []ProfileIdentifier, ok bool, err error) {
	if !ProfileIdentifiersByProfile(wh.Dialect()) {
		return nil, false, nil
	}
	if ok, err := c.FinalExists(ctx, wh, ProfileIdentifiersTable); err != nil || !ok {
		return nil, false, err
	}
	rows, err := wh.Query(ctx, dialects.Bind(wh.Dialect(), "SELECT identifier_type, identifier_value, first_seen_at, last_seen_at, sources FROM "+
		c.Final(ProfileIdentifiersTable)+" WHERE profile_id = ?"), pid)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		pi := ProfileIdentifier{Sources: []string{}}
		var first, last sql.NullTime
		var srcs sql.NullString
		if err := rows.Scan(&pi.Type, &pi.Value, &first, &last, &srcs); err != nil {
			return nil, false, err
		}
		if first.Valid {
			f, l := plan.WallClock(first.Time, c.Loc), plan.WallClock(last.Time, c.Loc)
			pi.FirstSeen, pi.LastSeen = &f, &l
		}
		if srcs.Valid {
			// a source with two columns of the type holds it twice
			for _, src := range strings.Split(srcs.String, ",") {
				if !slices.Contains(pi.Sources, src) {
					pi.Sources = append(pi.Sources, src)
				}
			}
		}
		ids = append(ids, pi)
	}
	return ids, true, rows.Err()
}
