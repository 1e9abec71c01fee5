package fake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/destinations/google/fake"
)

func send(t *testing.T, f *fake.Server, path string, body map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", f.URL()+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+f.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m), string(out))
	return resp.StatusCode, m
}

func request(f *fake.Server, members ...any) map[string]any {
	return map[string]any{
		"destinations":    []any{map[string]any{"operatingAccount": map[string]any{"accountType": "GOOGLE_ADS", "accountId": f.AccountID}, "productDestinationId": f.AudienceID}},
		"audienceMembers": members,
		"encoding":        "HEX",
	}
}

func member(ids ...map[string]any) map[string]any {
	return map[string]any{"userData": map[string]any{"userIdentifiers": ids}}
}

// violations lists "field reason" of a fast-fail answer.
func violations(ans map[string]any) []string {
	var out []string
	for _, d := range ans["error"].(map[string]any)["details"].([]any) {
		vs, _ := d.(map[string]any)["fieldViolations"].([]any) // ErrorInfo has none
		for _, v := range vs {
			v := v.(map[string]any)
			out = append(out, v["field"].(string)+" "+v["reason"].(string))
		}
	}
	return out
}

func TestTheFakeChecksAsGoogleDoes(t *testing.T) {
	f := fake.New()
	defer f.Close()
	h := destinations.SHA256("ada@example.com")

	st, ans := send(t, f, "/v1/audienceMembers:ingest", request(f,
		member(map[string]any{"emailAddress": h}),
		member(map[string]any{"emailAddress": "ada@example.com"}),
		member(map[string]any{"phoneNumber": h[:63]}),
		member(map[string]any{"emailAddress": h, "phoneNumber": h}),
		member(map[string]any{"address": map[string]any{"givenName": h, "familyName": h, "regionCode": "nl", "postalCode": "1011"}}),
		member(),
	))
	require.Equal(t, 400, st, "%v", ans)
	assert.Equal(t, []string{
		"audience_members.audience_members[1].user_data.user_identifiers[0] INVALID_HEX_ENCODING",
		"audience_members.audience_members[2].user_data.user_identifiers[0] INVALID_SHA256_FORMAT",
		"audience_members.audience_members[3].user_data.user_identifiers[0] INVALID_ARGUMENT",
		"audience_members.audience_members[4].user_data.user_identifiers[0].address.region_code INVALID_FORMAT",
		"audience_members.audience_members[5] NO_IDENTIFIERS_PROVIDED",
	}, violations(ans))
	assert.Empty(t, f.Members(), "fast fail: nothing of a refused request is taken")

	body := request(f, member(map[string]any{"emailAddress": h}))
	delete(body, "encoding")
	st, ans = send(t, f, "/v1/audienceMembers:ingest", body)
	assert.Equal(t, 400, st)
	assert.Equal(t, []string{"encoding REQUIRED_FIELD_MISSING"}, violations(ans))

	many := make([]any, 10001)
	for i := range many {
		many[i] = member(map[string]any{"emailAddress": h})
	}
	st, ans = send(t, f, "/v1/audienceMembers:ingest", request(f, many...))
	assert.Equal(t, 400, st)
	assert.Equal(t, []string{"audience_members TOO_MANY_AUDIENCE_MEMBERS"}, violations(ans))

	body = request(f, member(map[string]any{"emailAddress": h}))
	body["consent"] = map[string]any{"adUserData": "CONSENT_GRANTED"}
	st, _ = send(t, f, "/v1/audienceMembers:remove", body)
	assert.Equal(t, 400, st, "a removal has no consent field")

	st, ans = send(t, f, "/v1/audienceMembers:ingest", request(f, member(map[string]any{"emailAddress": h})))
	require.Equal(t, 200, st)
	id := ans["requestId"].(string)
	assert.Contains(t, f.Members(), h)

	req, _ := http.NewRequest("GET", f.URL()+"/v1/requestStatus:retrieve?requestId="+id, nil)
	req.Header.Set("Authorization", "Bearer "+f.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var status struct {
		PerDestination []map[string]any `json:"requestStatusPerDestination"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&status))
	require.Len(t, status.PerDestination, 1)
	assert.Equal(t, "SUCCESS", status.PerDestination[0]["requestStatus"])
	assert.Equal(t, map[string]any{"userDataIngestionStatus": map[string]any{"recordCount": "1", "userIdentifierCount": "1",
		"uploadMatchRateRange": "MATCH_RATE_RANGE_51_TO_60"}}, status.PerDestination[0]["audienceMembersIngestionStatus"])
	assert.Equal(t, 5, f.Requests(), "every data request counts, refused or not")
}
