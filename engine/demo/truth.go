package demo

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/models"
)

// TestEmailPattern matches the team's test e-mails (normalized), as the demo
// project's identity rules exclude them.
const TestEmailPattern = `^test@|@example\.com$`

// projectRules are the demo project's sources and identity rules, read from
// the embedded YAML: the truth is computed over exactly the identifier
// columns and normalizations the project declares.
func projectRules() ([]*models.Source, models.Identity, error) {
	var src struct {
		Sources []*models.Source `yaml:"sources"`
	}
	var id struct {
		Identity models.Identity `yaml:"identity"`
	}
	b, err := projectFS.ReadFile("project/models/sources.yaml")
	if err == nil {
		err = yaml.Unmarshal(b, &src)
	}
	if err != nil {
		return nil, models.Identity{}, fmt.Errorf("demo: embedded sources.yaml: %w", err)
	}
	b, err = projectFS.ReadFile("project/models/identity.yaml")
	if err == nil {
		err = yaml.Unmarshal(b, &id)
	}
	if err != nil {
		return nil, models.Identity{}, fmt.Errorf("demo: embedded identity.yaml: %w", err)
	}
	return src.Sources, id.Identity, nil
}

// rawIdentifiers is a query of every distinct normalized identifier the raw
// tables hold (identifier_type, identifier_value), NULLs left out. Each
// distinct raw value of a type is normalized once.
func rawIdentifiers(d dialects.Dialect, sources []*models.Source, rules models.Identity) string {
	var types []string
	columns := map[string][]string{}
	for _, s := range sources {
		for _, si := range s.Identifiers {
			if columns[si.Type] == nil {
				types = append(types, si.Type)
			}
			columns[si.Type] = append(columns[si.Type], fmt.Sprintf("SELECT %s AS v FROM %s", d.Quote(si.Column), quoteTable(d, s.Table)))
		}
	}
	var parts []string
	for _, typ := range types {
		norm := identity.NormalizeExpr(d, rules.Rule(typ), "v")
		parts = append(parts, fmt.Sprintf("SELECT '%s' AS identifier_type, %s AS identifier_value FROM (SELECT DISTINCT v FROM (\n    %s\n  ) r) d",
			typ, norm, strings.Join(columns[typ], "\n    UNION ALL ")))
	}
	return "SELECT DISTINCT identifier_type, identifier_value FROM (\n  " + strings.Join(parts, "\n  UNION ALL\n  ") +
		"\n) ids WHERE identifier_value IS NOT NULL"
}

func quoteTable(d dialects.Dialect, name string) string {
	schema, t := dialects.SplitTable(name)
	if schema == "" {
		return d.Quote(t)
	}
	return d.Quote(schema, t)
}

// junkTable lists identifiers that belong to no single person.
func rawIDsTable(raw string) table {
	return table{Schema: TruthSchema, Name: "_raw_ids", Columns: cols("identifier_type text, identifier_value text"), Work: true,
		Comment: "every distinct normalized identifier in the raw tables", Fill: raw}
}

// junkTable lists identifiers that belong to no single person.
var junkTable = table{Schema: TruthSchema, Name: "junk", Columns: cols("identifier_type text, identifier_value text, reason text"),
	Comment: "identifiers that are no one person's: the shared family tablet, shared info@ mailboxes, test accounts",
	Fill: `SELECT 'anonymous_id', lower(to_hex(hash(g.seed, 'family tablet'))), 'shared_device' FROM demo_truth.params g
UNION ALL
SELECT 'email', m.mailbox, 'shared_mailbox' FROM (VALUES ` + valuesList(SharedMailboxes) + `) m(mailbox)
UNION ALL
SELECT identifier_type, identifier_value, 'test_account' FROM demo_truth._raw_ids
WHERE identifier_type = 'email' AND regexp_matches(identifier_value, '` + TestEmailPattern + `')
UNION ALL
SELECT 'customer_id', customer_id, 'test_account' FROM demo_truth.accounts WHERE kind = 'test'`,
}

func valuesList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "('" + strings.ReplaceAll(v, "'", "''") + "')"
	}
	return strings.Join(q, ", ")
}

// identifiersTable is the truth: the one person behind every identifier that
// appears in the raw tables, unless it is junk.
var identifiersTable = table{Schema: TruthSchema, Name: "identifiers", Columns: cols("person_id integer, identifier_type text, identifier_value text"),
	Comment: "the true person behind every identifier in the raw tables, normalized as the demo project's identity rules do",
	Fill: `WITH owners AS ( -- whose each identifier is, from the generator's own records
  SELECT 'customer_id' AS identifier_type, customer_id AS identifier_value, person_id FROM demo_truth.accounts WHERE kind <> 'test'
  UNION ALL SELECT 'email', email, person_id FROM demo_truth.persons WHERE email IS NOT NULL
  UNION ALL SELECT 'phone', phone, person_id FROM demo_truth.persons WHERE phone IS NOT NULL
  UNION ALL SELECT 'anonymous_id', anonymous_id, person_id FROM demo_truth.cookies
  UNION ALL SELECT 'device_id', device_id, person_id FROM demo_truth.devices
)
SELECT o.person_id, r.identifier_type, r.identifier_value
FROM demo_truth._raw_ids r
JOIN owners o ON o.identifier_type = r.identifier_type AND o.identifier_value = r.identifier_value
WHERE NOT EXISTS (SELECT 1 FROM demo_truth.junk j WHERE j.identifier_type = r.identifier_type AND j.identifier_value = r.identifier_value)`,
}
