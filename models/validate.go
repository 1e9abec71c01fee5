package models

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Enumerations of the project format.
var (
	SourceKinds    = []string{"entities", "events"}
	NormalizeModes = []string{"email", "phone", "lower", "trim", "none"}
	Picks          = []string{"latest", "first", "most_frequent", "priority"}
	Aggregates     = []string{"sum", "count", "count_distinct", "min", "max", "avg"}
	TraitModels    = []string{"rfm", "churn_risk"}
	TraitTypes     = []string{"text", "integer", "number", "boolean", "timestamp"}
	SyncModes      = []string{"upsert", "mirror", "insert"}
	Operators      = []string{"eq", "neq", "gt", "gte", "lt", "lte", "in", "not_in", "contains",
		"starts_with", "is_null", "between", "before", "after", "within"}
	// ReservedTraitNames are columns of profiles that are not traits.
	ReservedTraitNames = []string{"profile_id", "updated_at"}
)

var safeName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// checker validates a project, collecting every problem.
type checker struct {
	p    *Project
	errs ErrorList
	pos  []positions
}

func newChecker(p *Project) *checker {
	c := &checker{p: p}
	if p.pos != nil {
		c.pos = append(c.pos, p.pos)
	}
	return c
}

// at is where obj's value under key stands, or obj's own position.
func (c *checker) at(obj positioned, key string) Pos {
	for _, ps := range c.pos {
		if p, ok := ps[posKey{obj, key}]; ok {
			return p
		}
	}
	return obj.position()
}

// has reports whether key was written in obj's YAML (even as null).
func (c *checker) has(obj positioned, key string) bool {
	for _, ps := range c.pos {
		if _, ok := ps[posKey{obj, key}]; ok {
			return true
		}
	}
	return false
}

// unread reports whether key was written in obj's YAML with a value that
// could not be read: loading reported it.
func (c *checker) unread(obj positioned, key string) bool {
	for _, ps := range c.pos {
		if _, ok := ps[posKey{unreadMark{obj}, key}]; ok {
			return true
		}
	}
	return false
}

func (c *checker) errf(obj positioned, key string, format string, args ...any) {
	c.errs.add(c.at(obj, key), format, args...)
}

// rootPos is where a cohort.yaml value stands.
func (c *checker) rootPos(key string) Pos {
	for _, ps := range c.pos {
		if p, ok := ps[posKey{c.p, key}]; ok {
			return p
		}
	}
	return Pos{File: "cohort.yaml"}
}

func enumHint(v string, known []string) string {
	if cl := closest(v, known); cl != "" {
		return fmt.Sprintf("did you mean %q? one of: %s", cl, strings.Join(known, ", "))
	}
	return "one of: " + strings.Join(known, ", ")
}

// enum checks an optional value against its allowed values.
func (c *checker) enum(obj positioned, key, v string, known []string) {
	if v != "" && !slices.Contains(known, v) {
		c.errf(obj, key, "unknown %s %q (%s)", key, v, enumHint(v, known))
	}
}

// name checks a definition's name: present and a safe identifier.
func (c *checker) name(obj positioned, what, name string) bool {
	if name == "" {
		c.errf(obj, "", "%s needs a name", what)
		return false
	}
	if !safeName.MatchString(name) {
		c.errf(obj, "name", "%s name %q is not a safe identifier: use lower-case letters, digits and _, not starting with a digit", what, name)
		return false
	}
	return true
}

// unique reports names defined twice, naming both places.
func (c *checker) unique(what string, items []positioned, names []string) {
	first := map[string]positioned{}
	for i, n := range names {
		if n == "" {
			continue
		}
		if prev, ok := first[n]; ok {
			c.errf(items[i], "name", "%s %q is defined twice: here and at %s (rename or remove one)", what, n, c.at(prev, "name"))
			continue
		}
		first[n] = items[i]
	}
}

func names[T any](items []*T, name func(*T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it != nil {
			out = append(out, name(it))
		}
	}
	return out
}

// Validate checks everything that can be checked without a warehouse and
// returns every problem as an ErrorList, or nil.
func Validate(p *Project) error {
	c := newChecker(p)
	c.project()
	c.sources()
	c.identity()
	c.traits()
	for _, s := range p.Segments {
		if s != nil {
			c.segment(s)
		}
	}
	c.segmentNames()
	c.segmentCycles(nil)
	kinds := TraitKinds(p, nil, nil)
	for _, s := range p.Segments {
		if s != nil {
			c.operandKinds(s, kinds, nil)
		}
	}
	c.destinations()
	c.syncs()
	c.consent()
	return c.errs.err()
}

// ValidateSegment checks an unsaved segment against the project's sources,
// traits and segments, as Validate would. A saved segment of the same name
// is the one being edited: it is not a duplicate.
func ValidateSegment(p *Project, s *Segment) error {
	if p == nil {
		p = &Project{}
	}
	if s == nil {
		return ErrorList{{Pos: Pos{File: UnsavedFile}, Msg: "no segment given"}}
	}
	c := newChecker(p)
	if s.pos != nil {
		c.pos = append(c.pos, s.pos)
	}
	c.segment(s)
	c.segmentCycles(s)
	return c.errs.err() // operand kinds: CheckSegmentKinds, with the warehouse

}

