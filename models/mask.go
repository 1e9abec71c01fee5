package models

import (
	"regexp"
	"strings"
)

// Mask hides a personal value for people without personal-data access,
// keeping enough to recognise it: an e-mail address keeps the first letter
// of its name and of its domain and the top-level domain (j***@g***.com),
// anything else its first character (and its last two when it is longer
// than six: +3***78). A value it masked stays as it is, so that masking
// twice (a reason masked when it was kept, and again when it is shown)
// hides nothing more. It is the one masking function: the command line,
// the API and the UI all use it.
func Mask(v string) string {
	if v == "" || masked.MatchString(v) {
		return v
	}
	if at := strings.LastIndexByte(v, '@'); at > 0 && at < len(v)-1 {
		name, domain := v[:at], v[at+1:]
		tld := ""
		if dot := strings.LastIndexByte(domain, '.'); dot > 0 {
			domain, tld = domain[:dot], domain[dot:]
		}
		return first(name) + "***@" + first(domain) + "***" + tld
	}
	r := []rune(v)
	if len(r) > 6 {
		return string(r[0]) + "***" + string(r[len(r)-2:])
	}
	return string(r[0]) + "***"
}

func first(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

var (
	// what Mask writes: j***@g***.com, n***@l***, +***78, c***
	masked      = regexp.MustCompile(`^[^*]\*\*\*(?:[^*]{2}|@[^*]\*\*\*(?:\.[^*]*)?)?$`)
	emailInText = regexp.MustCompile(`[^\s'"@<>(),;:]+@[^\s'"@<>(),;:]+\.[A-Za-z]{2,}`)
	phoneInText = regexp.MustCompile(`\+\d[\d \-()]{5,}\d|\b0\d{8,10}\b`) // +31 6 1234 5678, 0612345678
	// a value a warehouse quotes in its message: DuckDB's "Could not
	// convert string 'x' to INT32", PostgreSQL's "invalid input syntax for
	// type integer: "x""
	quotedValue = regexp.MustCompile(`((?:string|value|input syntax for type \w+(?: \w+)*:) )('[^']*'|"[^"]*")`)
	// a value Cohort could not convert for a destination's field
	// (destinations.Coerce): "Jan" is not a number
	unconverted = regexp.MustCompile(`("(?:[^"\\]|\\.)*")( is not (?:a number|a whole number|a timestamp|true or false))`)
	// the row PostgreSQL refused, as its detail quotes it: Failing row
	// contains (jan@kpn.nl, Jan, 12.50, null).
	failingRow = regexp.MustCompile(`(Failing row contains \()(.*)(\))`)
	// the values of a key PostgreSQL quotes: Key (email)=(jan@kpn.nl)
	// already exists, or is not present in table "x"
	keyValues = regexp.MustCompile(`(?m)((?i:key) \([^)]*\)=\()(.*?)(\)(?: already exists| is not present| is still referenced| conflicts with|\.?$| \(SQLSTATE))`)
)

// MaskValuesIn masks the personal values a text may quote, such as a
// warehouse's or a destination's error message: e-mail addresses,
// phone-like numbers, a value the warehouse quotes as the one it could not
// read or Cohort as the one it could not convert, and the values of the row
// or key PostgreSQL quotes as the one it refused. Names of tables, columns,
// constraints and functions stay readable.
func MaskValuesIn(text string) string {
	text = quotedValue.ReplaceAllStringFunc(text, func(m string) string {
		sub := quotedValue.FindStringSubmatch(m)
		q := sub[2][:1]
		return sub[1] + q + Mask(sub[2][1:len(sub[2])-1]) + q
	})
	text = unconverted.ReplaceAllStringFunc(text, func(m string) string {
		sub := unconverted.FindStringSubmatch(m)
		return `"` + Mask(sub[1][1:len(sub[1])-1]) + `"` + sub[2]
	})
	for _, re := range []*regexp.Regexp{failingRow, keyValues} {
		text = re.ReplaceAllStringFunc(text, func(m string) string {
			sub := re.FindStringSubmatch(m)
			return sub[1] + maskList(sub[2]) + sub[3]
		})
	}
	text = MaskEmailsIn(text)
	return phoneInText.ReplaceAllStringFunc(text, Mask)
}

// maskList masks each value of a list PostgreSQL writes (a, b, null); a
// null names nobody and stays.
func maskList(s string) string {
	vals := strings.Split(s, ", ")
	for i, v := range vals {
		if v != "null" {
			vals[i] = Mask(v)
		}
	}
	return strings.Join(vals, ", ")
}

// MaskEmailsIn masks the e-mail addresses inside a text, such as a
// destination's reason for refusing a person ("422 invalid recipient:
// jan@gmail.com is blocked").
func MaskEmailsIn(text string) string { return emailInText.ReplaceAllStringFunc(text, Mask) }
