package slack

import (
	"context"
	"net/http"
	"strings"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// client posts messages to one incoming webhook.
type client struct {
	http *http.Client
	url  string
}

func (c *client) post(ctx context.Context, msg message) error {
	_, _, err := destinations.Do(ctx, c.http, destinations.Request{
		Method: http.MethodPost, URL: c.url, Body: msg, Message: explain,
	})
	return err
}

// hints say what to do about the plain-text error codes incoming webhooks
// answer with.
var hints = map[string]string{
	"invalid_payload":                   "Slack could not read the message",
	"invalid_blocks":                    "Slack refused the message's blocks",
	"invalid_blocks_format":             "Slack refused the message's blocks",
	"no_text":                           "the message had no text",
	"invalid_token":                     "the webhook URL is not valid: check config.webhook_url",
	"no_service":                        "the webhook was revoked or disabled: create a new one and update config.webhook_url",
	"no_team":                           "the webhook's workspace is gone: create a new webhook",
	"team_disabled":                     "the webhook's workspace is disabled",
	"channel_not_found":                 "the webhook's channel no longer exists: create a new webhook",
	"channel_is_archived":               "the webhook's channel is archived: unarchive it or create a new webhook",
	"action_prohibited":                 "the workspace does not allow this webhook to post there",
	"posting_to_general_channel_denied": "only admins may post to this channel",
	"user_not_found":                    "the message names a user Slack does not know",
	"rollup_error":                      "Slack failed on its side",
}

// explain turns Slack's error code into the code and what to do.
func explain(body []byte) string {
	code := strings.TrimSpace(string(body))
	if h, ok := hints[code]; ok {
		return code + ": " + h
	}
	return code
}
