package postgres_test

import (
	"testing"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

func TestConformance(t *testing.T) { dialecttest.Conformance(t, "postgres") }
