package bigquery

import (
	"database/sql"
	"fmt"
	"math/big"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"github.com/cohort-cdp/cohort/dialects"
)

// TypeName: a timestamp is TIMESTAMP (an instant, shown in UTC), which
// holds the naive UTC wall-clock times of the other dialects unchanged.
func (Dialect) TypeName(t dialects.Type) string {
	switch t {
	case dialects.Integer:
		return "INT64"
	case dialects.Number:
		return "FLOAT64"
	case dialects.Boolean:
		return "BOOL"
	case dialects.Timestamp:
		return "TIMESTAMP"
	case dialects.Decimal:
		return "NUMERIC"
	}
	return "STRING"
}

// params names the arguments of a statement p1, p2 ... (the placeholders
// @p1, @p2 ... of Placeholder); a NULL argument is a NULL STRING, which
// the statements cast to what they need.
func params(args []any) []bigquery.QueryParameter {
	ps := make([]bigquery.QueryParameter, len(args))
	for i, a := range args {
		if a == nil {
			a = bigquery.NullString{}
		}
		if t, ok := a.(time.Time); ok {
			a = t.UTC()
		}
		ps[i] = bigquery.QueryParameter{Name: fmt.Sprintf("p%d", i+1), Value: a}
	}
	return ps
}

// plain turns a value of the client into the one database/sql would give.
func plain(v bigquery.Value) any {
	switch x := v.(type) {
	case civil.Date:
		return x.In(time.UTC)
	case civil.DateTime:
		return x.In(time.UTC)
	case civil.Time:
		return x.String()
	case *big.Rat:
		if x == nil {
			return nil
		}
		f, _ := x.Float64()
		return f
	case time.Time:
		return x.UTC()
	}
	return v
}

// assign stores v in dest, converting like database/sql's Scan for the
// types the engine reads.
func assign(dest any, v bigquery.Value) error {
	src := plain(v)
	if s, ok := dest.(sql.Scanner); ok {
		return s.Scan(src)
	}
	switch d := dest.(type) {
	case *any:
		*d = src
		return nil
	case *string:
		switch x := src.(type) {
		case string:
			*d = x
		case []byte:
			*d = string(x)
		case time.Time:
			*d = x.Format(time.RFC3339Nano)
		case nil:
			return fmt.Errorf("converting NULL to string is unsupported")
		default:
			*d = fmt.Sprint(x)
		}
		return nil
	case *int64, *int:
		var n int64
		switch x := src.(type) {
		case int64:
			n = x
		case float64:
			n = int64(x)
		case bool:
			if x {
				n = 1
			}
		case nil:
			return fmt.Errorf("converting NULL to an integer is unsupported")
		default:
			return fmt.Errorf("cannot scan %T into %T", src, dest)
		}
		if p, ok := d.(*int); ok {
			*p = int(n)
		} else {
			*d.(*int64) = n
		}
		return nil
	case *float64:
		switch x := src.(type) {
		case float64:
			*d = x
		case int64:
			*d = float64(x)
		case nil:
			return fmt.Errorf("converting NULL to float64 is unsupported")
		default:
			return fmt.Errorf("cannot scan %T into %T", src, dest)
		}
		return nil
	case *bool:
		x, ok := src.(bool)
		if !ok {
			return fmt.Errorf("cannot scan %T into %T", src, dest)
		}
		*d = x
		return nil
	case *time.Time:
		x, ok := src.(time.Time)
		if !ok {
			return fmt.Errorf("cannot scan %T into %T", src, dest)
		}
		*d = x
		return nil
	case *[]byte:
		switch x := src.(type) {
		case []byte:
			*d = x
		case string:
			*d = []byte(x)
		default:
			return fmt.Errorf("cannot scan %T into %T", src, dest)
		}
		return nil
	}
	return fmt.Errorf("bigquery: cannot scan into %T", dest)
}
