package destinations

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Coerce converts a value read from the warehouse to a vendor field's type.
// NULL stays nil (the connector decides whether that clears the field).
// A value that cannot be converted is an error naming both.
func Coerce(v any, t FieldType) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case Any:
		if tm, ok := v.(time.Time); ok {
			return tm.UTC().Format(time.RFC3339), nil
		}
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
		return v, nil
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return fmt.Sprint(v), nil
	case Number:
		return toFloat(v)
	case Integer:
		f, err := toFloat(v)
		if err != nil {
			return nil, err
		}
		if f != math.Trunc(f) {
			return nil, fmt.Errorf("%v is not a whole number", v)
		}
		return int64(f), nil
	case Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", x)
			}
			return b, nil
		case int64:
			return x != 0, nil
		}
	case Timestamp, Date:
		tm, ok := v.(time.Time)
		if !ok {
			s, isStr := v.(string)
			if !isStr {
				break
			}
			var err error
			if tm, err = time.Parse(time.RFC3339, s); err != nil {
				if tm, err = time.Parse("2006-01-02", s); err != nil {
					return nil, fmt.Errorf("%q is not a timestamp", s)
				}
			}
		}
		if t == Date {
			return tm.Format("2006-01-02"), nil
		}
		return tm.UTC().Format(time.RFC3339), nil
	}
	return nil, fmt.Errorf("cannot hold %v (%T) in a %s field", v, v, t)
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	case []byte:
		return toFloat(string(x))
	}
	if s, ok := v.(fmt.Stringer); ok { // decimals
		return toFloat(s.String())
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}
