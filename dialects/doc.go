// Package dialects owns what differs between warehouses: the Dialect (SQL
// text: quoting, types, table replacement, hashing) and the Warehouse (a
// connection that runs it), a registry of both by name, and the conformance
// suite every dialect passes.
package dialects
