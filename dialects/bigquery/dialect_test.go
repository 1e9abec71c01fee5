package bigquery_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/dialects/bigquery"
	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// TestConformance runs against the BigQuery named by COHORT_TEST_BIGQUERY
// (make test-bigquery starts an emulator for it).
func TestConformance(t *testing.T) { dialecttest.Conformance(t, "bigquery") }

func TestInEU(t *testing.T) {
	for loc, want := range map[string]bool{"EU": true, "eu": true, "europe-west4": true, "US": false, "europe-west2": false, "europe-west6": false, "asia-east1": false} {
		if bigquery.InEU(loc) != want {
			t.Errorf("InEU(%q) = %v", loc, !want)
		}
	}
}
