package google_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/google"
	"github.com/cohort-cdp/cohort/engine/destinations/google/fake"
)

var h = destinations.SHA256

func newFake(t *testing.T) *fake.Server {
	f := fake.New()
	t.Cleanup(f.Close)
	return f
}

func open(t *testing.T, f *fake.Server, over map[string]any) destinations.Destination {
	t.Helper()
	cfg := f.Config()
	for k, v := range over {
		cfg[k] = v
	}
	d, _, err := destinations.Open(google.Type, destinations.Config{Name: "google", Values: cfg})
	require.NoError(t, err)
	return d
}

func rec(id, email string, fields map[string]any) destinations.Record {
	return destinations.Record{ID: id, Op: destinations.Add, ProfileID: "p" + id, Key: map[string]string{"email": email}, Fields: fields}
}

func TestMemberNormalizesAndHashesAsGoogleDocuments(t *testing.T) {
	m, err := google.MemberOf(&destinations.Record{Op: destinations.Add,
		Key:    map[string]string{"email": " Dana M@Example.com ", "phone": "+1 (800) 555-0100"},
		Fields: map[string]any{"first_name": " Zoë-Anne ", "last_name": "O'Neil Jr.", "country_code": "nl", "postal_code": "1011 AB"}})
	require.NoError(t, err)
	assert.Equal(t, []google.Identifier{
		{EmailAddress: h("danam@example.com")},
		{PhoneNumber: h("+18005550100")},
		{Address: &google.Address{GivenName: h("zoëanne"), FamilyName: h("oneil jr"), RegionCode: "NL", PostalCode: "1011 AB"}},
	}, m.UserData.UserIdentifiers)

	m, err = google.MemberOf(&destinations.Record{Op: destinations.Add, Key: map[string]string{"phone": "0031 6 12345678"},
		Fields: map[string]any{"first_name": "Ada", "country_code": "NL", "postal_code": "1011AB"}})
	require.NoError(t, err)
	assert.Equal(t, []google.Identifier{{PhoneNumber: h("+31612345678")}}, m.UserData.UserIdentifiers,
		"an address without a last name is not sent: Google needs all four parts")

	for key, want := range map[string]string{
		"email=ada@":         `email "ada@" is not an e-mail address`,
		"phone=06 1234 5678": `phone "06 1234 5678" has no country code`,
		"phone=+31":          `is not a phone number with country code`,
		"email=":             `no e-mail or phone to match on`,
	} {
		k, v, _ := cut(key)
		_, err := google.MemberOf(&destinations.Record{Op: destinations.Add, Key: map[string]string{k: v}})
		assert.ErrorContains(t, err, want)
	}
	_, err = google.MemberOf(&destinations.Record{Op: destinations.Add, Key: map[string]string{"email": "a@b.nl"},
		Fields: map[string]any{"first_name": "A", "last_name": "B", "country_code": "Netherlands", "postal_code": "1"}})
	assert.ErrorContains(t, err, `country_code "Netherlands" is not a two-letter ISO 3166-1 code`)
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestWriteIngestsAndRemoves(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	ctx := context.Background()
	res, err := d.Write(ctx, &destinations.Batch{Mode: destinations.Mirror, IdempotencyKey: "a", Records: []destinations.Record{
		rec("1", "ada@example.com", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "country_code": "GB", "postal_code": "W1"}),
		rec("2", "not-an-address", nil),
		rec("3", "bob@example.com", nil),
	}})
	require.NoError(t, err)
	assert.Equal(t, []destinations.RecordResult{{}, {Outcome: destinations.Rejected, Reason: `email "not-an-address" is not an e-mail address`}, {}}, res.Records)
	assert.Equal(t, map[string]map[string]any{
		h("ada@example.com"): {"emailAddress": h("ada@example.com"),
			"address": map[string]string{"givenName": h("ada"), "familyName": h("lovelace"), "regionCode": "GB", "postalCode": "W1"}},
		h("bob@example.com"): {"emailAddress": h("bob@example.com")},
	}, f.Members())
	body := f.Bodies()[0]
	assert.Equal(t, "HEX", body["encoding"])
	assert.Equal(t, map[string]any{"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"}, body["consent"])
	assert.Equal(t, []any{map[string]any{"operatingAccount": map[string]any{"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
		"productDestinationId": "555"}}, body["destinations"])
	assert.Len(t, body["audienceMembers"], 2, "the invalid member is never sent")
	assert.Equal(t, 1, f.TokenRefreshes())

	res, err = d.Write(ctx, &destinations.Batch{Mode: destinations.Mirror, IdempotencyKey: "b", Records: []destinations.Record{
		{ID: "4", Op: destinations.Remove, Key: map[string]string{"email": "ADA@example.com"}}}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.NotContains(t, f.Members(), h("ada@example.com"))
	assert.NotContains(t, f.Bodies()[1], "consent", "a removal carries no consent")
	assert.Equal(t, 1, f.TokenRefreshes(), "the access token is reused until it nears expiry")
}

func TestFastFailRejectsTheNamedMembersAndRetriesTheOthers(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	f.Reject(h("bad@example.com"))
	res, err := d.Write(context.Background(), &destinations.Batch{IdempotencyKey: "a", Records: []destinations.Record{
		rec("0", "x@", nil),
		rec("1", "good@example.com", nil),
		rec("2", "bad@example.com", nil),
	}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Rejected, res.Records[0].Outcome)
	assert.Equal(t, destinations.Retry, res.Records[1].Outcome)
	// index 1 in the request is record 2: the connector maps it back.
	assert.Equal(t, destinations.RecordResult{Outcome: destinations.Rejected,
		Reason: "Google: INVALID_AUDIENCE_MEMBER: The audience member was refused."}, res.Records[2])
	assert.Empty(t, f.Members(), "Google takes nothing of a request it fails")
}

func TestProcessingFailureIsReportedOnTheRecords(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	f.FailProcessing("PROCESSING_ERROR_REASON_NO_CONSENT")
	res, err := d.Write(context.Background(), &destinations.Batch{IdempotencyKey: "a", Records: []destinations.Record{rec("1", "a@b.nl", nil)}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Rejected, res.Records[0].Outcome)
	assert.Regexp(t, `^Google: request .+ failed: 1 × NO_CONSENT$`, res.Records[0].Reason)

	f.FailProcessing("PROCESSING_ERROR_REASON_INTERNAL_ERROR")
	res, err = d.Write(context.Background(), &destinations.Batch{IdempotencyKey: "b", Records: []destinations.Record{rec("1", "a@b.nl", nil)}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Retry, res.Records[0].Outcome, "Google's own failure is worth another try")

	// Still processing when read: taken, as Google's answer says.
	f.ProcessingPolls = 1
	f.FailProcessing("PROCESSING_ERROR_REASON_NO_CONSENT")
	res, err = d.Write(context.Background(), &destinations.Batch{IdempotencyKey: "c", Records: []destinations.Record{rec("1", "a@b.nl", nil)}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
}

func TestErrorsAreClassified(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	ctx := context.Background()
	b := &destinations.Batch{IdempotencyKey: "a", Records: []destinations.Record{rec("1", "a@b.nl", nil)}}
	for _, c := range []struct {
		status    int
		retryable bool
		msg       string
	}{
		{429, true, "HTTP 429: RESOURCE_EXHAUSTED: Quota exceeded"},
		{503, true, "HTTP 503: UNAVAILABLE"},
		{500, true, "HTTP 500: INTERNAL"},
		{403, false, "HTTP 403: PERMISSION_DENIED: The caller does not have permission"},
	} {
		f.Fail(1, c.status)
		_, err := d.Write(ctx, b)
		e, ok := destinations.AsError(err)
		require.True(t, ok, "%d: %v", c.status, err)
		assert.Equal(t, c.retryable, e.Retryable, "%d", c.status)
		assert.Contains(t, e.Error(), c.msg)
	}
	f.Fail(1, 413)
	_, err := d.Write(ctx, b)
	e, _ := destinations.AsError(err)
	require.NotNil(t, e)
	assert.True(t, e.TooLarge)
	assert.Equal(t, 5, f.Requests())
	assert.Empty(t, f.Members())

	_, err = open(t, f, map[string]any{"refresh_token": "revoked"}).Write(ctx, b)
	assert.EqualError(t, err, "HTTP 400: OAuth token refresh: invalid_grant: Bad Request (issue a new refresh token for the datamanager scope)")

	_, err = open(t, f, map[string]any{"refresh_token": nil, "access_token": "ya29.expired"}).Write(ctx, b)
	e, _ = destinations.AsError(err)
	require.NotNil(t, e)
	assert.Equal(t, 401, e.Status)
	assert.Contains(t, e.Message, "UNAUTHENTICATED")
}

func TestCheck(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	require.NoError(t, open(t, f, nil).(destinations.Checker).Check(ctx))
	assert.Empty(t, f.Members(), "a check is validate-only")
	err := open(t, f, map[string]any{"audience_id": "999"}).(destinations.Checker).Check(ctx)
	assert.ErrorContains(t, err, "destinations[0].product_destination_id INVALID_USER_LIST_ID")
	err = open(t, f, map[string]any{"operating_account_id": "111-222-3333"}).(destinations.Checker).Check(ctx)
	assert.ErrorContains(t, err, "PERMISSION_DENIED")

	_, _, err = destinations.Open(google.Type, destinations.Config{Name: "g", Values: map[string]any{"operating_account_id": "1", "audience_id": "2"}})
	assert.ErrorContains(t, err, "needs credentials: refresh_token with client_id and client_secret, or access_token")
}

func TestEraseRemovesFromTheList(t *testing.T) {
	f := newFake(t)
	d := open(t, f, nil)
	ctx := context.Background()
	_, err := d.Write(ctx, &destinations.Batch{IdempotencyKey: "a", Records: []destinations.Record{rec("1", "ada@example.com", nil)}})
	require.NoError(t, err)
	res, err := d.(destinations.Eraser).Erase(ctx, &destinations.Batch{IdempotencyKey: "e", Records: []destinations.Record{
		{ID: "e", Op: destinations.Remove, Key: map[string]string{"email": "ada@example.com"}}}})
	require.NoError(t, err)
	assert.Equal(t, destinations.Accepted, res.Records[0].Outcome)
	assert.Empty(t, f.Members())
	assert.Equal(t, []string{h("ada@example.com")}, f.Erased())
}
