package api

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/cohort-cdp/cohort/models"
)

// Personal data is masked for the marketer role with models.Mask (the one
// masking function): a marketer sees counts, segments and samples, never an
// e-mail, phone, name or identifier in clear. This file decides what is
// personal (by shape and by key); models.Mask decides how it looks.

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
	return v
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

// mask walks a JSON document and masks every personal value. A trait
// shown as {name, value} is masked by the trait's name.
func mask(v any, key string) any {
	switch t := v.(type) {
	case map[string]any:
		if n, ok := t["name"].(string); ok && personalKey(n) {
			if val, ok := t["value"].(string); ok {
				t["value"] = maskValue(n, val)
			}
		}
		for k, x := range t {
			t[k] = mask(x, k)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = mask(x, key)
		}
		return t
	case string:
		return maskValue(key, t)
	case float64, json.Number:
		if personalKey(key) {
			return "***"
		}
	}
	return v
}
