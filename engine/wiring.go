package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/models"
)

// models validates against what is compiled in without importing it: the
// registered dialects and destinations, read when a project is validated
// (after every package has registered itself).
func init() {
	models.Warehouses = registeredWarehouses
	models.DestinationTypes = destinations.Types
	models.PatternLimits = regexpLimits
	dialects.MaskMessage = models.MaskValuesIn
}

func registeredWarehouses() []models.WarehouseKind {
	var kinds []models.WarehouseKind
	for _, name := range dialects.Names() {
		drv, err := dialects.Lookup(name)
		if err != nil {
			continue
		}
		kind := models.WarehouseKind{Type: name, Needs: drv.Needs}
		for key, set := range drv.Instead {
			if kind.Instead == nil {
				kind.Instead = map[string]models.KeySet{}
			}
			kind.Instead[key] = models.KeySet{Keys: set.Keys, For: set.For}
		}
		kinds = append(kinds, kind)
	}
	return kinds
}

// regexpLimits are the constructs any registered dialect cannot run.
func regexpLimits() []models.PatternLimit {
	var limits []models.PatternLimit
	for _, name := range dialects.Names() {
		drv, err := dialects.Lookup(name)
		if err != nil {
			continue
		}
		if l, ok := drv.Dialect.(dialects.RegexpLimiter); ok {
			for _, r := range l.RegexpLimits() {
				limits = append(limits, models.PatternLimit{Contains: r.Contains, Problem: r.Problem})
			}
		}
	}
	return limits
}

// Catalog is a warehouse as models.CheckWarehouse reads it.
func Catalog(wh dialects.Warehouse) models.TypedCatalog { return catalog{wh} }

type catalog struct{ wh dialects.Warehouse }

func (c catalog) TableColumns(ctx context.Context, table string) ([]string, error) {
	cols, err := c.wh.Columns(ctx, table)
	if errors.Is(err, dialects.ErrNoTable) {
		return nil, fmt.Errorf("%w: %w", models.ErrNoTable, err)
	}
	return columnNames(cols), err
}

func (c catalog) QueryColumns(ctx context.Context, query string) ([]string, error) {
	cols, err := c.wh.QueryColumns(ctx, query)
	return columnNames(cols), err
}

func (c catalog) ColumnTypes(ctx context.Context, table, query string) ([]models.ColumnType, error) {
	var cols []dialects.Column
	var err error
	if table != "" {
		cols, err = c.wh.Columns(ctx, table)
	} else {
		cols, err = c.wh.QueryColumns(ctx, query)
	}
	out := make([]models.ColumnType, len(cols))
	for i, col := range cols {
		out[i] = models.ColumnType{Name: col.Name, Type: col.Type}
	}
	return out, err
}

func (c catalog) Cast(expr, typ string) string {
	return "CAST(" + expr + " AS " + c.wh.Dialect().TypeName(dialects.Type(typ)) + ")"
}

func (c catalog) Quote(name string) string { return c.wh.Dialect().Quote(name) }

func columnNames(cols []dialects.Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}
