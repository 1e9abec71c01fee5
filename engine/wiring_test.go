package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/models"
)

// Validation knows the warehouses, destinations and pattern limits from the
// registries the engine links, not from lists of its own.
func TestValidationReadsTheRegistries(t *testing.T) {
	check := func(cohortYAML, modelsYAML string) error {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte(cohortYAML), 0o644))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "models"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "m.yaml"), []byte(modelsYAML), 0o644))
		_, err := models.LoadAndValidate(dir)
		return err
	}
	err := check("name: x\nwarehouse: {type: oracle}\n", "")
	require.ErrorContains(t, err, `unknown warehouse type "oracle" (one of: bigquery, duckdb, postgres, snowflake)`)
	err = check("name: x\nwarehouse: {type: bigquery}\n", "")
	require.ErrorContains(t, err, "warehouse type bigquery needs project")
	err = check("name: x\nwarehouse: {type: snowflake, account: a}\n", "")
	require.ErrorContains(t, err, "warehouse type snowflake needs dsn (e.g. dsn: ${COHORT_WAREHOUSE_DSN}), or account, user and private_key_path for key-pair authentication")
	err = check("name: x\nwarehouse: {type: postgres, account: a, user: u, private_key_path: k.pem}\n", "")
	require.ErrorContains(t, err, "warehouse type postgres needs dsn (e.g. dsn: ${COHORT_WAREHOUSE_DSN})\n", "key-pair is Snowflake's")
	require.NoError(t, check("name: x\nwarehouse: {type: snowflake, account: a, user: u, private_key_path: k.pem}\n",
		"sources:\n  - {name: s, table: raw.s, identifiers: [{type: email, column: e}]}\nidentity:\n  identifiers: [{type: email}]\n"), "key-pair instead of a dsn")
	err = check("name: x\nwarehouse: {type: postgres}\n", "")
	require.ErrorContains(t, err, "warehouse type postgres needs dsn")
	require.NoError(t, check("name: x\nwarehouse: {type: postgres, dsn: postgres://h/db}\n",
		"sources:\n  - {name: s, table: raw.s, identifiers: [{type: email, column: e}]}\nidentity:\n  identifiers: [{type: email}]\n"))

	err = check("name: x\n", "destinations:\n  - {name: d, type: braze}\n  - {name: e, type: carrier_pigeon}\n")
	require.ErrorContains(t, err, `unknown type "carrier_pigeon"`)
	require.NotContains(t, err.Error(), `"braze"`, "a linked connector is a known type")

	err = check("name: x\n", "identity:\n  identifiers:\n    - {type: email, exclude: ['(?<domain>x)', '^a(?=b)']}\n")
	require.ErrorContains(t, err, "named group, which PostgreSQL does not support")
	require.ErrorContains(t, err, "lookaround (?=...), which BigQuery (RE2) does not support")
}
