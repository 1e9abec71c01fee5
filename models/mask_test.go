package models

import "testing"

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
