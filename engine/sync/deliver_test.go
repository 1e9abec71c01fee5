package sync

import (
	"context"
	"fmt"
	"io"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// scripted is a destination whose answers a test decides, recording every
// batch it was sent and when (by the delivery's clock).
type scripted struct {
	mu     stdsync.Mutex
	clock  Clock
	answer func(n int, b *destinations.Batch) (destinations.Result, error)
	sent   []destinations.Batch
	at     []time.Time
}

func (s *scripted) Write(_ context.Context, b *destinations.Batch) (destinations.Result, error) {
	s.mu.Lock()
	n := len(s.sent)
	cp := *b
	cp.Records = append([]destinations.Record(nil), b.Records...)
	s.sent = append(s.sent, cp)
	s.at = append(s.at, s.clock.Now())
	s.mu.Unlock()
	if s.answer == nil {
		return destinations.AllAccepted(b), nil
	}
	return s.answer(n, b)
}

func records(n int, op destinations.Op) []destinations.Record {
	out := make([]destinations.Record, n)
	for i := range out {
		out[i] = destinations.Record{ID: fmt.Sprintf("%s-%d", op, i), Op: op, ProfileID: fmt.Sprintf("p%d", i),
			Key: map[string]string{"email": fmt.Sprintf("u%d@example.nl", i)}}
		if op != destinations.Remove {
			out[i].Fields = map[string]any{"n": i}
		}
	}
	return out
}

func from(recs []destinations.Record) func() (*destinations.Record, error) {
	i := 0
	return func() (*destinations.Record, error) {
		if i == len(recs) {
			return nil, io.EOF
		}
		i++
		return &recs[i-1], nil
	}
}

type acked struct {
	mu   stdsync.Mutex
	acks []Ack
	seen map[string]int
}

func (a *acked) ack(acks []Ack) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]int{}
	}
	for _, x := range acks {
		a.seen[x.Record.ID]++
	}
	a.acks = append(a.acks, acks...)
	return nil
}

func (a *acked) outcomes() map[string]destinations.Outcome {
	out := map[string]destinations.Outcome{}
	for _, x := range a.acks {
		out[x.Record.ID] = x.Outcome
	}
	return out
}

func setup(limits destinations.Limits) (*ManualClock, *scripted, Options) {
	c := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return c, &scripted{clock: c}, Options{Sync: "s", Mode: destinations.Mirror, Limits: limits, Clock: c, Jitter: func() float64 { return 0.5 }}
}

func TestBatchingByRecordsAndBytesKeepsRemovalsApart(t *testing.T) {
	one := records(1, destinations.Add)[0]
	_, d, o := setup(destinations.Limits{BatchRecords: 4, BatchBytes: 3 * one.Size(), Concurrency: 3})
	recs := append(records(5, destinations.Remove), records(7, destinations.Add)...)
	recs = append(recs, records(2, destinations.Update)...)
	var a acked
	st, err := Deliver(context.Background(), d, o, from(recs), a.ack)
	require.NoError(t, err)
	assert.Equal(t, Stats{Added: 7, Changed: 2, Removed: 5, Requests: st.Requests, Batches: st.Batches}, st)
	total := 0
	removalsDone := false
	for _, b := range d.sent {
		assert.LessOrEqual(t, len(b.Records), 4)
		size := 0
		for i, r := range b.Records {
			size += r.Size()
			assert.Equal(t, b.Records[0].Op == destinations.Remove, r.Op == destinations.Remove, "batch mixes removals with adds: %v", i)
		}
		assert.LessOrEqual(t, size, o.Limits.BatchBytes)
		if !b.Removals() {
			removalsDone = true
		} else {
			assert.False(t, removalsDone, "a removal was sent after an add started")
		}
		total += len(b.Records)
	}
	assert.Equal(t, 14, total)
	for id, n := range a.seen {
		assert.Equal(t, 1, n, id)
	}
	assert.Len(t, a.seen, 14)
}

func TestPacingSpacesRequestsByTheSpec(t *testing.T) {
	c, d, o := setup(destinations.Limits{BatchRecords: 1, Requests: 4, Per: time.Second, Concurrency: 3})
	_, err := Deliver(context.Background(), d, o, from(records(12, destinations.Add)), (&acked{}).ack)
	require.NoError(t, err)
	require.Len(t, d.at, 12)
	// Requests start in slots 250ms apart: the n-th at or after n*250ms.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, at := range sortedTimes(d.at) {
		assert.GreaterOrEqual(t, at.Sub(start), time.Duration(i)*250*time.Millisecond, "request %d", i)
	}
	assert.GreaterOrEqual(t, c.Slept(), 11*250*time.Millisecond)
}

