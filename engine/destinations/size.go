package destinations

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The byte counts below are those of encoding/json's output (HTML-safe
// escaping, its float format), counted without building it: batching by
// bytes measures every record, and encoding each one only to count it
// doubled the cost of encoding a sync's batches.

func stringMapSize(m map[string]string) int {
	if m == nil {
		return len("null")
	}
	n := len("{}")
	for k, v := range m {
		n += jsonStringSize(k) + len(":") + jsonStringSize(v) + len(",")
	}
	if len(m) > 0 {
		n-- // no comma after the last pair
	}
	return n
}

func anyMapSize(m map[string]any) int {
	if m == nil {
		return len("null")
	}
	n := len("{}")
	for k, v := range m {
		n += jsonStringSize(k) + len(":") + jsonSize(v) + len(",")
	}
	if len(m) > 0 {
		n--
	}
	return n
}

// jsonSize is len(json.Marshal(v)) for the values Coerce produces (and
// other plain ones); anything else is encoded to be counted.
func jsonSize(v any) int {
	var buf [64]byte
	switch x := v.(type) {
	case nil:
		return len("null")
	case string:
		return jsonStringSize(x)
	case bool:
		if x {
			return len("true")
		}
		return len("false")
	case int:
		return len(strconv.AppendInt(buf[:0], int64(x), 10))
	case int32:
		return len(strconv.AppendInt(buf[:0], int64(x), 10))
	case int64:
		return len(strconv.AppendInt(buf[:0], x, 10))
	case float64:
		return floatSize(buf[:0], x, 64)
	case float32:
		return floatSize(buf[:0], float64(x), 32)
	case time.Time:
		if y := x.Year(); y >= 0 && y <= 9999 {
			return len(x.AppendFormat(buf[:0], time.RFC3339Nano)) + len(`""`)
		}
	case map[string]any:
		return anyMapSize(x)
	case map[string]string:
		return stringMapSize(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// floatSize follows encoding/json: exponent form outside [1e-6, 1e21), with
// a one-digit negative exponent written without its leading zero.
func floatSize(buf []byte, f float64, bits int) int {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0 // json.Marshal refuses them
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b := strconv.AppendFloat(buf, f, format, -1, bits)
	n := len(b)
	if format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		n--
	}
	return n
}

// jsonStringSize is the length of s as a JSON string: quoted, with
// encoding/json's escapes (\", \\, \n \r \t \b \f, \u00XX for other control
// characters and for <, > and &, \ufffd for invalid UTF-8, \u2028 and
// \u2029).
func jsonStringSize(s string) int {
	n := len(`""`)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += len(`\u0000`)
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += len(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			n += len(`\u2028`)
		default:
			n += size
		}
		i += size
	}
	return n
}
