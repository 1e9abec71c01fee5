package models

import "strings"

// Mask hides a personal value for people without personal-data access,
// keeping enough to recognise it: an e-mail address keeps the first letter
// of its name and of its domain and the top-level domain (j***@g***.com),
// anything else its first character (and its last two when it is longer
// than six: +3***78). It is the one masking function: the command line,
// the API and the UI all use it.
func Mask(v string) string {
	if v == "" {
		return ""
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