func (c *checker) project() {
	p := c.p
	w := p.Warehouse
	if p.Name == "" {
		c.errs.add(c.rootPos("name"), "the project needs a name: add name: shop (any name) to cohort.yaml")
	}
	withIDs := false
	for _, s := range p.Sources {
		withIDs = withIDs || s != nil && len(s.Identifiers) > 0
	}
	switch {
	case len(p.Sources) == 0:
		c.errs.add(Pos{File: "models"}, "the project has no sources yet: describe at least one, with its identifiers, in a models/*.yaml file (see models/project.yaml)")
	case !withIDs && p.Sources[0] != nil:
		c.errs.add(p.Sources[0].Pos, "no source has identifiers: give at least one source identifiers (customer_id, email ...) so that profiles can be built")
	}
	if Warehouses != nil {
		if types := warehouseTypes(); w.Type != "" && !slices.Contains(types, w.Type) {
			c.errs.add(c.rootPos("warehouse.type"), "unknown warehouse type %q (%s)", w.Type, enumHint(w.Type, types))
		}
		given := map[string]string{"dsn": w.DSN, "project": w.Project, "path": w.Path, "location": w.Location,
			"account": w.Account, "user": w.User, "private_key_path": w.PrivateKeyPath}
		kind := warehouseKind(w.Type)
		for _, key := range kind.Needs {
			if given[key] != "" {
				continue
			}
			set, or := kind.Instead[key]
			if or && !slices.ContainsFunc(set.Keys, func(k string) bool { return given[k] == "" }) {
				continue
			}
			msg := fmt.Sprintf("warehouse type %s needs %s%s", w.Type, key, neededKeyHints[key])
			if or {
				msg += fmt.Sprintf(", or %s for %s", andList(set.Keys), set.For)
			}
			c.errs.add(c.rootPos("warehouse"), "%s", msg)
		}
	}
	if w.Schema != "" && !safeName.MatchString(w.Schema) {
		c.errs.add(c.rootPos("warehouse.schema"), "warehouse schema %q is not a safe identifier: use lower-case letters, digits and _", w.Schema)
	}
	if w.MaximumBytesBilled < 0 {
		c.errs.add(c.rootPos("warehouse.maximum_bytes_billed"), "warehouse maximum_bytes_billed must be 0 (no cap) or more bytes")
	}
	if w.Threads < 0 {
		c.errs.add(c.rootPos("warehouse.threads"), "warehouse threads must be 0 (all cores) or more")
	}
	if p.Timezone != "" {
		if _, err := time.LoadLocation(p.Timezone); err != nil {
			c.errs.add(c.rootPos("timezone"), "unknown timezone %q: use an IANA name such as Europe/Amsterdam or UTC", p.Timezone)
		}
	}
	c.checkSchedule(c.rootPos, func(key string) bool { return c.hasRoot(key) }, p.Schedule, false)
}

// hasRoot reports whether a cohort.yaml key was written.
func (c *checker) hasRoot(key string) bool {
	for _, ps := range c.pos {
		if _, ok := ps[posKey{c.p, key}]; ok {
			return true
		}
	}
	return false
}

func (c *checker) sources() {
	var items []positioned
	for _, s := range c.p.Sources {
		if s == nil {
			continue
		}
		items = append(items, s)
		c.name(s, "source", s.Name)
		c.enum(s, "kind", s.Kind, SourceKinds)
		switch {
		case s.Table == "" && s.SQL == "":
			c.errf(s, "", "source %q needs table (schema.table) or sql (a read-only query)", s.Name)
		case s.Table != "" && s.SQL != "":
			c.errf(s, "sql", "source %q has both table and sql: keep one", s.Name)
		case s.Table != "":
			for _, part := range strings.Split(s.Table, ".") {
				if part == "" {
					c.errf(s, "table", "source %q: table %q is not a table name: write table or schema.table", s.Name, s.Table)
					break
				}
			}
		default:
			if !readOnlyQuery(s.SQL) {
				c.errf(s, "sql", "source %q: sql must be one read-only query starting with SELECT or WITH", s.Name)
			}
		}
		if s.IsEvents() && s.Timestamp == "" {
			c.errf(s, "kind", "source %q holds events but has no timestamp: name the column that says when each event happened", s.Name)
		}
		if len(s.Identifiers) == 0 {
			c.errf(s, "", "source %q needs at least one identifier, e.g. identifiers: [{type: email, column: email}]", s.Name)
		}
		for _, id := range s.Identifiers {
			if id == nil {
				continue
			}
			if id.Type == "" {
				c.errf(id, "", "identifier of source %q needs a type (email, phone, customer_id, ...)", s.Name)
			} else if !safeName.MatchString(id.Type) {
				c.errf(id, "type", "identifier type %q is not a safe identifier: use lower-case letters, digits and _", id.Type)
			}
			if id.Column == "" {
				c.errf(id, "", "identifier %q of source %q needs a column", id.Type, s.Name)
			}
		}
		var cols []positioned
		for _, col := range s.Columns {
			if col == nil {
				continue
			}
			cols = append(cols, col)
			if col.Name == "" {
				c.errf(col, "", "a column of source %q needs a name: columns: [{name: phone, pii: true}]", s.Name)
			}
		}
		c.unique("column", cols, names(s.Columns, func(x *SourceColumn) string { return x.Name }))
	}
	c.unique("source", items, names(c.p.Sources, func(s *Source) string { return s.Name }))
}

