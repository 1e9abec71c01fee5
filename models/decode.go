package models

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/goccy/go-yaml/ast"
)

// posKey names one value of a definition: the definition (a pointer) and the
// dotted path of the key below it ("from.1", "match.email").
type posKey struct {
	obj  any
	path string
}

// positions remembers where every decoded value stands, so that validation
// can point at the exact value, not only at its definition. A value the
// decoder could not read (and reported) is also keyed by unreadMark.
type positions map[posKey]Pos

// unreadMark is the obj of a posKey marking obj's value under path as
// written but unreadable: validation sees it unset, and must not report it
// again as missing (before: 1.5h is an invalid duration, not "no value").
type unreadMark struct{ obj any }

// positioned is every definition type: they embed Pos.
type positioned interface{ position() Pos }

func (p Pos) position() Pos { return p }

// decoder turns a YAML syntax tree into the project's Go types strictly:
// unknown keys and values of the wrong shape are errors at their line and
// column. It collects every error instead of stopping at the first.
type decoder struct {
	file    string
	errs    *ErrorList
	pos     positions
	anchors map[string]ast.Node
	aliases int // guards against alias loops
	getenv  func(string) (string, bool)
	// misplaced names keys of the file's top mapping that belong in
	// another file, with the hint to give.
	misplaced map[string]string
	depth     int // of the mapping being decoded: 1 is the file's top
}

func newDecoder(file string, errs *ErrorList, pos positions) *decoder {
	return &decoder{file: file, errs: errs, pos: pos, anchors: map[string]ast.Node{}, getenv: os.LookupEnv}
}

func (d *decoder) at(n ast.Node) Pos {
	switch v := n.(type) {
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return d.at(v.Values[0])
		}
	case *ast.MappingValueNode:
		return d.at(v.Key)
	case *ast.AnchorNode:
		return d.at(v.Value)
	case *ast.TagNode:
		return d.at(v.Value)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (d *decoder) errorf(n ast.Node, format string, args ...any) {
	d.errs.add(d.at(n), format, args...)
}

// resolve strips anchors and tags and follows aliases.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			if v.Name != nil {
				d.anchors[v.Name.GetToken().Value] = v.Value
			}
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			name := v.Value.GetToken().Value
			target, ok := d.anchors[name]
			if !ok {
				d.errorf(v, "unknown anchor %q (define it with &%s before using *%s)", name, name, name)
				return nil
			}
			d.aliases++
			if d.aliases > 10000 {
				d.errorf(v, "too many aliases")
				return nil
			}
			n = target
		default:
			return n
		}
	}
}

// kind describes a node for error messages without printing its value,
// which may be a secret.
func kind(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "text"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "true/false"
	case *ast.NullNode:
		return "nothing"
	}
	return "an unexpected value"
}

// pairs lists a mapping's key/value pairs, merge keys (<<) expanded.
func (d *decoder) pairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	var vals []*ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		vals = v.Values
	case *ast.MappingValueNode:
		vals = []*ast.MappingValueNode{v}
	default:
		return nil, false
	}
	// merged pairs come first, so the mapping's own keys override them
	var merged, out []*ast.MappingValueNode
	for _, mv := range vals {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			src := d.resolve(mv.Value)
			var srcs []ast.Node
			if seq, ok := src.(*ast.SequenceNode); ok {
				for _, s := range seq.Values {
					srcs = append(srcs, d.resolve(s))
				}
			} else {
				srcs = append(srcs, src)
			}
			for _, s := range srcs {
				inner, ok := d.pairs(s)
				if !ok {
					d.errorf(mv.Value, "<< merges a mapping, got %s", kind(s))
					continue
				}
				merged = append(merged, inner...)
			}
			continue
		}
		out = append(out, mv)
	}
	return append(merged, out...), true
}

// scalarText is the text of a scalar node, and whether it is text that
// interpolation applies to.
func scalarText(n ast.Node) (text string, isString bool, ok bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true, true
	case *ast.LiteralNode:
		return v.Value.Value, true, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, false, true
	}
	return "", false, false
}

