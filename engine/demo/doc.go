// Package demo generates a realistic, dirty, deterministic demo webshop in a
// warehouse (schema raw), with the truth behind every identifier (schema
// demo_truth), and writes the demo project's YAML files that describe it.
package demo
