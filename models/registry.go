package models

import (
	"context"
	"errors"
	"strings"
)

// What validation knows of the code compiled into the binary: models
// imports no warehouse or destination package; the engine wires these to
// their registries (engine/wiring.go). Left nil, the check they feed is
// skipped.
var (
	// Warehouses lists the warehouse types a project may name, each with
	// the keys of `warehouse:` it cannot open without ("dsn", "project").
	Warehouses func() []WarehouseKind
	// DestinationTypes lists the destination types a project may name.
	DestinationTypes func() []string
	// PatternLimits are the regular-expression constructs some warehouse
	// cannot run: an exclude pattern must keep to what every one accepts.
	PatternLimits func() []PatternLimit
	// CheckDestination checks a destination's region and config against
	// its connector's declared spec (required and unknown keys, types,
	// enumerations, regions).
	CheckDestination func(d *Destination) []KeyProblem
	// CheckSync checks a sync's mode, match and fields against the spec of
	// its destination's connector: keys it cannot match on, fields it does
	// not have or cannot hold (traitType gives a trait's declared type, ""
	// when not declared).
	CheckSync func(s *Sync, d *Destination, traitType func(trait string) string) []KeyProblem
	// DestinationRegion is the region a destination's data lives in (its
	// region:, else what its config or connector implies) and whether that
	// is outside the EU/EEA, where only people with transfer consent go.
	DestinationRegion func(d *Destination) (region string, outsideEEA bool)
)

// KeyProblem is one problem with a definition, and the key of its YAML it
// is about ("config.api_key", "fields.FNAME"; "" for the definition).
type KeyProblem struct {
	Key string
	Msg string
}

// WarehouseKind is a registered warehouse type and the keys it needs.
type WarehouseKind struct {
	Type  string
	Needs []string
	// Instead are keys that, given together, stand in for a needed one
	// (Snowflake's account, user and private_key_path for its dsn).
	Instead map[string]KeySet
}

// KeySet is keys of `warehouse:` that go together, and what they are for.
type KeySet struct {
	Keys []string
	For  string // "key-pair authentication"
}

// PatternLimit is a construct one warehouse's regular expressions lack.
type PatternLimit struct {
	Contains []string // any of these in a pattern uses the construct
	// Problem says what is wrong and what to write instead; %s is the
	// construct found.
	Problem string
}

// neededKeyHints say how to fill a key a warehouse type needs.
var neededKeyHints = map[string]string{
	"dsn":     " (e.g. dsn: ${COHORT_WAREHOUSE_DSN})",
	"project": " (the GCP project id)",
}

func warehouseTypes() []string {
	var types []string
	for _, k := range Warehouses() {
		types = append(types, k.Type)
	}
	return types
}

func warehouseKind(typ string) WarehouseKind {
	for _, k := range Warehouses() {
		if k.Type == typ {
			return k
		}
	}
	return WarehouseKind{Type: typ}
}

// patternLimit is the first limit a pattern breaks, as a problem, or "".
func patternLimit(pat string) string {
	if PatternLimits == nil {
		return ""
	}
	for _, l := range PatternLimits() {
		for _, c := range l.Contains {
			if strings.Contains(pat, c) {
				if strings.Contains(l.Problem, "%s") {
					return strings.Replace(l.Problem, "%s", c, 1)
				}
				return l.Problem
			}
		}
	}
	return ""
}

// Catalog is what CheckWarehouse reads of a warehouse: the column names of
// a table or of a query's result.
type Catalog interface {
	// TableColumns lists a table's columns in order, or an error wrapping
	// ErrNoTable when it does not exist; table may be schema-qualified.
	TableColumns(ctx context.Context, table string) ([]string, error)
	// QueryColumns lists the columns a read-only query returns.
	QueryColumns(ctx context.Context, query string) ([]string, error)
}

// ErrNoTable says a table does not exist.
var ErrNoTable = errors.New("table does not exist")

// andList is "a, b and c".
func andList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
