package snowflake_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// TestConformance runs against the Snowflake named by COHORT_TEST_SNOWFLAKE
// (make test-snowflake starts an emulator for it).
func TestConformance(t *testing.T) { dialecttest.Conformance(t, "snowflake") }
