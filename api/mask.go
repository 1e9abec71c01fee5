package api

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/cohort-cdp/cohort/models"
)

// Personal data is masked for the roles without access to it (marketer,
// editor) with models.Mask (the one masking function): they see counts,
// segments and samples, never an e-mail, phone, name or identifier in
// clear, nor what the project marks pii: true. This file decides what is
// personal (by shape, by key, and by the project's pii: true columns and
// the traits built from them); models.Mask decides how it looks.

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// maskValue masks a value that is personal data by its shape (e-mail,
// phone number) or because of its key; other values pass.
func maskValue(key string, v string) string {
	switch {
	case emailRE.MatchString(strings.TrimSpace(v)):
		return models.Mask(strings.TrimSpace(v))
	case phoneLike(v), personalKey(key):
		return models.Mask(v)
	}
	return models.MaskEmailsIn(v)
}

func phoneLike(v string) bool {
	digits := 0
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() .", r):
		default:
			return false
		}
	}
	return digits >= 7
}

// personalKey names what holds personal data whatever its shape.
func personalKey(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "key", "value", "identifier_value", "sync_key", "ip", "name_full", "surname":
		return true
	}
	if false {
		return true
	}
	for _, w := range []string{"email", "phone", "first_name", "last_name", "full_name", "address", "street", "zip", "postal", "birth", "customer_id", "user_id", "device_id", "anonymous_id"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// mask walks a JSON document and masks every personal value; pii are the
// keys the project marks personal (engine.Service.PersonalKeys). A trait
// shown as {name, value} is masked by the trait's name.
func mask(v any, key string, pii map[string]bool) any {
	switch t := v.(type) {
	case map[string]any:
		done := ""
		if n, ok := t["name"].(string); ok && (personalKey(n) || pii[n]) {
			switch val := t["value"].(type) {
			case string:
				t["value"], done = models.Mask(val), "value"
			case float64, json.Number, bool:
				t["value"], done = "***", "value"
			}
		}
		for k, x := range t {
			if k != done {
				t[k] = mask(x, k, pii)
			}
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = mask(x, key, pii)
		}
		return t
	case string:
		if pii[key] {
			return models.Mask(t)
		}
		return maskValue(key, t)
	case float64, json.Number, bool:
		if personalKey(key) || pii[key] {
			return "***"
		}
	}
	return v
}
