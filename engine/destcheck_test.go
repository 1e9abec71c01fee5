package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations/hubspot/fake"
	"github.com/cohort-cdp/cohort/models"
)

func loadProject(t *testing.T, modelsYAML string) (*models.Project, error) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cohort.yaml"), []byte("name: x\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "models"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "m.yaml"), []byte(modelsYAML), 0o644))
	// a project needs a source with identifiers
	require.NoError(t, os.WriteFile(filepath.Join(dir, "models", "source.yaml"), []byte(
		"sources:\n  - {name: s, table: raw.s, identifiers: [{type: email, column: e}]}\nidentity:\n  identifiers: [{type: email}]\n"), 0o644))
	return models.LoadAndValidate(dir)
}

// A destination's config and a sync's fields are checked against the
// connector's spec when the project loads, each error at its YAML key.
func TestValidationChecksDestinationsAgainstTheirSpecs(t *testing.T) {
	_, err := loadProject(t, `
destinations:
  - name: news
    type: mailchimp
    region: eu
    config:
      api_key: k-us6
      list: abc
syncs:
  - name: s
    segment: vip
    destination: news
    mode: mirror
    match: {email: email}
    fields: {FirstName: first_name, LTV: ltv}
`)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`models/m.yaml:5:13: destination "news": Mailchimp has no region "eu" (one of us)`,
		`models/m.yaml:7:7: destination "news": Mailchimp needs audience_id: the audience id`,
		`models/m.yaml:8:13: destination "news": Mailchimp has no config key "list" (known: api_key, audience_id, status, tag, on_remove, endpoint)`,
		`models/m.yaml:15:25: sync "s": Mailchimp has no standard field "FirstName", and "FirstName" is not a valid custom field name (a merge tag`,
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, `"LTV"`, "a merge tag is a valid field")
}

func TestCheckDestinationsAsksTheVendor(t *testing.T) {
	f := fake.New(t)
	p, err := loadProject(t, strings.ReplaceAll(`
destinations:
  - {name: good, type: hubspot, config: {access_token: `+fake.Token+`, list_id: "123", endpoint: URL}}
  - {name: nolist, type: hubspot, config: {access_token: `+fake.Token+`, list_id: "999", endpoint: URL}}
  - {name: badkey, type: hubspot, config: {access_token: pat-wrong, endpoint: URL}}
`, "URL", f.URL()))
	require.NoError(t, err)
	checks, err := (&Service{Project: p}).CheckDestinations(context.Background(), 10*time.Second)
	require.Len(t, checks, 3)
	assert.ErrorContains(t, err, "models/m.yaml:4:5: destination nolist: HubSpot has no list 999")
	assert.Equal(t, DestinationCheck{Name: "good", Type: "hubspot", Checked: true}, checks[0])
	assert.ErrorContains(t, checks[1].Err, "destination nolist: HubSpot has no list 999")
	assert.ErrorContains(t, checks[2].Err, "destination badkey: HubSpot refused the access token")
	var unreachable *UnreachableError
	assert.False(t, errors.As(err, &unreachable), "a refused key and a missing list are the config's fault")
	assert.IsType(t, models.ErrorList{}, err)
}

// A vendor that does not answer says nothing of the config: the check
// failed (an *UnreachableError, exit 1), unless another destination's
// config is wrong (an ErrorList, exit 2).
func TestCheckDestinationsTellsUnreachableFromRefused(t *testing.T) {
	f := fake.New(t)
	down := "{name: down, type: hubspot, config: {access_token: " + fake.Token + `, list_id: "123", endpoint: "http://127.0.0.1:1"}}`
	p, err := loadProject(t, "destinations:\n  - "+down+"\n")
	require.NoError(t, err)
	checks, err := (&Service{Project: p}).CheckDestinations(context.Background(), 10*time.Second)
	var unreachable *UnreachableError
	require.ErrorAs(t, err, &unreachable)
	assert.ErrorContains(t, err, "models/m.yaml:2:5: destination down: no answer")
	assert.True(t, checks[0].Unreachable)

	p, err = loadProject(t, "destinations:\n  - "+down+"\n  - {name: badkey, type: hubspot, config: {access_token: pat-wrong, endpoint: "+f.URL()+"}}\n")
	require.NoError(t, err)
	checks, err = (&Service{Project: p}).CheckDestinations(context.Background(), 10*time.Second)
	assert.False(t, errors.As(err, &unreachable))
	assert.IsType(t, models.ErrorList{}, err)
	assert.ErrorContains(t, err, "destination down: no answer")
	assert.ErrorContains(t, err, "destination badkey: HubSpot refused the access token")
	assert.True(t, checks[0].Unreachable)
	assert.False(t, checks[1].Unreachable)
}

// A sync to an outside tool needs a consent purpose; an internal
// destination (postgres, a webhook marked internal) does not.
func TestValidationWantsAPurposeOutsideTheCompany(t *testing.T) {
	_, err := loadProject(t, `
traits:
  - {name: email, from: s.e, aggregate: max}
segments:
  - {name: all, where: {trait: email, is_null: false}}
destinations:
  - {name: k, type: klaviyo, config: {api_key: x, list_id: y}}
  - {name: hook, type: webhook, region: eu, config: {url: "https://h.example/x", secret: s}}
  - {name: own, type: webhook, region: eu, config: {url: "https://h.example/x", secret: s, internal: true}}
syncs:
  - {name: to_k, segment: all, destination: k, mode: upsert, match: {email: email}}
  - {name: to_hook, segment: all, destination: hook, mode: upsert, match: {email: email}}
  - {name: to_own, segment: all, destination: own, mode: upsert, match: {email: email}}
`)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `models/m.yaml:11:5: sync "to_k": has no purpose: name the consent purpose its people agreed to`)
	assert.Contains(t, msg, "a destination of type klaviyo is always outside the company")
	assert.Contains(t, msg, `models/m.yaml:12:5: sync "to_hook": has no purpose`)
	assert.Contains(t, msg, "set internal: true in destination hook's config")
	assert.NotContains(t, msg, `"to_own"`)
}

// A sync to a destination outside the EU/EEA is a load error while the
// project does not say who agreed to that transfer, at the sync's
// destination key; once consent.transfer_outside_eu is defined it loads.
func TestNonEUDestinationNeedsTransferConsent(t *testing.T) {
	yaml := `
traits:
  - {name: email, from: s.e, aggregate: max}
  - {name: opt_in, from: s.o, aggregate: max}
segments:
  - {name: all, where: {trait: email, is_null: false}}
destinations:
  - {name: us_hook, type: webhook, region: us, config: {url: "https://example.com/h", secret: s}}
  - {name: eu_hook, type: webhook, region: eu, config: {url: "https://example.com/h", secret: s}}
syncs:
  - {name: to_us, segment: all, destination: us_hook, mode: upsert, match: {email: email}, purpose: news}
  - {name: to_eu, segment: all, destination: eu_hook, mode: upsert, match: {email: email}, purpose: news}
consent:
  purposes: [{name: news, trait: opt_in}]
`
	_, err := loadProject(t, yaml)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `models/m.yaml:11:46: sync "to_us" sends to destination "us_hook" in region "us", outside the EU/EEA: define consent.transfer_outside_eu`)
	assert.NotContains(t, err.Error(), `"to_eu"`)
	_, err = loadProject(t, yaml+"  transfer_outside_eu: {trait: opt_in}\n")
	require.NoError(t, err)
}
