package destinations

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Spec is what a connector declares once. Validation, `cohort
// destinations`, the docs and the UI's form all come from it, and the sync
// engine batches, paces and retries by it.
type Spec struct {
	Type        string // as written in `type:`, e.g. "klaviyo"
	Title       string // for people, e.g. "Klaviyo"
	Description string

	Config []ConfigField

	// Region is where the vendor keeps the data unless the destination's
	// `region:` says otherwise; Regions lists the regions it offers ("eu",
	// "us", ...), empty when any is accepted.
	Region  string
	Regions []string
	// RegionFrom, when set, derives the region from the config, for vendors
	// where the account's instance decides where data lives (Braze's
	// EU-01 is in the EU whatever `region:` says). A `region:` that
	// disagrees with it is a config error; when absent it is taken from here.
	RegionFrom func(config map[string]any) string
	// Internal: the data stays inside the company (its own database or
	// service), so a sync needs no consent purpose.
	Internal bool

	Modes     []Mode
	CanDelete bool // can take people off the audience (mirror, withdrawn consent)
	CanErase  bool // implements Eraser

	// Match lists the keys a sync's `match:` may use; at least one must be
	// given, and MatchRequired ones always.
	Match         []Field
	MatchRequired []string
	// MatchCustom: a match key may also be any name the Custom rule
	// accepts (a database table keyed on a column of the user's choosing).
	MatchCustom bool
	// Fields are the vendor's standard fields a sync's `fields:` may fill.
	Fields []Field
	// Custom says which other field names the vendor takes (custom
	// properties, merge fields, attributes); nil when none.
	Custom *Custom

	Limits Limits
}

// Limits drive batching, pacing and concurrency in the sync engine.
type Limits struct {
	BatchRecords int           // records per Write
	BatchBytes   int           // encoded records per Write (Size of each record added up); 0 = no limit
	Requests     int           // at most this many Writes ...
	Per          time.Duration // ... per this interval (token bucket); 0 = unpaced
	Concurrency  int           // Writes in flight at once; 0 = 1
}

// ConfigType is the type of a config value.
type ConfigType string

// Config value types.
const (
	ConfigString ConfigType = "string"
	ConfigInt    ConfigType = "integer"
	ConfigBool   ConfigType = "boolean"
	ConfigMap    ConfigType = "map" // of strings, e.g. extra headers
	ConfigList   ConfigType = "list"
)

// ConfigField is one key of a destination's `config:`.
type ConfigField struct {
	Name        string
	Type        ConfigType
	Description string
	Required    bool
	Secret      bool // never printed back; comes from ${ENV}
	Default     any
	Enum        []string // allowed values, for strings
}

// FieldType is the type a vendor field holds; values are coerced to it.
type FieldType string

// Field types.
const (
	String    FieldType = "string"
	Number    FieldType = "number"
	Integer   FieldType = "integer"
	Boolean   FieldType = "boolean"
	Timestamp FieldType = "timestamp" // RFC 3339 text
	Date      FieldType = "date"      // 2006-01-02 text
	Any       FieldType = "any"       // as the trait is: text, number, boolean or timestamp
)

// Field is a vendor field a sync may map a trait to.
type Field struct {
	Name        string
	Type        FieldType
	Description string
	MaxLength   int // for strings, 0 = no limit
}

// Custom describes the custom fields a vendor accepts.
type Custom struct {
	Description string
	Pattern     string      // regular expression a name must match; "" = any
	Types       []FieldType // types it can hold; empty = Any
	MaxLength   int
}

// Types the config value types a Go value decoded from YAML may have.
func configTypeOf(v any) ConfigType {
	switch v.(type) {
	case string:
		return ConfigString
	case int, int64, uint64, float64:
		return ConfigInt
	case bool:
		return ConfigBool
	case map[string]any:
		return ConfigMap
	case []any:
		return ConfigList
	}
	return ""
}

