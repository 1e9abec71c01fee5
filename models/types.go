package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Pos is where a definition stands in the project's YAML files.
type Pos struct {
	File string `yaml:"-" json:"-"` // relative to the project folder
	Line int    `yaml:"-" json:"-"`
	Col  int    `yaml:"-" json:"-"`
}

func (p Pos) String() string {
	if p.File == "" {
		return "<unsaved>"
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Project is a loaded and interpolated project folder.
type Project struct {
	Dir       string          `yaml:"-"`
	Name      string          `yaml:"name"`
	Warehouse WarehouseConfig `yaml:"warehouse"`
	State     string          `yaml:"state"`
	Timezone  string          `yaml:"timezone"`
	Schedule  Schedule        `yaml:"schedule"`  // when cohort serve runs the warehouse build
	Retention Retention       `yaml:"retention"` // how long the state store keeps history

	Sources      []*Source      `yaml:"sources"`
	Identity     Identity       `yaml:"identity"`
	Traits       []*Trait       `yaml:"traits"`
	Segments     []*Segment     `yaml:"segments"`
	Destinations []*Destination `yaml:"destinations"`
	Syncs        []*Sync        `yaml:"syncs"`
	Consent      *Consent       `yaml:"consent"`

	pos positions // where each decoded value stands (Load)
}

// WarehouseConfig says where sources live and where Cohort writes.
type WarehouseConfig struct {
	Type        string `yaml:"type"`         // duckdb (default) | postgres | snowflake | bigquery
	Path        string `yaml:"path"`         // duckdb file, relative to the project folder
	DSN         string `yaml:"dsn"`          // postgres / snowflake
	Project     string `yaml:"project"`      // bigquery
	Location    string `yaml:"location"`     // bigquery
	Schema      string `yaml:"schema"`       // output schema, default "cohort"
	MemoryLimit string `yaml:"memory_limit"` // duckdb: e.g. "2GB"; larger work spills to disk
	Threads     int    `yaml:"threads"`      // duckdb: 0 = all cores
	// snowflake: key-pair authentication instead of a dsn, and what
	// overrides the dsn's settings
	Account        string `yaml:"account"`
	User           string `yaml:"user"`
	PrivateKeyPath string `yaml:"private_key_path"` // unencrypted PKCS#8 PEM, relative to the project folder
	Role           string `yaml:"role"`
	Database       string `yaml:"database"`
	Compute        string `yaml:"compute_warehouse"` // the virtual warehouse that runs the queries
	// snowflake and bigquery: QUERY_TAG / job label of every statement (default "cohort")
	QueryTag string `yaml:"query_tag"`
	// bigquery: the most one query may scan, in bytes (0: no cap)
	MaximumBytesBilled int64 `yaml:"maximum_bytes_billed"`
	// bigquery: another API address (an emulator)
	Endpoint string `yaml:"endpoint"`
}

// Source is a table or read-only query holding entities or events.
type Source struct {
	Pos         `yaml:"-"`
	Name        string              `yaml:"name"`
	Kind        string              `yaml:"kind"` // "" or "entities" | "events"
	Table       string              `yaml:"table"`
	SQL         string              `yaml:"sql"`
	PrimaryKey  string              `yaml:"primary_key"`
	Timestamp   string              `yaml:"timestamp"`
	Event       string              `yaml:"event"`
	Identifiers []*SourceIdentifier `yaml:"identifiers"`
	// Columns are options on some of the source's columns (pii: true).
	Columns []*SourceColumn `yaml:"columns"`
}

// IsEvents reports whether the source's rows are events.
func (s *Source) IsEvents() bool { return s.Kind == "events" }

// SourceIdentifier maps a column of a source to an identifier type.
type SourceIdentifier struct {
	Pos    `yaml:"-"`
	Type   string `yaml:"type"`
	Column string `yaml:"column"`
}

// Identity holds the identifier rules; their order is their priority.
type Identity struct {
	Identifiers []*IdentifierRule `yaml:"identifiers"`
}

// Rule returns the rule of an identifier type, or nil.
func (i Identity) Rule(typ string) *IdentifierRule {
	for _, r := range i.Identifiers {
		if r.Type == typ {
			return r
		}
	}
	return nil
}

// IdentifierRule is how one identifier type is normalized and limited.
type IdentifierRule struct {
	Pos            `yaml:"-"`
	Type           string   `yaml:"type"`
	Limit          int      `yaml:"limit"`     // 0 = unlimited
	Normalize      string   `yaml:"normalize"` // email | phone | lower | trim | none; default trim
	Exclude        []string `yaml:"exclude"`   // regular expressions on the normalized value
	DefaultCountry string   `yaml:"default_country"`
	MaxLinks       int      `yaml:"max_links"` // 0 = unlimited
}

// Trait is one column of profiles.
type Trait struct {
	Pos       `yaml:"-"`
	Name      string     `yaml:"name"`
	From      StringList `yaml:"from"`      // source.column, or a source (count), or a priority list
	Pick      string     `yaml:"pick"`      // latest | first | most_frequent | priority
	Aggregate string     `yaml:"aggregate"` // sum | count | count_distinct | min | max | avg
	Within    Duration   `yaml:"within"`
	SQL       string     `yaml:"sql"`    // expression over other traits
	Model     string     `yaml:"model"`  // rfm | churn_risk
	Source    string     `yaml:"source"` // model input source
	Amount    string     `yaml:"amount"` // model amount column
	Type      string     `yaml:"type"`   // optional declared type of a sql trait: text | integer | number | boolean | timestamp
	// Normalize names an identifier type of identity: a pick trait's values
	// are normalized by that identifier's rule (e-mail lower-cased, phone in E.164).
	Normalize string `yaml:"normalize"`
}

// StringList decodes from a single string or a list of strings.
type StringList []string

// Segment is a named audience.
type Segment struct {
	Pos         `yaml:"-"`
	Name        string     `yaml:"name" json:"name,omitempty"`
	Description string     `yaml:"description" json:"description,omitempty"`
	Where       *Condition `yaml:"where" json:"where,omitempty"`
	Holdout     Percent    `yaml:"holdout" json:"holdout,omitempty"`
	Splits      []Split    `yaml:"splits" json:"splits,omitempty"` // decoded from a map, order kept

	pos positions // where each value stands, for segments from ParseSegment
}

// MarshalJSON writes the segment with the keys of its YAML form, splits as
// an object in arm order, so ParseSegment reads it back.
func (s Segment) MarshalJSON() ([]byte, error) {
	type plain Segment // without this method
	return json.Marshal(struct {
		plain
		Splits splitsJSON `json:"splits,omitempty"`
	}{plain(s), splitsJSON(s.Splits)})
}

type splitsJSON []Split

func (sp splitsJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range sp {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(x.Name)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(x.Weight))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Percent is "10%" in YAML, 10 in Go.
type Percent float64

// Hundredths splits a percentage into its whole part and hundredths of a
// percent (12.5% is 12 and 50), the finest step a holdout is applied in.
func (p Percent) Hundredths() (whole, hundredths int) {
	n := int(math.Round(float64(p) * 100))
	return n / 100, n % 100
}

// Split is one arm of a segment's deterministic split.
type Split struct {
	Name   string
	Weight int
}

// Condition is one node of a segment's condition tree. Exactly one of
// All, Any, Not, Segment, Trait, Column or Event is set.
type Condition struct {
	Pos     `yaml:"-"`
	All     []*Condition    `yaml:"all" json:"all,omitempty"`
	Any     []*Condition    `yaml:"any" json:"any,omitempty"`
	Not     *Condition      `yaml:"not" json:"not,omitempty"`
	Segment string          `yaml:"segment" json:"segment,omitempty"`
	Trait   string          `yaml:"trait" json:"trait,omitempty"`
	Column  string          `yaml:"column" json:"column,omitempty"` // inside an event condition's where: a column of the source
	Event   *EventCondition `yaml:"event" json:"event,omitempty"`

	// Operators, for Trait and Column conditions.
	Eq         any      `yaml:"eq" json:"eq,omitempty"`
	Neq        any      `yaml:"neq" json:"neq,omitempty"`
	Gt         any      `yaml:"gt" json:"gt,omitempty"`
	Gte        any      `yaml:"gte" json:"gte,omitempty"`
	Lt         any      `yaml:"lt" json:"lt,omitempty"`
	Lte        any      `yaml:"lte" json:"lte,omitempty"`
	In         []any    `yaml:"in" json:"in,omitempty"`
	NotIn      []any    `yaml:"not_in" json:"not_in,omitempty"`
	Contains   any      `yaml:"contains" json:"contains,omitempty"`
	StartsWith any      `yaml:"starts_with" json:"starts_with,omitempty"`
	IsNull     *bool    `yaml:"is_null" json:"is_null,omitempty"`
	Between    []any    `yaml:"between" json:"between,omitempty"`
	Before     Duration `yaml:"before" json:"before,omitzero"` // more than this long ago
	After      Duration `yaml:"after" json:"after,omitzero"`   // less than this long ago
	Within     Duration `yaml:"within" json:"within,omitzero"` // within the last ...
}

// Op is one operator of a trait or column condition with its operand.
type Op struct {
	Name  string // eq neq gt gte lt lte in not_in contains starts_with is_null between before after within
	Value any    // []any for in/not_in/between, bool for is_null, Duration for before/after/within
}

// Walk calls f with c and every condition under it through all, any and
// not (not into segment references, nor into an event's where).
func (c *Condition) Walk(f func(*Condition)) {
	if c == nil {
		return
	}
	f(c)
	for _, x := range c.All {
		x.Walk(f)
	}
	for _, x := range c.Any {
		x.Walk(f)
	}
	c.Not.Walk(f)
}

// Ops lists the operators set on c, in the order of the contract's list.
func (c *Condition) Ops() []Op {
	var ops []Op
	add := func(name string, set bool, v any) {
		if set {
			ops = append(ops, Op{Name: name, Value: v})
		}
	}
	add("eq", c.Eq != nil, c.Eq)
	add("neq", c.Neq != nil, c.Neq)
	add("gt", c.Gt != nil, c.Gt)
	add("gte", c.Gte != nil, c.Gte)
	add("lt", c.Lt != nil, c.Lt)
	add("lte", c.Lte != nil, c.Lte)
	add("in", c.In != nil, c.In)
	add("not_in", c.NotIn != nil, c.NotIn)
	add("contains", c.Contains != nil, c.Contains)
	add("starts_with", c.StartsWith != nil, c.StartsWith)
	if c.IsNull != nil {
		ops = append(ops, Op{Name: "is_null", Value: *c.IsNull})
	}
	add("between", c.Between != nil, c.Between)
	add("before", c.Before.Set(), c.Before)
	add("after", c.After.Set(), c.After)
	add("within", c.Within.Set(), c.Within)
	return ops
}

// EventCondition matches profiles by their events in an event source
// (or rows of any source with a timestamp).
type EventCondition struct {
	Pos    `yaml:"-"`
	Source string       `yaml:"source" json:"source,omitempty"`
	Name   string       `yaml:"name" json:"name,omitempty"`
	Within Duration     `yaml:"within" json:"within,omitzero"`
	Count  *CountBound  `yaml:"count" json:"count,omitempty"` // default: at least one
	Where  []*Condition `yaml:"where" json:"where,omitempty"` // conditions on the source's columns
}

// CountBound bounds how many matching events a profile has.
type CountBound struct {
	Eq  *int `yaml:"eq" json:"eq,omitempty"`
	Gt  *int `yaml:"gt" json:"gt,omitempty"`
	Gte *int `yaml:"gte" json:"gte,omitempty"`
	Lt  *int `yaml:"lt" json:"lt,omitempty"`
	Lte *int `yaml:"lte" json:"lte,omitempty"`
}

// Destination is a marketing tool Cohort sends audiences to.
type Destination struct {
	Pos    `yaml:"-"`
	Name   string         `yaml:"name"`
	Type   string         `yaml:"type"`
	Region string         `yaml:"region"`
	Config map[string]any `yaml:"config"`
}

// Sync sends a segment's members to a destination.
type Sync struct {
	Pos         `yaml:"-"`
	Name        string            `yaml:"name"`
	Segment     string            `yaml:"segment"`
	Destination string            `yaml:"destination"`
	Mode        string            `yaml:"mode"` // upsert | mirror | insert
	Match       map[string]string `yaml:"match"`
	Fields      map[string]string `yaml:"fields"`
	Schedule    Schedule          `yaml:"schedule"` // cron line, @every, or {after: run}
	Purpose     string            `yaml:"purpose"`
	Alert       *Alert            `yaml:"alert"`

	pos positions // where each value stands, for syncs from ParseSync
}

// Consent maps consent purposes to traits.
type Consent struct {
	Pos               `yaml:"-"`
	Purposes          []*Purpose `yaml:"purposes"`
	TransferOutsideEU *Purpose   `yaml:"transfer_outside_eu"`

	extraTransfer []*Purpose // more transfer_outside_eu from other files: an error
}

// Purpose is a consent purpose backed by a boolean trait.
type Purpose struct {
	Pos   `yaml:"-"`
	Name  string `yaml:"name"`
	Trait string `yaml:"trait"`
}

// Duration is a project duration: 30m, 12h, 7d, 8w.
type Duration struct {
	D    time.Duration
	Text string
}

// Set reports whether the duration was given.
func (d Duration) Set() bool { return d.Text != "" }

func (d Duration) String() string { return d.Text }

// MarshalJSON writes the duration as its text ("7d").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Text) }

// UnmarshalJSON reads a duration's text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*d = Duration{}
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as its text.
func (d Duration) MarshalYAML() (any, error) { return d.Text, nil }
