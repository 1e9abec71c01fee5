package slack

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

type destination struct {
	c *client
}

func open(cfg destinations.Config) (destinations.Destination, error) {
	raw := cfg.String("webhook_url")
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host != "hooks.slack.com" || !strings.HasPrefix(u.Path, "/services/") {
		// the URL is the secret: never print it back
		return nil, fmt.Errorf("config.webhook_url: not a Slack incoming webhook URL (https://hooks.slack.com/services/T…/B…/…)")
	}
	base := defaultWebhook
	if ep := cfg.String("endpoint"); ep != "" {
		base = strings.TrimRight(ep, "/")
	}
	return &destination{c: &client{http: cfg.HTTP, url: base + u.EscapedPath()}}, nil
}

// message is an incoming webhook's JSON body.
type message struct {
	Text        string  `json:"text"` // the notification's fallback
	Blocks      []block `json:"blocks,omitempty"`
	UnfurlLinks bool    `json:"unfurl_links"`
	UnfurlMedia bool    `json:"unfurl_media"`
}

type block struct {
	Type     string `json:"type"`
	Text     *text  `json:"text,omitempty"`
	Fields   []text `json:"fields,omitempty"`
	Elements []text `json:"elements,omitempty"`
}

type text struct {
	Type string `json:"type"` // plain_text | mrkdwn
	Text string `json:"text"`
}

func header(s string) block {
	return block{Type: "header", Text: &text{"plain_text", cut(s, maxHeader)}}
}

func section(s string) block {
	return block{Type: "section", Text: &text{"mrkdwn", cut(s, maxSection)}}
}

func contextBlock(s string) block {
	return block{Type: "context", Elements: []text{{"mrkdwn", cut(s, maxSection)}}}
}

// cut shortens s to n characters, ending with … when it had more.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// esc escapes the three characters Slack's mrkdwn reserves.
func esc(s string) string { return mrkdwn.Replace(s) }

var mrkdwn = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Write posts one digest message: the batch's new members and (mode
// upsert) changed ones, a line each. Removals and batches with nothing to
// list post nothing.
func (d *destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	var added, changed []string
	for i := range b.Records {
		r := &b.Records[i]
		switch r.Op {
		case destinations.Add:
			added = append(added, line(r))
		case destinations.Update:
			changed = append(changed, line(r))
		}
	}
	if len(added)+len(changed) == 0 {
		return destinations.AllAccepted(b), nil
	}
	name := "segment " + b.Segment
	if b.Segment == "" {
		name = "sync " + b.Sync
	}
	title := fmt.Sprintf("%s: %s", name, counts(len(added), len(changed)))
	msg := message{Text: title, Blocks: []block{header(title)}}
	msg.Blocks = append(msg.Blocks, sections("*New members*", added)...)
	msg.Blocks = append(msg.Blocks, sections("*Changed*", changed)...)
	if b.Sync != "" {
		msg.Blocks = append(msg.Blocks, contextBlock("sync "+esc(b.Sync)))
	}
	if err := d.c.post(ctx, msg); err != nil {
		return destinations.Result{}, err
	}
	return destinations.AllAccepted(b), nil
}

func counts(added, changed int) string {
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	}
	switch {
	case changed == 0:
		return plural(added, "new member", "new members")
	case added == 0:
		return plural(changed, "member changed", "members changed")
	}
	return plural(added, "new member", "new members") + ", " + plural(changed, "changed", "changed")
}

// sections packs a heading and lines into as few section blocks as fit.
func sections(heading string, lines []string) []block {
	if len(lines) == 0 {
		return nil
	}
	var out []block
	cur := heading
	for _, l := range lines {
		if utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(l) > maxSection {
			out = append(out, section(cur))
			cur = l
			continue
		}
		cur += "\n" + l
	}
	return append(out, section(cur))
}

// line is a member's line: "• key · key — label: value · label: value",
// at most maxLine characters.
func line(r *destinations.Record) string {
	var ids []string
	for _, k := range []string{"email", "phone", "id"} {
		if v := strings.TrimSpace(r.Key[k]); v != "" {
			ids = append(ids, esc(v))
		}
	}
	if len(ids) == 0 {
		ids = append(ids, esc(r.ProfileID))
	}
	s := "• " + strings.Join(ids, " · ")
	labels := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	var fs []string
	for _, k := range labels {
		fs = append(fs, esc(k)+": "+esc(show(r.Fields[k])))
	}
	if len(fs) > 0 {
		s += " — " + strings.Join(fs, " · ")
	}
	return cut(s, maxLine)
}

// show is a value as people read it.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

var emoji = map[string]string{"failure": ":red_circle:", "rejections": ":warning:", "recovered": ":large_green_circle:", "digest": ":busts_in_silhouette:"}

// Notify posts an alert: its title as the header, the text, the labelled
// facts as fields and a link to the run.
func (d *destination) Notify(ctx context.Context, n destinations.Notice) error {
	title := n.Title
	if e := emoji[n.Kind]; e != "" {
		title = e + " " + title
	}
	msg := message{Text: cut(title, maxSection), Blocks: []block{header(n.Title)}}
	if t := strings.TrimSpace(n.Text); t != "" {
		msg.Blocks = append(msg.Blocks, section(esc(t)))
	}
	if len(n.Fields) > 0 {
		keys := make([]string, 0, len(n.Fields))
		for k := range n.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) > maxFields {
			keys = keys[:maxFields]
		}
		f := block{Type: "section"}
		for _, k := range keys {
			f.Fields = append(f.Fields, text{"mrkdwn", cut("*"+esc(k)+"*\n"+esc(n.Fields[k]), maxField)})
		}
		msg.Blocks = append(msg.Blocks, f)
	}
	if n.URL != "" && !strings.ContainsAny(n.URL, "|<> ") {
		msg.Blocks = append(msg.Blocks, contextBlock("<"+n.URL+"|Open the run>"))
	}
	return d.c.post(ctx, msg)
}

var _ destinations.Notifier = (*destination)(nil)
