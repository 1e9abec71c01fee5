package postgres

import (
	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Type is the connector's name in a destination's `type:`.
const Type = "postgres"

// Spec is the PostgreSQL table connector's declaration.
var Spec = destinations.Spec{
	Type:  Type,
	Title: "PostgreSQL table",
	Description: "Keeps a table of another PostgreSQL database in step with a segment: one row per person, " +
		"upserted on the match key, deleted when they leave or are erased. Creates the table and missing columns.",
	Config: []destinations.ConfigField{
		{Name: "dsn", Type: destinations.ConfigString, Required: true, Secret: true,
			Description: "the database, as a postgres:// URL or key=value string; it is also the endpoint a test or a proxy changes"},
		{Name: "table", Type: destinations.ConfigString, Required: true,
			Description: "the table to write, as name or schema.name (lower-case letters, digits and _)"},
		{Name: "column_types", Type: destinations.ConfigMap,
			Description: "SQL types for columns the connector creates, e.g. {ltv: numeric(12,2)}; otherwise taken from the values"},
	},
	// The data stays inside the company, so no consent purpose is needed;
	// where the database runs is not known, so, as for a webhook, it counts
	// as outside the EU/EEA unless the destination says `region: eu`.
	Region:   "unknown",
	Internal: true,
	Modes:    []destinations.Mode{destinations.Upsert, destinations.Mirror, destinations.Insert},
	// A delete for mirror removals and for erasure requests.
	CanDelete: true,
	CanErase:  true,
	// Any column name may be the key; these are the usual ones.
	Match: []destinations.Field{
		{Name: "email", Type: destinations.String},
		{Name: "profile_id", Type: destinations.String},
		{Name: "customer_id", Type: destinations.String},
	},
	MatchCustom: true,
	Custom: &destinations.Custom{
		Description: "any column: lower-case letters, digits and _, starting with a letter or _, at most 63 characters",
		Pattern:     `^[a-z_][a-z0-9_]{0,62}$`,
	},
	Limits: destinations.Limits{
		// One statement per batch (arrays, not one parameter per value).
		BatchRecords: 5000,
		BatchBytes:   16 << 20,
		Concurrency:  2,
	},
}

func init() { destinations.Register(Spec, Open) }
