// Package models owns the YAML project: its Go types, loading with positions,
// environment interpolation, strict decoding and validation that reports every
// error as file:line:col: message.
package models
