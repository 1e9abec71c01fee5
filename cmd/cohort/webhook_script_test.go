package main

import (
	"encoding/json"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook/fake"
)

// hook is a script's webhook receiver: the fake the sync tests use (the
// reference receiver, verifying signatures and applying each change once),
// which can be told to refuse people or fail requests.
type hook struct {
	f        *fake.Fake
	seen     webhook.Counts // at the previous check
	requests int
	planned  map[string]engine.SyncResult // the latest dry run of each sync
}

// webhookCmd drives the script's receiver:
//
//	webhook start            listen; $CRM_WEBHOOK_URL and $CRM_WEBHOOK_SECRET point at it
//	webhook check            the previous command's stdout is `cohort --json sync` output:
//	                         since the previous check the receiver applied exactly what the
//	                         runs say they delivered, each change once (a dry run: nothing);
//	                         a run after a dry run delivered or rejected what it planned
//	webhook reject-sampled   refuse, from now on, the first person of the previous
//	                         command's dry-run sample
//	webhook fail N STATUS    answer the next N batches with STATUS
func webhookCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: webhook start | check | reject-sampled | fail N STATUS")
	}
	h := ts.Value("webhook").(*hook)
	if args[0] != "start" && h.f == nil {
		ts.Fatalf("webhook: start the receiver first")
	}
	switch args[0] {
	case "start":
		h.f = fake.Start()
		ts.Defer(h.f.Close)
		h.planned = map[string]engine.SyncResult{}
		ts.Setenv("CRM_WEBHOOK_URL", h.f.URL())
		ts.Setenv("CRM_WEBHOOK_SECRET", fake.Secret)
	case "check":
		results := lastSyncResults(ts)
		now, requests := h.f.Counts(), h.f.Requests()
		got := webhook.Counts{Added: now.Added - h.seen.Added, Updated: now.Updated - h.seen.Updated,
			Removed: now.Removed - h.seen.Removed, Rejected: now.Rejected - h.seen.Rejected, Duplicates: now.Duplicates - h.seen.Duplicates}
		var want webhook.Counts
		dry := true
		for _, r := range results {
			run := r.Run
			if run.Status == "" { // a dry run: remembered, nothing sent
				h.planned[run.Sync] = r
				continue
			}
			dry = false
			want.Added += int(run.Added)
			want.Updated += int(run.Changed)
			want.Removed += int(run.Removed)
			want.Rejected += int(r.Stats.Rejected)
			if p, ok := h.planned[run.Sync]; ok {
				delete(h.planned, run.Sync)
				if p.Planned != r.Planned {
					ts.Fatalf("sync %s planned %+v, but its dry run showed %+v", run.Sync, r.Planned, p.Planned)
				}
			}
			if done := run.Added + run.Changed + run.Removed + run.Rejected + run.Pending; done != r.Planned.Total() {
				ts.Fatalf("sync %s: %d changes planned, but %d delivered, rejected or pending", run.Sync, r.Planned.Total(), done)
			}
		}
		if got != want {
			ts.Fatalf("the receiver applied %+v since the last check; the runs say %+v", got, want)
		}
		if dry && requests != h.requests {
			ts.Fatalf("a dry run sent %d requests", requests-h.requests)
		}
		ts.Logf("receiver: %+v since the last check, %d requests", got, requests-h.requests)
		h.seen, h.requests = now, requests
	case "reject-sampled":
		results := lastSyncResults(ts)
		if len(results) == 0 || len(results[0].Sample) == 0 {
			ts.Fatalf("webhook reject-sampled: the previous command showed no sample")
		}
		k := webhook.KeyOf(results[0].Sample[0].Key)
		h.f.Reject(k)
		ts.Logf("the receiver refuses %s", k)
	case "fail":
		if len(args) != 3 {
			ts.Fatalf("usage: webhook fail N STATUS")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		status, err := strconv.Atoi(args[2])
		ts.Check(err)
		h.f.Fail(n, status)
	default:
		ts.Fatalf("webhook: unknown subcommand %q", args[0])
	}
}

func lastSyncResults(ts *testscript.TestScript) []engine.SyncResult {
	var results []engine.SyncResult
	out := ts.ReadFile("stdout")
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		ts.Fatalf("webhook: the previous command did not print `cohort --json sync` output (%v):\n%s", err, out)
	}
	return results
}
