package models

import (
	"reflect"
	"testing"
)

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"jan@gmail.com":        "j***@g***.com",
		"Jan.de.Vries@kpn.nl":  "J***@k***.nl",
		"+31612345678":         "+***78",
		"c_123":                "c***",
		"":                     "",
		"élodie@exemple.fr":    "é***@e***.fr",
		"no-at-sign@localhost": "n***@l***",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
		if got := Mask(want); got != want {
			t.Errorf("Mask(%q) = %q: masked again, it changed", want, got)
		}
	}
	if got := Mask("a***bcdef"); got != "a***ef" {
		t.Errorf("Mask(%q) = %q: a value with stars is masked all the same", "a***bcdef", got)
	}
}

// Personal data is what pii: true marks and every trait built from it, a
// sql trait over such a trait included.
func TestPersonal(t *testing.T) {
	p := &Project{
		Sources: []*Source{{Name: "crm", Columns: []*SourceColumn{{Name: "street", PII: true}, {Name: "tier"}}}},
		Traits: []*Trait{
			{Name: "street", From: StringList{"crm.street"}},
			{Name: "tier", From: StringList{"crm.tier"}},
			{Name: "label", SQL: "upper(street) || tier"},
			{Name: "label2", SQL: "label || '!'"},
			{Name: "streets", SQL: "streets_count"},
		},
	}
	pd := p.Personal()
	if want := map[string]bool{"street": true, "label": true, "label2": true}; !reflect.DeepEqual(pd.Traits, want) {
		t.Fatalf("personal traits %v, want %v", pd.Traits, want)
	}
	if !pd.Column("crm", "street") || pd.Column("crm", "tier") {
		t.Fatalf("personal columns %v", pd.Columns)
	}
}

// E-mail addresses and phone numbers are personal data as identifiers
// without pii: true, and so is an identifier a source reads from a pii:
// true column, in every source holding it; a customer number is not.
func TestPersonalIdentifiers(t *testing.T) {
	p := &Project{
		Sources: []*Source{
			{Name: "crm", Identifiers: []*SourceIdentifier{{Type: "customer_id", Column: "id"}, {Type: "contact", Column: "mail"}, {Type: "mobile_phone", Column: "mobile"}},
				Columns: []*SourceColumn{{Name: "passport", PII: true}}},
			{Name: "kyc", Identifiers: []*SourceIdentifier{{Type: "passport_no", Column: "passport"}, {Type: "customer_id", Column: "customer"}}, Columns: []*SourceColumn{{Name: "passport", PII: true}}},
			{Name: "travel", Identifiers: []*SourceIdentifier{{Type: "passport_no", Column: "doc"}}},
		},
		Identity: Identity{Identifiers: []*IdentifierRule{{Type: "customer_id"}, {Type: "contact", Normalize: "email"}, {Type: "passport_no"}}},
		Traits: []*Trait{
			{Name: "customer", From: StringList{"kyc.customer"}},
			{Name: "mobile", From: StringList{"crm.mobile"}},
			{Name: "work_mail", From: StringList{"crm.other"}, Normalize: "contact"},
		},
	}
	pd := p.Personal()
	if want := map[string]bool{"contact": true, "mobile_phone": true, "passport_no": true}; !reflect.DeepEqual(pd.Identifiers, want) {
		t.Fatalf("personal identifier types %v, want %v", pd.Identifiers, want)
	}
	for _, c := range [][2]string{{"crm", "mail"}, {"crm", "mobile"}, {"kyc", "passport"}, {"travel", "doc"}} {
		if !pd.Column(c[0], c[1]) {
			t.Errorf("column %s.%s holds a personal identifier: %v", c[0], c[1], pd.Columns)
		}
	}
	if pd.Column("crm", "id") || pd.Column("kyc", "customer") {
		t.Errorf("a customer number is not personal unless marked: %v", pd.Columns)
	}
	if want := map[string]bool{"mobile": true, "work_mail": true}; !reflect.DeepEqual(pd.Traits, want) {
		t.Fatalf("personal traits %v, want %v", pd.Traits, want)
	}
}

// A warehouse's message quoting a value names nobody once masked; names
// of tables and functions, dates and counts stay readable.
func TestMaskValuesIn(t *testing.T) {
	for in, want := range map[string]string{
		`Conversion Error: Could not convert string 'xsophie.dejong50@gmail.com' to INT32`:      `Conversion Error: Could not convert string 'x***@g***.com' to INT32`,
		`Conversion Error: Could not convert string 'Amélie' to INT32`:                          `Conversion Error: Could not convert string 'A***' to INT32`,
		`ERROR: invalid input syntax for type integer: "Peeters" (SQLSTATE 22P02)`:              `ERROR: invalid input syntax for type integer: "P***rs" (SQLSTATE 22P02)`,
		`mail to jan@kpn.nl bounced, call +31 6 1234 5678 or 0612345678`:                        `mail to j***@k***.nl bounced, call +***78 or 0***78`,
		`Table with name "cohort"."sync_x" does not exist at 2026-11-23 10:00:00, 1234567 rows`: `Table with name "cohort"."sync_x" does not exist at 2026-11-23 10:00:00, 1234567 rows`,
		`No function matches 'lower(INTEGER)'`:                                                  `No function matches 'lower(INTEGER)'`,
		// PostgreSQL quotes the row or the key it refused; Cohort the value it could not convert
		`PostgreSQL: new row for relation "customers" violates check constraint "customers_ltv_check" (SQLSTATE 23514): Failing row contains (robbe.peeters893@gmail.com, 4000.50, Robbe, null, p_1a2b).`: `PostgreSQL: new row for relation "customers" violates check constraint "customers_ltv_check" (SQLSTATE 23514): Failing row contains (r***@g***.com, 4***50, R***, null, p***).`,
		`duplicate key value violates unique constraint "u" (SQLSTATE 23505): Key (first_name, city)=(Amélie, Leuven) already exists.`:                                                                    `duplicate key value violates unique constraint "u" (SQLSTATE 23505): Key (first_name, city)=(A***, L***) already exists.`,
		`insert or update violates foreign key constraint "fk" (SQLSTATE 23503): Key (customer)=(Peeters) is not present in table "people".`:                                                              `insert or update violates foreign key constraint "fk" (SQLSTATE 23503): Key (customer)=(P***rs) is not present in table "people".`,
		`not sent: field ltv (trait nickname): "Jantje \"J\" de Vries" is not a number`:                                                                                                                   `not sent: field ltv (trait nickname): "J***es" is not a number`,
	} {
		if got := MaskValuesIn(in); got != want {
			t.Errorf("MaskValuesIn(%q)\n got %q\nwant %q", in, got, want)
		}
		if got := MaskValuesIn(want); got != want {
			t.Errorf("MaskValuesIn(%q) = %q: masked again, it changed", want, got)
		}
	}
}