// readOnlyQuery is a light check that sql is a query, not a statement.
func readOnlyQuery(sql string) bool {
	s := strings.TrimSpace(sql)
	for strings.HasPrefix(s, "--") || strings.HasPrefix(s, "(") {
		if strings.HasPrefix(s, "(") {
			s = strings.TrimSpace(s[1:])
			continue
		}
		_, rest, _ := strings.Cut(s, "\n")
		s = strings.TrimSpace(rest)
	}
	words := strings.FieldsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if len(words) == 0 || !strings.HasPrefix(s, words[0]) {
		return false
	}
	if word := strings.ToLower(words[0]); word != "select" && word != "with" {
		return false
	}
	body := strings.TrimRight(s, "; \n\t")
	return !strings.Contains(stripLiterals(body), ";")
}

// stripLiterals blanks out '...' string literals.
func stripLiterals(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		if r == '\'' {
			in = !in
			continue
		}
		if !in {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sourceIdentifierTypes lists the identifier types the sources provide.
func (c *checker) sourceIdentifierTypes() []string {
	var out []string
	for _, s := range c.p.Sources {
		if s == nil {
			continue
		}
		for _, id := range s.Identifiers {
			if id != nil && id.Type != "" && !slices.Contains(out, id.Type) {
				out = append(out, id.Type)
			}
		}
	}
	return out
}

func (c *checker) identity() {
	provided := c.sourceIdentifierTypes()
	var ruled []string
	var items []positioned
	for _, r := range c.p.Identity.Identifiers {
		if r == nil {
			continue
		}
		items = append(items, r)
		switch {
		case r.Type == "":
			c.errf(r, "", "identifier rule needs a type")
		case !slices.Contains(provided, r.Type):
			c.errf(r, "type", "identifier rule for unknown identifier type %q: no source has it%s", r.Type, suggest(r.Type, provided, "identifier type"))
		}
		ruled = append(ruled, r.Type)
		c.enum(r, "normalize", r.Normalize, NormalizeModes)
		if r.Limit < 0 {
			c.errf(r, "limit", "limit must be 0 (unlimited) or more")
		}
		if r.MaxLinks < 0 {
			c.errf(r, "max_links", "max_links must be 0 (unlimited) or more")
		}
		if r.DefaultCountry != "" {
			if _, ok := CountryCodes[strings.ToUpper(r.DefaultCountry)]; !ok {
				c.errf(r, "default_country", "unknown default_country %q (%s)", r.DefaultCountry, enumHint(strings.ToUpper(r.DefaultCountry), countryNames()))
			} else if r.Normalize != "phone" {
				c.errf(r, "default_country", "default_country only applies with normalize: phone")
			}
		}
		for i, pat := range r.Exclude {
			if msg := checkPattern(pat); msg != "" {
				c.errf(r, "exclude."+strconv.Itoa(i), "exclude pattern %q %s", pat, msg)
			}
		}
	}
	c.unique("identifier rule for", items, names(c.p.Identity.Identifiers, func(r *IdentifierRule) string { return r.Type }))
	if len(ruled) == 0 {
		return
	}
	// a source type close to a ruled type is a misspelling of it
	for _, s := range c.p.Sources {
		if s == nil {
			continue
		}
		for _, id := range s.Identifiers {
			if id == nil || id.Type == "" || slices.Contains(ruled, id.Type) {
				continue
			}
			// only a rule some source provides is a real type to suggest
			if cl := closest(id.Type, ruled); cl != "" && slices.Contains(provided, cl) {
				c.errf(id, "type", "identifier type %q has no identity rule (did you mean %q?)", id.Type, cl)
			}
		}
	}
}

func countryNames() []string {
	out := make([]string, 0, len(CountryCodes))
	for k := range CountryCodes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkPattern says what is wrong with an exclude pattern, or "". Patterns
// are RE2 syntax and run in the warehouse, so only what every registered
// warehouse accepts is (PatternLimits).
func checkPattern(pat string) string {
	if pat == "" {
		return "is empty"
	}
	if problem := patternLimit(pat); problem != "" {
		return problem
	}
	if _, err := regexp.Compile(pat); err != nil {
		msg := err.Error()
		if se, ok := err.(*syntax.Error); ok {
			msg = string(se.Code) + " " + se.Expr
		}
		return "does not compile: " + msg + " (patterns are RE2, as in DuckDB; backreferences and lookaround are not supported)"
	}
	return ""
}

func (c *checker) traits() {
	var items []positioned
	for _, t := range c.p.Traits {
		if t == nil {
			continue
		}
		items = append(items, t)
		c.trait(t)
	}
	c.unique("trait", items, names(c.p.Traits, func(t *Trait) string { return t.Name }))
	c.traitCycles()
}

func (c *checker) sourceNames() []string {
	return names(c.p.Sources, func(s *Source) string { return s.Name })
}

func (c *checker) traitNames() []string {
	return names(c.p.Traits, func(t *Trait) string { return t.Name })
}

func (c *checker) trait(t *Trait) {
	if c.name(t, "trait", t.Name) && slices.Contains(ReservedTraitNames, t.Name) {
		c.errf(t, "name", "trait name %q is reserved: profiles has a column of that name; choose another", t.Name)
	}
	kinds := 0
	for _, set := range []bool{len(t.From) > 0, t.SQL != "", t.Model != ""} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		c.errf(t, "", "trait %q needs one of from (source.column), sql (an expression over other traits) or model (%s)", t.Name, strings.Join(TraitModels, ", "))
		return
	case kinds > 1:
		c.errf(t, "", "trait %q has more than one of from, sql and model: keep one", t.Name)
		return
	}
	c.enum(t, "pick", t.Pick, Picks)
	c.enum(t, "aggregate", t.Aggregate, Aggregates)
	c.enum(t, "model", t.Model, TraitModels)
	c.enum(t, "type", t.Type, TraitTypes)
	if t.Type != "" && t.SQL == "" {
		c.errf(t, "type", "type only applies to sql traits: other traits take the type of their column")
	}
	if t.Model == "" && (t.Source != "" || t.Amount != "") {
		key := "source"
		if t.Source == "" {
			key = "amount"
		}
		c.errf(t, key, "%s only applies to model traits", key)
	}
	if len(t.From) == 0 {
		for _, key := range []string{"pick", "aggregate", "within"} {
			if c.has(t, key) {
				c.errf(t, key, "%s only applies to traits with from", key)
			}
		}
	}
	switch {
	case t.Model != "":
		c.traitModel(t)
	case len(t.From) > 0:
		c.traitFrom(t)
	}
}

func (c *checker) traitModel(t *Trait) {
	if t.Source == "" {
		c.errf(t, "model", "model %s needs source: the source of the orders it reads", t.Model)
		return
	}
	s := c.p.Source(t.Source)
	if s == nil {
		c.errf(t, "source", "unknown source %q%s", t.Source, suggest(t.Source, c.sourceNames(), "source"))
		return
	}
	if s.Timestamp == "" {
		c.errf(t, "source", "model %s reads when each row happened, but source %q has no timestamp: set timestamp on the source", t.Model, s.Name)
	}
	if t.Model == "rfm" && t.Amount == "" {
		c.errf(t, "model", "model rfm needs amount: the column of %q holding the order value", s.Name)
	}
}

func (c *checker) traitFrom(t *Trait) {
	switch {
	case t.Pick != "" && t.Aggregate != "":
		c.errf(t, "aggregate", "trait %q has both pick and aggregate: keep one", t.Name)
		return
	case t.Pick == "" && t.Aggregate == "":
		c.errf(t, "", "trait %q needs pick (%s) or aggregate (%s)", t.Name, strings.Join(Picks, ", "), strings.Join(Aggregates, ", "))
		return
	}
	if t.Normalize != "" {
		var types []string
		for _, r := range c.p.Identity.Identifiers {
			types = append(types, r.Type)
		}
		switch {
		case t.Pick == "":
			c.errf(t, "normalize", "normalize only applies to pick traits: an aggregate's values are not identifiers")
		case c.p.Identity.Rule(t.Normalize) == nil:
			c.errf(t, "normalize", "normalize names an identifier type of identity, and %q is none%s", t.Normalize, suggest(t.Normalize, types, "identifier type"))
		}
	}
	if len(t.From) > 1 && t.Pick != "priority" {
		c.errf(t, "from", "only pick: priority reads several sources; give one source.column")
	}
	for i, ref := range t.From {
		key := "from"
		if c.has(t, "from."+strconv.Itoa(i)) {
			key = "from." + strconv.Itoa(i)
		}
		src, col, hasCol := strings.Cut(ref, ".")
		if !hasCol && t.Aggregate != "count" {
			c.errf(t, key, "from %q needs a column: write source.column (only aggregate: count takes a bare source)", ref)
		}
		if hasCol && col == "" {
			c.errf(t, key, "from %q has an empty column: write source.column", ref)
		}
		s := c.p.Source(src)
		if s == nil {
			c.errf(t, key, "unknown source %q%s", src, suggest(src, c.sourceNames(), "source"))
			continue
		}
		if s.Timestamp == "" {
			if t.Pick == "latest" || t.Pick == "first" {
				c.errf(t, "pick", "pick: %s needs to know when each row was true, but source %q has no timestamp: set timestamp on the source or use another pick", t.Pick, s.Name)
			}
			if t.Within.Set() {
				c.errf(t, "within", "within needs a timestamp, but source %q has none: set timestamp on the source", s.Name)
			}
		}
	}
}

// traitCycles reports loops between sql traits.
func (c *checker) traitCycles() {
	all := c.traitNames()
	deps := map[string][]string{}
	var order []string
	at := map[string]*Trait{}
	ix := newNameIndex(all)
	for _, t := range c.p.Traits {
		if t == nil || t.SQL == "" || at[t.Name] != nil {
			continue
		}
		at[t.Name] = t
		order = append(order, t.Name)
		deps[t.Name] = ix.refs(t.SQL)
	}
	for _, cyc := range findCycles(order, deps) {
		c.errf(at[cyc[0]], "sql", "trait cycle: %s (a sql trait cannot depend on itself, directly or through others)", strings.Join(cyc, " -> "))
	}
}

// findCycles lists each loop of the graph once, starting at the node that
// comes first in order, e.g. [a b a].
func findCycles(order []string, deps map[string][]string) [][]string {
	rank := map[string]int{}
	for i, n := range order {
		rank[n] = i
	}
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var cycles [][]string
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		state[n] = active
		stack = append(stack, n)
		for _, m := range deps[n] {
			if _, known := rank[m]; !known {
				continue
			}
			switch state[m] {
			case unseen:
				visit(m)
			case active:
				i := slices.Index(stack, m)
				loop := slices.Clone(stack[i:])
				// rotate to start at the earliest-defined member
				first := 0
				for j, x := range loop {
					if rank[x] < rank[loop[first]] {
						first = j
					}
				}
				loop = append(loop[first:], loop[:first]...)
				loop = append(loop, loop[0])
				key := strings.Join(loop, " ")
				if !seen[key] {
					seen[key] = true
					cycles = append(cycles, loop)
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range order {
		if state[n] == unseen {
			visit(n)
		}
	}
	return cycles
}

func (c *checker) segmentNames() {
	var items []positioned
	for _, s := range c.p.Segments {
		if s != nil {
			items = append(items, s)
		}
	}
	c.unique("segment", items, names(c.p.Segments, func(s *Segment) string { return s.Name }))
}

func (c *checker) segment(s *Segment) {
	c.name(s, "segment", s.Name)
	if s.Where == nil {
		c.errf(s, "", "segment %q needs where: the condition its members meet", s.Name)
	} else {
		c.condition(s.Where, false, nil)
	}
	if s.Holdout < 0 || s.Holdout > 100 {
		c.errf(s, "holdout", "holdout must be between 0%% and 100%%")
	} else if w, h := s.Holdout.Hundredths(); math.Abs(float64(s.Holdout)-float64(w)-float64(h)/100) > 1e-9 {
		c.errf(s, "holdout", "holdout %g%% is finer than a holdout is applied: write at most two decimals (12.5%%, 0.25%%)", float64(s.Holdout))
	}
	for _, sp := range s.Splits {
		if sp.Weight <= 0 {
			c.errf(s, "splits."+sp.Name, "split %q needs a positive weight", sp.Name)
		}
	}
}

// segmentRefs lists the segments a condition tree reuses, with the
// condition that names each.
func segmentRefs(cond *Condition, out *[]*Condition) {
	cond.Walk(func(n *Condition) {
		if n.Segment != "" {
			*out = append(*out, n)
		}
	})
}

// segmentCycles reports loops of segment: references; unsaved replaces the
// saved segment of its name.
func (c *checker) segmentCycles(unsaved *Segment) {
	segs := c.p.segmentsWith(unsaved)
	var order []string
	deps := map[string][]string{}
	at := map[string]*Condition{}
	for _, s := range segs {
		if _, dup := deps[s.Name]; dup {
			continue
		}
		order = append(order, s.Name)
		var refs []*Condition
		segmentRefs(s.Where, &refs)
		deps[s.Name] = nil
		for _, r := range refs {
			deps[s.Name] = append(deps[s.Name], r.Segment)
			if at[s.Name+" "+r.Segment] == nil {
				at[s.Name+" "+r.Segment] = r
			}
		}
	}
	for _, cyc := range findCycles(order, deps) {
		if unsaved != nil && !slices.Contains(cyc, unsaved.Name) {
			continue
		}
		c.errf(at[cyc[0]+" "+cyc[1]], "segment", "segment cycle: %s (a segment cannot include itself, directly or through others)", strings.Join(cyc, " -> "))
	}
}

// segmentsWith is the project's segments with unsaved in place of the saved
// one of its name (or added).
func (p *Project) segmentsWith(unsaved *Segment) []*Segment {
	var out []*Segment
	replaced := false
	for _, s := range p.Segments {
		if s == nil {
			continue
		}
		if unsaved != nil && s.Name == unsaved.Name {
			if !replaced {
				out = append(out, unsaved)
				replaced = true
			}
			continue
		}
		out = append(out, s)
	}
	if unsaved != nil && !replaced {
		out = append(out, unsaved)
	}
	return out
}

// condition checks one node; inEvent is true inside an event's where, whose
// source is src.
func (c *checker) condition(cond *Condition, inEvent bool, src *Source) {
	if cond == nil {
		return
	}
	var set []string
	for _, k := range []struct {
		name string
		on   bool
	}{
		{"all", cond.All != nil}, {"any", cond.Any != nil}, {"not", cond.Not != nil},
		{"segment", cond.Segment != ""}, {"trait", cond.Trait != ""},
		{"column", cond.Column != ""}, {"event", cond.Event != nil},
	} {
		if k.on {
			set = append(set, k.name)
		}
	}
	ops := cond.Ops()
	for _, op := range Operators {
		if c.has(cond, op) && !c.unread(cond, op) && !slices.ContainsFunc(ops, func(o Op) bool { return o.Name == op }) {
			c.errf(cond, op, "%s has no value (to match a missing value write is_null: true)", op)
		}
	}
	allowed := "all, any, not, segment, trait or event"
	if inEvent {
		allowed = "all, any, not or column"
	}
	switch {
	case len(set) == 0:
		c.errf(cond, "", "a condition needs one of %s", allowed)
		return
	case len(set) > 1:
		c.errf(cond, set[1], "a condition has one of %s; this one has %s: nest them under all or any", allowed, strings.Join(set, " and "))
		return
	}
	kind := set[0]
	if inEvent && (kind == "segment" || kind == "trait" || kind == "event") {
		c.errf(cond, kind, "%s conditions cannot go inside an event's where, which tests the event's columns: use column", kind)
		return
	}
	if !inEvent && kind == "column" {
		c.errf(cond, "column", "column conditions go inside an event's where; use trait to test a profile's trait")
		return
	}
	if kind != "trait" && kind != "column" && len(ops) > 0 {
		c.errf(cond, ops[0].Name, "operator %s goes with trait or column, not with %s", ops[0].Name, kind)
	}
	switch kind {
	case "all", "any":
		list := cond.All
		if kind == "any" {
			list = cond.Any
		}
		if len(list) == 0 {
			c.errf(cond, kind, "%s needs at least one condition", kind)
		}
		for _, x := range list {
			c.condition(x, inEvent, src)
		}
	case "not":
		c.condition(cond.Not, inEvent, src)
	case "segment":
		if c.p.Segment(cond.Segment) == nil {
			known := names(c.p.Segments, func(s *Segment) string { return s.Name })
			c.errf(cond, "segment", "unknown segment %q%s", cond.Segment, suggest(cond.Segment, known, "segment"))
		}
	case "trait":
		if c.p.Trait(cond.Trait) == nil {
			c.errf(cond, "trait", "unknown trait %q%s", cond.Trait, suggest(cond.Trait, c.traitNames(), "trait"))
		}
		c.operators(cond, "trait "+strconv.Quote(cond.Trait), ops)
	case "column":
		c.operators(cond, "column "+strconv.Quote(cond.Column), ops)
	case "event":
		c.event(cond.Event)
	}
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, int64, float64, bool, int:
		return true
	}
	return false
}

func isOrdered(v any) bool {
	switch v.(type) {
	case string, int64, float64, int:
		return true
	}
	return false
}

// operators checks a trait or column condition's operator and operand.
func (c *checker) operators(cond *Condition, what string, ops []Op) {
	if len(ops) == 0 {
		for _, op := range Operators {
			if c.has(cond, op) {
				return // reported: the operator has no value
			}
		}
		c.errf(cond, "", "condition on %s needs an operator: %s", what, strings.Join(Operators, ", "))
		return
	}
	if len(ops) > 1 {
		c.errf(cond, ops[1].Name, "condition on %s has %d operators (%s and %s): use one per condition and combine them with all", what, len(ops), ops[0].Name, ops[1].Name)
		return
	}
	op := ops[0]
	switch op.Name {
	case "eq", "neq":
		if !isScalar(op.Value) {
			c.errf(cond, op.Name, "%s takes a single value; for a list use in or not_in", op.Name)
		}
	case "gt", "gte", "lt", "lte":
		if !isOrdered(op.Value) {
			c.errf(cond, op.Name, "%s takes a number, or text such as a date", op.Name)
		}
	case "contains", "starts_with":
		if _, ok := op.Value.(string); !ok {
			c.errf(cond, op.Name, "%s takes text", op.Name)
		}
	case "in", "not_in":
		list := op.Value.([]any)
		if len(list) == 0 {
			c.errf(cond, op.Name, "%s needs at least one value, e.g. %s: [a, b]", op.Name, op.Name)
		}
		for _, v := range list {
			if !isScalar(v) {
				c.errf(cond, op.Name, "%s takes a list of single values", op.Name)
				break
			}
		}
	case "between":
		list := op.Value.([]any)
		if len(list) != 2 || !isOrdered(list[0]) || !isOrdered(list[1]) {
			c.errf(cond, op.Name, "between takes two values, low and high: between: [10, 20]")
		}
	}
}

func (c *checker) event(e *EventCondition) {
	if e.Source == "" {
		c.errf(e, "", "event condition needs source: the source holding the events")
		return
	}
	s := c.p.Source(e.Source)
	if s == nil {
		c.errf(e, "source", "unknown source %q%s", e.Source, suggest(e.Source, c.sourceNames(), "source"))
	} else {
		if e.Name != "" && s.Event == "" {
			c.errf(e, "name", "source %q has no event column, so events cannot be matched by name: set event on the source (the column holding the event's name) or drop name", s.Name)
		}
		if e.Within.Set() && s.Timestamp == "" {
			c.errf(e, "within", "within needs a timestamp, but source %q has none: set timestamp on the source", s.Name)
		}
	}
	if b := e.Count; b != nil {
		bounds := []*int{b.Eq, b.Gt, b.Gte, b.Lt, b.Lte}
		n := 0
		for _, v := range bounds {
			if v != nil {
				n++
				if *v < 0 {
					c.errf(e, "count", "count bounds must be 0 or more")
				}
			}
		}
		if n == 0 {
			c.errf(e, "count", "count needs a bound: eq, gt, gte, lt or lte, e.g. count: {gte: 3}")
		}
	}
	for _, w := range e.Where {
		c.condition(w, true, s)
	}
}

func (c *checker) destinations() {
	var items []positioned
	for _, d := range c.p.Destinations {
		if d == nil {
			continue
		}
		items = append(items, d)
		c.name(d, "destination", d.Name)
		if DestinationTypes == nil {
			continue
		}
		types := DestinationTypes()
		if d.Type == "" {
			c.errf(d, "", "destination %q needs a type (%s)", d.Name, strings.Join(types, ", "))
		}
		c.enum(d, "type", d.Type, types)
		if CheckDestination != nil && slices.Contains(types, d.Type) {
			for _, p := range CheckDestination(d) {
				c.errs.add(c.near(d, p.Key), "destination %q: %s", d.Name, p.Msg)
			}
		}
	}
	c.unique("destination", items, names(c.p.Destinations, func(d *Destination) string { return d.Name }))
}

// near is where obj's value under key stands, or the nearest enclosing key
// that was written ("config" for a missing "config.list_id"), or obj.
func (c *checker) near(obj positioned, key string) Pos {
	for k := key; k != ""; {
		if c.has(obj, k) {
			return c.at(obj, k)
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return obj.position()
}

// syncSpec checks a sync against its destination's connector.
func (c *checker) syncSpec(s *Sync) {
	d := c.p.Destination(s.Destination)
	if CheckSync == nil || d == nil || DestinationTypes == nil || !slices.Contains(DestinationTypes(), d.Type) {
		return
	}
	declared := func(trait string) string {
		if t := c.p.Trait(trait); t != nil {
			return t.Type
		}
		return ""
	}
	for _, p := range CheckSync(s, d, declared) {
		c.errs.add(c.near(s, p.Key), "sync %q: %s", s.Name, p.Msg)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (c *checker) syncs() {
	var items []positioned
	for _, s := range c.p.Syncs {
		if s == nil {
			continue
		}
		items = append(items, s)
		c.name(s, "sync", s.Name)
		if s.Segment == "" {
			c.errf(s, "", "sync %q needs segment: the audience it sends", s.Name)
		} else if c.p.Segment(s.Segment) == nil {
			known := names(c.p.Segments, func(x *Segment) string { return x.Name })
			c.errf(s, "segment", "unknown segment %q%s", s.Segment, suggest(s.Segment, known, "segment"))
		}
		if s.Destination == "" {
			c.errf(s, "", "sync %q needs destination", s.Name)
		} else if c.p.Destination(s.Destination) == nil {
			known := names(c.p.Destinations, func(x *Destination) string { return x.Name })
			c.errf(s, "destination", "unknown destination %q%s", s.Destination, suggest(s.Destination, known, "destination"))
		}
		if s.Mode == "" {
			c.errf(s, "", "sync %q needs mode (upsert: add and update; mirror: also remove leavers; insert: new only)", s.Name)
		}
		c.enum(s, "mode", s.Mode, SyncModes)
		if len(s.Match) == 0 {
			c.errf(s, "", "sync %q needs match: the destination key and the trait that fills it, e.g. match: {email: email}", s.Name)
		}
		for _, group := range []struct {
			key string
			m   map[string]string
		}{{"match", s.Match}, {"fields", s.Fields}} {
			for _, k := range sortedKeys(group.m) {
				v := group.m[k]
				if v == "" {
					c.errf(s, group.key+"."+k, "%s %q needs a trait", group.key, k)
				} else if c.p.Trait(v) == nil {
					c.errf(s, group.key+"."+k, "unknown trait %q%s", v, suggest(v, c.traitNames(), "trait"))
				}
			}
		}
		c.syncSpec(s)
		c.checkSchedule(func(key string) Pos { return c.at(s, key) }, func(key string) bool { return c.has(s, key) }, s.Schedule, true)
		c.alert(s)
		c.transfer(s)
		if s.Purpose != "" {
			known := c.purposeNames()
			if !slices.Contains(known, s.Purpose) {
				c.errf(s, "purpose", "unknown consent purpose %q%s", s.Purpose, suggest(s.Purpose, known, "consent purpose"))
			}
		}
	}
	c.unique("sync", items, names(c.p.Syncs, func(s *Sync) string { return s.Name }))
}

// transfer: a sync to a destination outside the EU/EEA needs
// consent.transfer_outside_eu, else nobody could say who may be sent there.
func (c *checker) transfer(s *Sync) {
	d := c.p.Destination(s.Destination)
	if DestinationRegion == nil || d == nil || (c.p.Consent != nil && c.p.Consent.TransferOutsideEU != nil) {
		return
	}
	if DestinationTypes == nil || !slices.Contains(DestinationTypes(), d.Type) {
		return // models names the unknown type
	}
	if region, outside := DestinationRegion(d); outside {
		c.errf(s, "destination", "sync %q sends to destination %q in region %q, outside the EU/EEA: define consent.transfer_outside_eu "+
			"(the boolean trait saying a person agreed to that), or choose a destination in the EU/EEA", s.Name, d.Name, region)
	}
}

func (c *checker) purposeNames() []string {
	if c.p.Consent == nil {
		return nil
	}
	return names(c.p.Consent.Purposes, func(p *Purpose) string { return p.Name })
}

func (c *checker) alert(s *Sync) {
	a := s.Alert
	if a == nil {
		return
	}
	switch d := c.p.Destination(a.Destination); {
	case a.Destination == "":
		c.errf(a, "", "alert of sync %q needs destination: a slack or webhook destination to send it through", s.Name)
	case d == nil:
		known := names(c.p.Destinations, func(x *Destination) string { return x.Name })
		c.errf(a, "destination", "unknown destination %q%s", a.Destination, suggest(a.Destination, known, "destination"))
	case d.Type != "" && !slices.Contains(NotifierTypes, d.Type):
		c.errf(a, "destination", "destination %q is of type %s, which cannot carry alerts: name a destination of type %s", a.Destination, d.Type, strings.Join(NotifierTypes, " or "))
	}
	for i, e := range a.On {
		if !slices.Contains(AlertEvents, e) {
			c.errf(a, "on."+strconv.Itoa(i), "unknown alert event %q (%s)", e, enumHint(e, AlertEvents))
		}
	}
	if r := a.RejectionRate; r != nil {
		if *r < 0 || *r > 100 {
			c.errf(a, "rejection_rate", "rejection_rate must be between 0%% and 100%%")
		} else if !a.Wants("rejections") {
			c.errf(a, "rejection_rate", "rejection_rate applies to rejection alerts: add rejections to on")
		}
	}
}

func (c *checker) consent() {
	k := c.p.Consent
	if k == nil {
		return
	}
	var items []positioned
	for _, p := range k.Purposes {
		if p == nil {
			continue
		}
		items = append(items, p)
		c.name(p, "consent purpose", p.Name)
		c.purposeTrait(p)
	}
	c.unique("consent purpose", items, names(k.Purposes, func(p *Purpose) string { return p.Name }))
	for _, t := range k.extraTransfer {
		c.errf(t, "", "consent.transfer_outside_eu is defined twice: here and at %s (keep one)", c.at(k.TransferOutsideEU, ""))
	}
	if t := k.TransferOutsideEU; t != nil {
		if t.Name != "" {
			c.errf(t, "name", "transfer_outside_eu takes only trait")
		}
		c.purposeTrait(t)
	}
	c.purposeKinds(TraitKinds(c.p, nil, nil), nil)
}

// purposeKinds checks that each consent purpose's trait whose kind is in
// kinds (and, when check is set, for which check says yes) is boolean: the
// syncs send a profile whose trait is true.
func (c *checker) purposeKinds(kinds map[string]string, check func(trait string) bool) {
	k := c.p.Consent
	if k == nil {
		return
	}
	for _, p := range append(slices.Clone(k.Purposes), k.TransferOutsideEU) {
		if p == nil || check != nil && !check(p.Trait) {
			continue
		}
		if kind := kinds[p.Trait]; kind != "" && kind != KindBoolean {
			name := p.Name
			if p == k.TransferOutsideEU {
				name = "transfer_outside_eu"
			}
			c.errf(p, "trait", "consent purpose %q: trait %q holds %s, and consent needs a boolean trait (true when the person agreed; a sql trait such as `newsletter_status = 'subscribed'` makes one)", name, p.Trait, kindPlural(kind))
		}
	}
}

func (c *checker) purposeTrait(p *Purpose) {
	switch {
	case p.Trait == "":
		c.errf(p, "", "consent purpose %q needs trait: the boolean trait saying a profile agreed", p.Name)
	case c.p.Trait(p.Trait) == nil:
		c.errf(p, "trait", "unknown trait %q%s", p.Trait, suggest(p.Trait, c.traitNames(), "trait"))
	}
}
