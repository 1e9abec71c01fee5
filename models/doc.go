// Package models owns the YAML project: its Go types, loading with positions,
// environment interpolation, strict decoding and validation that reports every
// error as file:line:col: message.
//
// A command reads a project in three steps, each returning an ErrorList (every
// problem at once, sorted by place) or nil:
//
//	p, err := models.Load(dir)             // read, decode strictly, interpolate ${ENV}
//	err = models.Validate(p)               // everything checkable without a warehouse
//	err = models.CheckWarehouse(ctx, p, wh) // tables and columns exist
//
// Segments written in the UI go through ParseSegment and ValidateSegment.
package models
