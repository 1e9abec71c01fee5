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
	} {
		if got := MaskValuesIn(in); got != want {
			t.Errorf("MaskValuesIn(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