func sortedTimes(ts []time.Time) []time.Time {
	out := append([]time.Time(nil), ts...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Before(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRetryHonoursRetryAfterAndKeepsTheIdempotencyKey(t *testing.T) {
	c, d, o := setup(destinations.Limits{BatchRecords: 10})
	d.answer = func(n int, b *destinations.Batch) (destinations.Result, error) {
		switch n {
		case 0:
			return destinations.Result{}, &destinations.Error{Status: 429, Retryable: true, RetryAfter: 7 * time.Second, Message: "slow down"}
		case 1:
			return destinations.Result{}, &destinations.Error{Status: 502, Retryable: true, Message: "bad gateway"}
		}
		return destinations.AllAccepted(b), nil
	}
	var a acked
	st, err := Deliver(context.Background(), d, o, from(records(3, destinations.Add)), a.ack)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Added)
	assert.Equal(t, int64(6), st.Retried)
	assert.Equal(t, int64(3), st.Requests)
	require.Len(t, d.sent, 3)
	assert.Equal(t, d.sent[0].IdempotencyKey, d.sent[2].IdempotencyKey)
	naps := c.Naps()
	require.Len(t, naps, 2)
	assert.Equal(t, 7*time.Second, naps[0], "Retry-After beats a shorter backoff")
	assert.Equal(t, 1500*time.Millisecond, naps[1], "second backoff: 2s, half of it random (0.5 here)")
	for _, x := range a.acks {
		assert.Equal(t, 3, x.Attempts)
	}
}

func TestTooLargeBatchesAreHalved(t *testing.T) {
	_, d, o := setup(destinations.Limits{BatchRecords: 8})
	d.answer = func(_ int, b *destinations.Batch) (destinations.Result, error) {
		huge := false
		for _, r := range b.Records {
			huge = huge || r.ID == "add-5"
		}
		if len(b.Records) > 2 || huge {
			return destinations.Result{}, &destinations.Error{Status: 413, TooLarge: true, Message: "payload too large"}
		}
		return destinations.AllAccepted(b), nil
	}
	var a acked
	st, err := Deliver(context.Background(), d, o, from(records(8, destinations.Add)), a.ack)
	require.NoError(t, err)
	assert.Equal(t, int64(7), st.Added)
	assert.Equal(t, int64(1), st.Rejected)
	assert.Equal(t, destinations.Rejected, a.outcomes()["add-5"])
	assert.Len(t, a.seen, 8)
}

func TestRecordsAskedAgainAreResentThenLeftPending(t *testing.T) {
	_, d, o := setup(destinations.Limits{BatchRecords: 10})
	o.MaxAttempts = 3
	d.answer = func(_ int, b *destinations.Batch) (destinations.Result, error) {
		res := destinations.AllAccepted(b)
		for i, r := range b.Records {
			switch r.ID {
			case "add-1":
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Retry, Reason: "locked"}
			case "add-2":
				res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: "invalid email"}
			}
		}
		if len(b.Records) == 4 { // the first send: add-3 is taken on its second
			res.Records[3] = destinations.RecordResult{Outcome: destinations.Retry}
		}
		return res, nil
	}
	var a acked
	st, err := Deliver(context.Background(), d, o, from(records(4, destinations.Add)), a.ack)
	require.NoError(t, err)
	assert.Equal(t, Stats{Added: 2, Rejected: 1, Pending: 1, Retried: 3, Requests: 3, Batches: 1}, st)
	out := a.outcomes()
	assert.Equal(t, destinations.Retry, out["add-1"])
	assert.Equal(t, destinations.Accepted, out["add-3"])
	for _, x := range a.acks {
		if x.Record.ID == "add-2" {
			assert.Equal(t, "invalid email", x.Reason)
		}
	}
	assert.Len(t, d.sent[1].Records, 2)
	assert.Len(t, d.sent[2].Records, 1)
}

func TestPermanentErrorStopsTheRun(t *testing.T) {
	_, d, o := setup(destinations.Limits{BatchRecords: 2})
	d.answer = func(n int, b *destinations.Batch) (destinations.Result, error) {
		if n == 1 {
			return destinations.Result{}, &destinations.Error{Status: 401, Message: "invalid API key"}
		}
		return destinations.AllAccepted(b), nil
	}
	var a acked
	st, err := Deliver(context.Background(), d, o, from(records(10, destinations.Add)), a.ack)
	require.ErrorContains(t, err, "HTTP 401: invalid API key")
	assert.Equal(t, int64(2), st.Added)
	assert.Len(t, d.sent, 2, "nothing is sent after a permanent error")
}

func TestCircuitStopsADestinationThatKeepsFailing(t *testing.T) {
	_, d, o := setup(destinations.Limits{BatchRecords: 2, Concurrency: 2})
	o.CircuitFailures = 4
	d.answer = func(n int, b *destinations.Batch) (destinations.Result, error) {
		return destinations.Result{}, &destinations.Error{Status: 500, Retryable: true, Message: "internal error"}
	}
	st, err := Deliver(context.Background(), d, o, from(records(100, destinations.Add)), (&acked{}).ack)
	require.ErrorContains(t, err, "failed 4 requests in a row")
	assert.Zero(t, st.Delivered())
	assert.LessOrEqual(t, len(d.sent), 5, "stops instead of trying all 50 batches")
}

func TestRetryAfterTooLongStopsTheRun(t *testing.T) {
	_, d, o := setup(destinations.Limits{BatchRecords: 2})
	d.answer = func(n int, b *destinations.Batch) (destinations.Result, error) {
		return destinations.Result{}, &destinations.Error{Status: 429, Retryable: true, RetryAfter: time.Hour, Message: "daily quota"}
	}
	_, err := Deliver(context.Background(), d, o, from(records(4, destinations.Add)), (&acked{}).ack)
	require.ErrorContains(t, err, "asks to wait 1h0m0s")
}

func TestAckFailureStopsTheRun(t *testing.T) {
	_, d, o := setup(destinations.Limits{BatchRecords: 1})
	n := 0
	_, err := Deliver(context.Background(), d, o, from(records(50, destinations.Add)), func([]Ack) error {
		n++
		if n == 3 {
			return fmt.Errorf("disk full")
		}
		return nil
	})
	require.ErrorContains(t, err, "disk full")
	assert.Less(t, len(d.sent), 50)
}

func TestSourceErrorStopsTheRun(t *testing.T) {
	_, d, o := setup(destinations.Limits{BatchRecords: 1})
	_, err := Deliver(context.Background(), d, o, func() (*destinations.Record, error) { return nil, fmt.Errorf("connection reset") }, (&acked{}).ack)
	require.ErrorContains(t, err, "reading the changes of s: connection reset")
}
