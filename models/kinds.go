package models

// Kinds: what a trait's values are (text, number, boolean, timestamp), so
// that a segment comparing a trait with a value of another kind is an error
// of validate (and of a preview of an unsaved definition), with its
// position, instead of a warehouse's Binder or Conversion Error at run.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Value kinds of traits.
const (
	KindText      = "text"
	KindNumber    = "number"
	KindBoolean   = "boolean"
	KindTimestamp = "timestamp"
)

// KindOf is the kind of a column of a warehouse type (as the warehouse names
// it: VARCHAR, character varying, BIGINT, double precision, TIMESTAMP WITH
// TIME ZONE ...), "" when it is none of them.
func KindOf(warehouseType string) string {
	t := strings.ToLower(warehouseType)
	switch {
	case strings.Contains(t, "timestamp") || strings.HasPrefix(t, "date") || strings.HasPrefix(t, "time"):
		return KindTimestamp
	case strings.Contains(t, "char") || strings.Contains(t, "text") || t == "string" || t == "uuid":
		return KindText
	case strings.HasPrefix(t, "bool"):
		return KindBoolean
	case strings.Contains(t, "int") || strings.HasPrefix(t, "numeric") || strings.HasPrefix(t, "decimal") ||
		strings.HasPrefix(t, "double") || t == "real" || strings.HasPrefix(t, "float"):
		return KindNumber
	}
	return ""
}

// kindOfType is the kind of a declared trait type (type: of a sql trait).
func kindOfType(typ string) string {
	if typ == "integer" {
		return KindNumber
	}
	return typ
}

// TraitKinds is the kind of every trait whose kind is known: from its
// definition (counts, sums, models, a declared type), and for picks, min
// and max from the kind of their source column that column gives ("" or a
// nil column: unknown). sql holds kinds found for sql traits without a type.
func TraitKinds(p *Project, column func(source, column string) string, sql map[string]string) map[string]string {
	kinds := map[string]string{}
	for _, t := range p.Traits {
		if t == nil {
			continue
		}
		var k string
		switch {
		case t.SQL != "" && t.Type != "":
			k = kindOfType(t.Type)
		case t.SQL != "":
			k = sql[t.Name]
		case t.Model == "rfm":
			k = KindText // the label; the scores are columns, not traits
		case t.Model == "churn_risk":
			k = KindNumber
		case t.Aggregate == "count" || t.Aggregate == "count_distinct" || t.Aggregate == "sum" || t.Aggregate == "avg":
			k = KindNumber
		case t.Normalize != "":
			k = KindText
		case len(t.From) > 0 && column != nil:
			src, col, _ := strings.Cut(t.From[0], ".")
			k = column(src, col)
		}
		if k != "" {
			kinds[t.Name] = k
		}
	}
	return kinds
}

// operandKinds checks every trait condition of s whose trait's kind is in
// kinds (and, when check is set, for which check says yes) against the
// kind of its operand.
func (c *checker) operandKinds(s *Segment, kinds map[string]string, check func(trait string) bool) {
	var walk func(cond *Condition, path string)
	walk = func(cond *Condition, path string) {
		if cond == nil {
			return
		}
		for i, x := range cond.All {
			walk(x, fmt.Sprintf("%s.all[%d]", path, i))
		}
		for i, x := range cond.Any {
			walk(x, fmt.Sprintf("%s.any[%d]", path, i))
		}
		walk(cond.Not, path+".not")
		k := kinds[cond.Trait]
		if cond.Trait == "" || k == "" || check != nil && !check(cond.Trait) {
			return
		}
		for _, op := range cond.Ops() {
			if msg := operandProblem(k, op); msg != "" {
				c.errf(cond, op.Name, "segment %q, %s.%s: trait %q holds %s, %s", s.Name, path, op.Name, cond.Trait, kindPlural(k), msg)
			}
		}
	}
	walk(s.Where, "where")
}

func kindPlural(k string) string {
	switch k {
	case KindNumber:
		return "numbers"
	case KindBoolean:
		return "true or false"
	case KindTimestamp:
		return "times"
	}
	return k
}

// operandProblem says what is wrong with op on a trait of kind k, or "".
func operandProblem(k string, op Op) string {
	switch op.Name {
	case "is_null":
		return ""
	case "before", "after", "within":
		if k != KindTimestamp {
			return fmt.Sprintf("and %s takes a time: compare it with eq, gt, lt ... instead", op.Name)
		}
		return ""
	case "contains", "starts_with":
		if k != KindText {
			return fmt.Sprintf("and %s only tests text", op.Name)
		}
		return ""
	case "gt", "gte", "lt", "lte", "between":
		if k == KindBoolean {
			return fmt.Sprintf("which have no order: use eq instead of %s", op.Name)
		}
	}
	values := []any{op.Value}
	if list, ok := op.Value.([]any); ok {
		values = list
	}
	ordered := op.Name == "gt" || op.Name == "gte" || op.Name == "lt" || op.Name == "lte" || op.Name == "between"
	for _, v := range values {
		if !isScalar(v) || ordered && !isOrdered(v) {
			continue // the operand's shape is reported by operators
		}
		if msg := valueProblem(k, v); msg != "" {
			return msg
		}
	}
	return ""
}

// valueProblem says why v cannot be compared with values of kind k, or "".
func valueProblem(k string, v any) string {
	switch k {
	case KindNumber:
		switch x := v.(type) {
		case int, int64, uint64, float64:
			return ""
		case string:
			if _, err := strconv.ParseFloat(x, 64); err == nil {
				return fmt.Sprintf("and %q is text: write the number without quotes (%s)", x, x)
			}
		}
		return fmt.Sprintf("and %s is not a number", show(v))
	case KindText:
		if _, ok := v.(string); ok {
			return ""
		}
		return fmt.Sprintf("and %s is not text: put it in quotes (\"%v\")", show(v), v)
	case KindBoolean:
		if _, ok := v.(bool); ok {
			return ""
		}
		return fmt.Sprintf("and %s is neither true nor false", show(v))
	case KindTimestamp:
		if s, ok := v.(string); ok && parseTime(s) {
			return ""
		}
		return fmt.Sprintf("and %s is not a date or time: write 2026-11-23 or 2026-11-23 10:00:00 (or use before, after, within)", show(v))
	}
	return ""
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// parseTime reports whether s is a date or a date and time as warehouses read them.
func parseTime(s string) bool {
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999",
		time.RFC3339, time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05.999999999Z07:00"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}