// RegionOf is the region a destination's data lives in: its `region:`,
// else the one its config implies (RegionFrom), else the spec's default.
func (s *Spec) RegionOf(region string, cfg map[string]any) string {
	if region == "" && s.RegionFrom != nil {
		region = s.RegionFrom(cfg)
	}
	if region == "" {
		region = s.Region
	}
	return strings.ToLower(region)
}

// ConfigField returns the config field named n, or nil.
func (s *Spec) ConfigField(n string) *ConfigField {
	for i := range s.Config {
		if s.Config[i].Name == n {
			return &s.Config[i]
		}
	}
	return nil
}

// Problem is one thing wrong in a destination or sync, with the key it is
// about so the caller can point at the YAML line.
type Problem struct {
	Key string // e.g. "config.api_key", "region", "fields.FNAME"
	Msg string
}

func (p Problem) Error() string { return p.Key + ": " + p.Msg }

// CheckConfig checks a destination's region and config against the spec:
// required keys, unknown keys, types and enumerations.
func (s *Spec) CheckConfig(region string, cfg map[string]any) []Problem {
	var ps []Problem
	if region != "" && len(s.Regions) > 0 && !contains(s.Regions, strings.ToLower(region)) {
		ps = append(ps, Problem{"region", fmt.Sprintf("%s has no region %q (one of %s)", s.Title, region, strings.Join(s.Regions, ", "))})
	}
	if s.RegionFrom != nil && region != "" {
		if d := s.RegionFrom(cfg); d != "" && d != strings.ToLower(region) {
			ps = append(ps, Problem{"region", fmt.Sprintf("%s keeps this account's data in region %s (it follows from the config), not %s: drop region: or write %s", s.Title, d, region, d)})
		}
	}
	for _, f := range s.Config {
		v, ok := cfg[f.Name]
		if !ok || v == nil || v == "" {
			if f.Required && f.Default == nil {
				ps = append(ps, Problem{"config." + f.Name, fmt.Sprintf("%s needs %s: %s", s.Title, f.Name, f.Description)})
			}
			continue
		}
		if t := configTypeOf(v); t != f.Type && !(f.Type == ConfigString && t == ConfigInt) {
			ps = append(ps, Problem{"config." + f.Name, fmt.Sprintf("want a %s, got %v", f.Type, printable(f, v))})
			continue
		}
		if len(f.Enum) > 0 && !contains(f.Enum, fmt.Sprint(v)) {
			ps = append(ps, Problem{"config." + f.Name, fmt.Sprintf("%v is not one of %s", printable(f, v), strings.Join(f.Enum, ", "))})
		}
	}
	var unknown []string
	for k := range cfg {
		if s.ConfigField(k) == nil {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		var names []string
		for _, f := range s.Config {
			names = append(names, f.Name)
		}
		ps = append(ps, Problem{"config." + k, fmt.Sprintf("%s has no config key %q (known: %s)", s.Title, k, strings.Join(names, ", "))})
	}
	return ps
}

func printable(f ConfigField, v any) string {
	if f.Secret {
		return "(secret)"
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}

// CheckMapping checks a sync's mode, match and fields against the spec.
// traitType gives the type of a trait ("text", "integer", "number",
// "boolean", "timestamp"), "" when unknown.
func (s *Spec) CheckMapping(mode Mode, match, fields map[string]string, traitType func(string) string) []Problem {
	var ps []Problem
	if mode != "" && !containsMode(s.Modes, mode) {
		ps = append(ps, Problem{"mode", fmt.Sprintf("%s does not support mode %s (supported: %s)", s.Title, mode, joinModes(s.Modes))})
	}
	if mode == Mirror && !s.CanDelete {
		ps = append(ps, Problem{"mode", fmt.Sprintf("%s cannot remove people, so mode mirror is not possible: use upsert", s.Title)})
	}
	if len(match) == 0 {
		ps = append(ps, Problem{"match", fmt.Sprintf("%s needs a match key (one of %s)", s.Title, fieldNames(s.Match))})
	}
	for _, k := range sortedKeys(match) {
		if findField(s.Match, k) == nil && !(s.MatchCustom && s.customName(k)) {
			ps = append(ps, Problem{"match." + k, fmt.Sprintf("%s cannot match on %q (one of %s)", s.Title, k, fieldNames(s.Match))})
		}
	}
	for _, k := range s.MatchRequired {
		if _, ok := match[k]; !ok && len(match) > 0 {
			ps = append(ps, Problem{"match", fmt.Sprintf("%s needs match key %q", s.Title, k)})
		}
	}
	for _, k := range sortedKeys(fields) {
		t, err := s.FieldType(k)
		if err != nil {
			ps = append(ps, Problem{"fields." + k, err.Error()})
			continue
		}
		if tt := traitType(fields[k]); tt != "" && !canHold(t, tt) {
			ps = append(ps, Problem{"fields." + k, fmt.Sprintf("%s field %s holds a %s; trait %s is a %s", s.Title, k, t, fields[k], tt)})
		}
	}
	return ps
}

// FieldType is the type of a standard or custom field named n, or an error
// saying the vendor has no such field.
func (s *Spec) FieldType(n string) (FieldType, error) {
	if f := findField(s.Fields, n); f != nil {
		return f.Type, nil
	}
	if f := findField(s.Match, n); f != nil {
		return f.Type, nil
	}
	if s.Custom == nil {
		return "", fmt.Errorf("%s has no field %q (standard fields: %s; it takes no custom fields)", s.Title, n, fieldNames(s.Fields))
	}
	if !s.customName(n) {
		return "", fmt.Errorf("%s has no standard field %q, and %q is not a valid custom field name (%s)", s.Title, n, n, s.Custom.Description)
	}
	if len(s.Custom.Types) == 1 {
		return s.Custom.Types[0], nil
	}
	return Any, nil
}

// customName reports whether n is a valid custom field name.
func (s *Spec) customName(n string) bool {
	return s.Custom != nil && (s.Custom.Pattern == "" || pattern(s.Custom.Pattern).MatchString(n))
}

// patterns holds the custom-name patterns compiled so far: connectors ask
// FieldType for every field of every record.
var patterns sync.Map

func pattern(p string) *regexp.Regexp {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(p)
	patterns.Store(p, re)
	return re
}

// canHold reports whether a vendor field of type t can hold a trait of
// warehouse type trait.
func canHold(t FieldType, trait string) bool {
	switch t {
	case Any, String:
		return true
	case Number:
		return trait == "integer" || trait == "number"
	case Integer:
		return trait == "integer"
	case Boolean:
		return trait == "boolean"
	case Timestamp, Date:
		return trait == "timestamp"
	}
	return false
}

// InEEA reports whether a region keeps data inside the EU/EEA: "eu", an
// "eu-..." instance, or an EEA country code.
func InEEA(region string) bool {
	r := strings.ToLower(strings.TrimSpace(region))
	if r == "eu" || strings.HasPrefix(r, "eu-") || strings.HasPrefix(r, "eu_") {
		return true
	}
	return contains(eea, r)
}

var eea = []string{"at", "be", "bg", "hr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "gr", "hu", "ie", "it", "lv",
	"lt", "lu", "mt", "nl", "pl", "pt", "ro", "sk", "si", "es", "se", "is", "li", "no"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsMode(list []Mode, m Mode) bool {
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}

func joinModes(ms []Mode) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

func findField(fs []Field, n string) *Field {
	for i := range fs {
		if fs[i].Name == n {
			return &fs[i]
		}
	}
	return nil
}

func fieldNames(fs []Field) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.Name
	}
	return strings.Join(s, ", ")
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// IsInternal reports whether a destination of this spec, configured with
// cfg, keeps the data inside the company: the spec says so (postgres), or it
// has an `internal` config key set to true (webhook). A sync to an internal
// destination needs no consent purpose.
func (s *Spec) IsInternal(cfg map[string]any) bool {
	if s.Internal {
		return true
	}
	b, _ := cfg["internal"].(bool)
	return b && s.ConfigField("internal") != nil
}
