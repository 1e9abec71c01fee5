// Package snowflake is the Snowflake warehouse, through
// github.com/snowflakedb/gosnowflake's database/sql driver.
//
// Names: Snowflake folds unquoted identifiers to upper case, so Quote
// writes a lower-case name ("profiles") as its upper-case form
// ("PROFILES"): Cohort's tables and columns are then the ones a BI user
// reaches without quotes (cohort.profiles), and a source named raw.orders
// in YAML is the table created as raw.orders. Names read back from the
// warehouse are folded the other way, so the engine sees the names of YAML.
package snowflake
