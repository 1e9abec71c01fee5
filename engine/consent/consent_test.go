package consent

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects"
	"github.com/cohort-cdp/cohort/models"
)

func TestRule(t *testing.T) {
	p := &models.Project{Consent: &models.Consent{
		Purposes:          []*models.Purpose{{Name: "marketing_email", Trait: "email_opt_in"}},
		TransferOutsideEU: &models.Purpose{Trait: "transfer_consent"},
	}}
	q := func(parts ...string) string {
		for i := range parts {
			parts[i] = dialects.QuoteIdent(parts[i])
		}
		return parts[0] + "." + parts[1]
	}
	r, err := For(p, &models.Sync{Name: "s", Purpose: "marketing_email"}, "us", false)
	require.NoError(t, err)
	assert.Equal(t, `"a"."email_opt_in" IS TRUE AND "a"."transfer_consent" IS TRUE`, r.Condition(q, "a"))

	r, err = For(p, &models.Sync{Name: "s", Purpose: "marketing_email"}, "nl", false)
	require.NoError(t, err)
	assert.Equal(t, `"a"."email_opt_in" IS TRUE`, r.Condition(q, "a"), "the Netherlands are in the EEA")

	r, err = For(p, &models.Sync{Name: "s"}, "eu", true)
	require.NoError(t, err)
	assert.Empty(t, r.Condition(q, "a"), "an internal destination in the EU needs no consent")

	_, err = For(p, &models.Sync{Name: "s"}, "eu", false)
	assert.ErrorContains(t, err, "sync s has no purpose")
	_, err = For(p, &models.Sync{Name: "s", Purpose: "ads"}, "eu", false)
	assert.ErrorContains(t, err, `unknown consent purpose "ads"`)
	_, err = For(&models.Project{}, &models.Sync{Name: "s"}, "unknown", true)
	assert.ErrorContains(t, err, "outside the EU/EEA: define consent.transfer_outside_eu")
}
