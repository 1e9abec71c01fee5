package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/cohort-cdp/cohort/dialects"
	_ "github.com/cohort-cdp/cohort/dialects/dialecttest" // registers the dialects
)

// TestMain wires the registries as the engine does (engine/wiring.go),
// with the warehouses the project format names, built or not, so that
// their required keys are checked here too; patterns from the real dialects.
func TestMain(m *testing.M) {
	Warehouses = func() []WarehouseKind {
		return []WarehouseKind{{Type: "duckdb"}, {Type: "postgres", Needs: []string{"dsn"}},
			{Type: "snowflake", Needs: []string{"dsn"}, Instead: map[string]KeySet{"dsn": {Keys: []string{"account", "user", "private_key_path"}, For: "key-pair authentication"}}},
			{Type: "bigquery", Needs: []string{"project"}}}
	}
	DestinationTypes = func() []string {
		return []string{"webhook", "klaviyo", "mailchimp", "hubspot", "meta_audiences",
			"google_customer_match", "braze", "customer_io", "slack", "postgres"}
	}
	PatternLimits = func() []PatternLimit {
		var out []PatternLimit
		for _, n := range dialects.Names() {
			drv, _ := dialects.Lookup(n)
			if l, ok := drv.Dialect.(dialects.RegexpLimiter); ok {
				for _, r := range l.RegexpLimits() {
					out = append(out, PatternLimit{Contains: r.Contains, Problem: r.Problem})
				}
			}
		}
		return out
	}
	os.Exit(m.Run())
}

// catalog reads a warehouse as CheckWarehouse does (engine.Catalog, which
// this package cannot import).
type catalog struct{ wh dialects.Warehouse }

func (c catalog) TableColumns(ctx context.Context, table string) ([]string, error) {
	cols, err := c.wh.Columns(ctx, table)
	if errors.Is(err, dialects.ErrNoTable) {
		return nil, fmt.Errorf("%w: %w", ErrNoTable, err)
	}
	return columnNames(cols), err
}

func (c catalog) QueryColumns(ctx context.Context, query string) ([]string, error) {
	cols, err := c.wh.QueryColumns(ctx, query)
	return columnNames(cols), err
}

func (c catalog) ColumnTypes(ctx context.Context, table, query string) ([]ColumnType, error) {
	var cols []dialects.Column
	var err error
	if table != "" {
		cols, err = c.wh.Columns(ctx, table)
	} else {
		cols, err = c.wh.QueryColumns(ctx, query)
	}
	var out []ColumnType
	for _, col := range cols {
		out = append(out, ColumnType{Name: col.Name, Type: col.Type})
	}
	return out, err
}

func (c catalog) Cast(expr, typ string) string {
	return "CAST(" + expr + " AS " + c.wh.Dialect().TypeName(dialects.Type(typ)) + ")"
}

func (c catalog) Quote(name string) string { return c.wh.Dialect().Quote(name) }

func columnNames(cols []dialects.Column) []string {
	var n []string
	for _, c := range cols {
		n = append(n, c.Name)
	}
	return n
}
