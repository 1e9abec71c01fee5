package destinations

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// SHA256 is the lowercase hex SHA-256 of s, the form ad platforms match
// hashed identifiers in.
func SHA256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// IsSHA256 reports whether s looks like a lowercase hex SHA-256 (fakes use
// it to refuse identifiers sent in clear).
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// NormalizeEmail trims and lower-cases an e-mail address and removes inner
// white space, the normalization every ad platform documents before hashing.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
}

// PhoneDigits is a phone number in E.164 without the plus: digits only
// ("+31 6 1234 5678" → "31612345678"). Numbers reach connectors already in
// E.164 when the trait says `normalize: phone`; this only strips the rest.
func PhoneDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// E164 is "+" and PhoneDigits, or "" when there are no digits.
func E164(s string) string {
	d := PhoneDigits(s)
	if d == "" {
		return ""
	}
	return "+" + d
}