// interpolate replaces ${NAME} and ${NAME:-default} by environment
// variables; $${ is a literal ${.
func (d *decoder) interpolate(n ast.Node, s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			d.errorf(n, "unclosed ${ (write ${NAME} or ${NAME:-default}; $${ for a literal ${)")
			return ""
		}
		ref := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			d.errorf(n, "bad variable reference ${%s} (write ${NAME} or ${NAME:-default})", ref)
			continue
		}
		v, ok := d.getenv(name)
		switch {
		case ok && (v != "" || !hasDef):
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			d.errorf(n, "environment variable %s is not set (set it, or give a default: ${%s:-value})", name, name)
		}
	}
	return b.String()
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

var (
	posType        = reflect.TypeFor[Pos]()
	durationType   = reflect.TypeFor[Duration]()
	percentType    = reflect.TypeFor[Percent]()
	stringListType = reflect.TypeFor[StringList]()
	splitsType     = reflect.TypeFor[[]Split]()
	scheduleType   = reflect.TypeFor[Schedule]()
	positionedType = reflect.TypeFor[positioned]()
)

// nouns name the definition types in messages.
var nouns = map[reflect.Type]string{
	reflect.TypeFor[Project]():          "cohort.yaml",
	reflect.TypeFor[modelsFile]():       "a models file",
	reflect.TypeFor[WarehouseConfig]():  "warehouse",
	reflect.TypeFor[Source]():           "a source",
	reflect.TypeFor[SourceIdentifier](): "a source identifier",
	reflect.TypeFor[SourceColumn]():     "a source column",
	reflect.TypeFor[Identity]():         "identity",
	reflect.TypeFor[IdentifierRule]():   "an identifier rule",
	reflect.TypeFor[Trait]():            "a trait",
	reflect.TypeFor[Segment]():          "a segment",
	reflect.TypeFor[Condition]():        "a condition",
	reflect.TypeFor[EventCondition]():   "an event condition",
	reflect.TypeFor[CountBound]():       "count",
	reflect.TypeFor[Destination]():      "a destination",
	reflect.TypeFor[Sync]():             "a sync",
	reflect.TypeFor[Schedule]():         "schedule",
	reflect.TypeFor[Alert]():            "alert",
	reflect.TypeFor[Retention]():        "retention",
	reflect.TypeFor[Consent]():          "consent",
	reflect.TypeFor[Purpose]():          "a consent purpose",
}

type fieldInfo struct {
	index []int
	name  string
}

var fieldCache sync.Map // reflect.Type -> []fieldInfo

// fields lists the YAML keys of a struct type in declaration order.
func fields(t reflect.Type) []fieldInfo {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]fieldInfo)
	}
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" || !f.IsExported() || f.Type == posType {
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		out = append(out, fieldInfo{index: f.Index, name: tag})
	}
	fieldCache.Store(t, out)
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode fills v from n. owner is the nearest enclosing definition, path the
// key path below it; both key the positions table. A value left unset by an
// error is marked unread there.
func (d *decoder) decode(n ast.Node, v reflect.Value, owner any, path string) {
	errs := len(*d.errs)
	d.decodeValue(n, v, owner, path)
	if owner != nil && len(*d.errs) > errs && v.IsZero() {
		d.pos[posKey{unreadMark{owner}, path}] = d.at(d.resolve(n))
	}
}

