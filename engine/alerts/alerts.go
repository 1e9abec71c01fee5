// Package alerts decides which notices a finished sync run calls for — its
// failure, its recovery, a rejection rate above the sync's threshold — and
// sends them through the destination the sync's alert names.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/engine/plan"
	"github.com/cohort-cdp/cohort/models"
)

// Outcome is a finished sync run as alerts read it.
type Outcome struct {
	Sync                    string
	RunID                   string
	Status                  string // succeeded | partial | failed
	Error                   string // why the run failed
	Added, Changed, Removed int64
	// Rejected records were refused for good by the destination; Retry
	// records were not delivered and wait for the next run.
	Rejected, Retry int64
	// Sent is how many records the destination answered for (accepted or
	// rejected): the base of the rejection rate.
	Sent int64
	// Reasons are a few of the destination's rejection messages.
	Reasons []string
	URL     string // the run in the UI, when served
}

// Failing reports whether the run failed or left records undelivered.
func (o *Outcome) Failing() bool { return o != nil && (o.Status == "failed" || o.Retry > 0) }

// RejectionRate is the share of sent records rejected, in percent.
func (o *Outcome) RejectionRate() float64 {
	if o.Sent == 0 {
		return 0
	}
	return float64(o.Rejected) * 100 / float64(o.Sent)
}

// Notice kinds beyond destinations' failure and rejections.
const Recovered = "recovered"

// Decide lists the notices a run calls for under alert a, knowing the
// sync's previous run (nil when none). A failure alerts once, when the sync
// starts failing, and its recovery once more; a run whose rejection rate
// is above the threshold alerts every time.
func Decide(a *models.Alert, prev *Outcome, cur Outcome) []destinations.Notice {
	if a == nil {
		return nil
	}
	var out []destinations.Notice
	if a.Wants("failure") {
		switch {
		case cur.Failing() && !prev.Failing():
			n := notice(cur, "failure")
			if cur.Status == "failed" {
				n.Title = fmt.Sprintf("sync %s failed", cur.Sync)
				n.Text = cur.Error
			} else {
				n.Title = fmt.Sprintf("sync %s left %s undelivered", cur.Sync, plan.Count(int64(cur.Retry), "record"))
				n.Text = "They are sent again on the next run."
			}
			out = append(out, n)
		case !cur.Failing() && prev.Failing():
			n := notice(cur, Recovered)
			n.Title = fmt.Sprintf("sync %s recovered", cur.Sync)
			n.Text = "The last run delivered every record."
			out = append(out, n)
		}
	}
	if a.Wants("rejections") && cur.Rejected > 0 && cur.RejectionRate() > a.Threshold() {
		n := notice(cur, "rejections")
		n.Title = fmt.Sprintf("sync %s: %.1f%% of records rejected (%d of %d, threshold %s%%)",
			cur.Sync, cur.RejectionRate(), cur.Rejected, cur.Sent, strconv.FormatFloat(a.Threshold(), 'f', -1, 64))
		if len(cur.Reasons) > 0 {
			n.Text = "Reasons: " + strings.Join(cur.Reasons, "; ")
		}
		out = append(out, n)
	}
	return out
}

func notice(o Outcome, kind string) destinations.Notice {
	f := map[string]string{
		"status":   o.Status,
		"added":    strconv.FormatInt(o.Added, 10),
		"changed":  strconv.FormatInt(o.Changed, 10),
		"removed":  strconv.FormatInt(o.Removed, 10),
		"rejected": strconv.FormatInt(o.Rejected, 10),
		"retry":    strconv.FormatInt(o.Retry, 10),
	}
	if o.RunID != "" {
		f["run"] = o.RunID
	}
	return destinations.Notice{Kind: kind, Fields: f, URL: o.URL}
}

// Send delivers the notices through d, which must be a Notifier; every
// notice is tried and the errors are joined.
func Send(ctx context.Context, destination string, d destinations.Destination, notices []destinations.Notice) error {
	if len(notices) == 0 {
		return nil
	}
	n, ok := d.(destinations.Notifier)
	if !ok {
		return fmt.Errorf("alert destination %s cannot carry alerts: name a slack or webhook destination", destination)
	}
	var errs []error
	for _, x := range notices {
		if err := n.Notify(ctx, x); err != nil {
			errs = append(errs, fmt.Errorf("alert %q through %s: %w", x.Title, destination, err))
		}
	}
	return errors.Join(errs...)
}
