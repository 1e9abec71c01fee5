package snowflake

import "github.com/cohort-cdp/cohort/dialects"

// TypeName: timestamps are TIMESTAMP_NTZ (wall-clock UTC, as on every
// dialect), whatever the account's TIMESTAMP_TYPE_MAPPING says.
func (Dialect) TypeName(t dialects.Type) string {
	switch t {
	case dialects.Integer:
		return "BIGINT"
	case dialects.Number:
		return "DOUBLE"
	case dialects.Boolean:
		return "BOOLEAN"
	case dialects.Timestamp:
		return "TIMESTAMP_NTZ"
	case dialects.Decimal:
		return "NUMBER(18,2)"
	}
	return "VARCHAR"
}
