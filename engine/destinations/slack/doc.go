// Package slack posts to a Slack incoming webhook: sync alerts (as a
// destinations.Notifier) and digests of the people who entered or changed
// in a segment, within Slack's message limits.
package slack