func (d *decoder) decodeValue(n ast.Node, v reflect.Value, owner any, path string) {
	n = d.resolve(n)
	if n == nil {
		return
	}
	if owner != nil {
		d.pos[posKey{owner, path}] = d.at(n)
	}
	if _, null := n.(*ast.NullNode); null {
		v.SetZero()
		return
	}
	label := path
	if i := strings.LastIndexByte(label, '.'); i >= 0 {
		label = label[i+1:]
	}
	switch v.Type() {
	case durationType:
		text, _, ok := scalarText(n)
		if ok {
			text = d.interpolate(n, text)
		}
		if !ok {
			d.errorf(n, "%s: expected a duration such as 30m, 12h, 7d or 8w, got %s", label, kind(n))
			return
		}
		dur, err := ParseDuration(text)
		if err != nil {
			d.errorf(n, "%s: %v", label, err)
			return
		}
		v.Set(reflect.ValueOf(dur))
		return
	case percentType:
		text, isString, ok := scalarText(n)
		if ok && isString {
			text = d.interpolate(n, text)
		}
		pc, err := ParsePercent(text)
		if !ok || err != nil {
			d.errorf(n, "%s: expected a percentage like 10%% or 10, got %s", label, kind(n))
			return
		}
		v.SetFloat(float64(pc))
		return
	case stringListType:
		if _, seq := n.(*ast.SequenceNode); !seq {
			var s string
			d.decode(n, reflect.ValueOf(&s).Elem(), owner, path)
			v.Set(reflect.ValueOf(StringList{s}))
			return
		}
	case splitsType:
		d.decodeSplits(n, v, owner, path, label)
		return
	case scheduleType:
		if _, _, scalar := scalarText(n); scalar {
			var text string
			d.decode(n, reflect.ValueOf(&text).Elem(), owner, path)
			v.Set(reflect.ValueOf(Schedule{Cron: text}))
			return
		}
		if _, ok := d.pairs(n); !ok {
			d.errorf(n, "%s: expected a cron line, @every DURATION or {after: run}, got %s", label, kind(n))
			return
		}
	}

	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		o, p := owner, path
		if v.Type().Implements(positionedType) {
			o, p = elem.Interface(), ""
			d.pos[posKey{o, ""}] = d.at(n)
		}
		d.decode(n, elem.Elem(), o, p)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, owner, path)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errorf(n, "%s: expected a list, got %s", label, kind(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			d.decode(item, s.Index(i), owner, join(path, strconv.Itoa(i)))
		}
		v.Set(s)
	case reflect.Map:
		ps, ok := d.pairs(n)
		if !ok {
			d.errorf(n, "%s: expected a mapping, got %s", label, kind(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(ps))
		for _, mv := range ps {
			key, _, _ := scalarText(d.resolve(mv.Key))
			val := reflect.New(v.Type().Elem()).Elem()
			d.decode(mv.Value, val, owner, join(path, key))
			m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), val)
		}
		v.Set(m)
	case reflect.Interface:
		if val := d.decodeAny(n); val != nil {
			v.Set(reflect.ValueOf(val))
		}
	case reflect.String:
		text, isString, ok := scalarText(n)
		if !ok {
			d.errorf(n, "%s: expected text, got %s", label, kind(n))
			return
		}
		if isString {
			text = d.interpolate(n, text)
		}
		if i := strings.IndexFunc(text, unicode.IsControl); i >= 0 && label != "sql" && label != "description" {
			// Names, tables, columns ... end up in SQL and in its comments.
			// The value is not quoted: it may hold a secret read from the environment.
			d.errorf(n, "%s: the value holds a control character (%q at byte %d): only sql and description may span lines", label, text[i:i+1], i)
		}
		v.SetString(text)
	case reflect.Int, reflect.Int64:
		text, isString, ok := scalarText(n)
		if ok && isString {
			text = d.interpolate(n, text)
		}
		i, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if _, float := n.(*ast.FloatNode); !ok || float || err != nil {
			d.errorf(n, "%s: expected a whole number, got %s", label, kind(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		text, isString, ok := scalarText(n)
		if ok && isString {
			text = d.interpolate(n, text)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if !ok || err != nil {
			d.errorf(n, "%s: expected a number, got %s", label, kind(n))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		text, isString, ok := scalarText(n)
		_, isBool := n.(*ast.BoolNode)
		if ok && isString {
			text = d.interpolate(n, text)
			isBool = text == "true" || text == "false"
		}
		if !isBool {
			d.errorf(n, "%s: expected true or false, got %s", label, kind(n))
			return
		}
		v.SetBool(text == "true" || text == "True" || text == "TRUE")
	default:
		d.errorf(n, "%s: cannot decode into %s", label, v.Type())
	}
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, owner any, path string) {
	t := v.Type()
	noun := nouns[t]
	if noun == "" {
		noun = strings.ToLower(t.Name())
	}
	ps, ok := d.pairs(n)
	if !ok {
		d.errorf(n, "%s: expected a mapping, got %s", strings.TrimPrefix(strings.TrimPrefix(noun, "a "), "an "), kind(n))
		return
	}
	if f, ok := t.FieldByName("Pos"); ok && f.Anonymous && f.Type == posType {
		v.FieldByIndex(f.Index).Set(reflect.ValueOf(d.at(n)))
	}
	fs := fields(t)
	d.depth++
	defer func() { d.depth-- }()
	for _, mv := range ps {
		keyNode := d.resolve(mv.Key)
		key, _, ok := scalarText(keyNode)
		if !ok {
			d.errorf(mv.Key, "a key must be text, got %s", kind(keyNode))
			continue
		}
		var field *fieldInfo
		for i := range fs {
			if fs[i].name == key {
				field = &fs[i]
				break
			}
		}
		if field == nil {
			d.unknownKey(mv.Key, key, noun, fs)
			continue
		}
		d.decode(mv.Value, v.FieldByIndex(field.index), owner, join(path, key))
	}
}

func (d *decoder) unknownKey(n ast.Node, key, noun string, fs []fieldInfo) {
	if hint, ok := d.misplaced[key]; ok && d.depth == 1 {
		d.errorf(n, "key %q does not belong in %s: %s", key, noun, hint)
		return
	}
	known := make([]string, len(fs))
	for i, f := range fs {
		known[i] = f.name
	}
	if c := closest(key, known); c != "" {
		d.errorf(n, "unknown key %q in %s (did you mean %q?)", key, noun, c)
		return
	}
	if noun == nouns[reflect.TypeFor[Destination]()] {
		d.errorf(n, "unknown key %q in %s: connector settings go under config (known keys: %s)", key, noun, strings.Join(known, ", "))
		return
	}
	d.errorf(n, "unknown key %q in %s (known keys: %s)", key, noun, strings.Join(known, ", "))
}

// decodeAny keeps YAML's types: text, int64, float64, bool, []any and
// map[string]any. Text that looks like a timestamp stays text.
func (d *decoder) decodeAny(n ast.Node) any {
	n = d.resolve(n)
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.StringNode:
		return d.interpolate(n, v.Value)
	case *ast.LiteralNode:
		return d.interpolate(n, v.Value.Value)
	case *ast.IntegerNode:
		switch i := v.Value.(type) {
		case int64:
			return i
		case uint64:
			if i <= math.MaxInt64 {
				return int64(i)
			}
			return float64(i)
		}
		return v.GetValue()
	case *ast.FloatNode:
		return v.Value
	case *ast.InfinityNode:
		return v.Value
	case *ast.NanNode:
		return math.NaN()
	case *ast.BoolNode:
		return v.Value
	case *ast.SequenceNode:
		out := make([]any, len(v.Values))
		for i, item := range v.Values {
			out[i] = d.decodeAny(item)
		}
		return out
	case *ast.MappingNode, *ast.MappingValueNode:
		ps, _ := d.pairs(n)
		out := make(map[string]any, len(ps))
		for _, mv := range ps {
			key, _, _ := scalarText(d.resolve(mv.Key))
			out[key] = d.decodeAny(mv.Value)
		}
		return out
	}
	d.errorf(n, "unexpected value")
	return nil
}

func (d *decoder) decodeSplits(n ast.Node, v reflect.Value, owner any, path, label string) {
	ps, ok := d.pairs(n)
	if !ok {
		d.errorf(n, "%s: expected a mapping of arm names to weights, like {a: 50, b: 50}, got %s", label, kind(n))
		return
	}
	splits := make([]Split, 0, len(ps))
	for _, mv := range ps {
		name, _, _ := scalarText(d.resolve(mv.Key))
		var w int
		before := len(*d.errs)
		d.decode(mv.Value, reflect.ValueOf(&w).Elem(), owner, join(path, name))
		if len(*d.errs) > before {
			continue
		}
		splits = append(splits, Split{Name: name, Weight: w})
	}
	v.Set(reflect.ValueOf(splits))
}

// ParseDuration reads a project duration: a whole number and a unit,
// m (minutes), h (hours), d (days) or w (weeks).
func ParseDuration(text string) (Duration, error) {
	s := strings.TrimSpace(text)
	if len(s) < 2 {
		return Duration{}, fmt.Errorf("invalid duration %q: write 30m, 12h, 7d or 8w", text)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	default:
		return Duration{}, fmt.Errorf("invalid duration %q: the unit is m, h, d or w, as in 30m, 12h, 7d, 8w", text)
	}
	num := s[:len(s)-1]
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || num[0] == '+' || n > int64(math.MaxInt64/unit) {
		return Duration{}, fmt.Errorf("invalid duration %q: write a positive whole number before the unit", text)
	}
	return Duration{D: time.Duration(n) * unit, Text: s}, nil
}

// ParsePercent reads "10%", "12.5%" or a plain number.
func ParsePercent(text string) (Percent, error) {
	s := strings.TrimSpace(text)
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid percentage %q: write 10%% or 10", text)
	}
	return Percent(f), nil
}
