package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/cohort-cdp/cohort/engine/destinations"
	"github.com/cohort-cdp/cohort/models"
)

// Options configure one delivery. Zero values take the defaults below.
type Options struct {
	Sync    string
	Segment string // the segment the sync sends (Batch.Segment)
	Mode    destinations.Mode
	Limits  destinations.Limits // from the connector's Spec
	Clock   Clock               // nil: the wall clock
	Jitter  func() float64      // a number in [0, 1); nil: random
	// MaxAttempts bounds how often one batch is sent when the request fails
	// as a whole, and how often one record is sent when the destination asks
	// for it again (RecordResult Retry). Default 6.
	MaxAttempts int
	// BaseDelay is the first backoff (default 1s); each retry doubles it up to
	// MaxDelay (default 1m). The wait is half of that plus a random part of
	// the other half, and never less than the vendor's Retry-After.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After a run waits for; a vendor that
	// asks for longer stops the run (its rows stay pending). Default 5m.
	MaxRetryAfter time.Duration
	// CircuitFailures is how many requests in a row may fail before the run
	// stops: the destination is down, and hammering it helps no one. Default
	// MaxAttempts.
	CircuitFailures int
	// BeforeWrite, when set, sees each batch just before it is sent (tests,
	// progress).
	BeforeWrite func(b *destinations.Batch)
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Minute
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 5 * time.Minute
	}
	if o.CircuitFailures <= 0 {
		o.CircuitFailures = o.MaxAttempts
	}
	if o.Limits.BatchRecords <= 0 {
		o.Limits.BatchRecords = 100
	}
	if o.Limits.Concurrency <= 0 {
		o.Limits.Concurrency = 1
	}
}

// Ack is the final word on one record in this run.
type Ack struct {
	Record *destinations.Record
	// Outcome is Accepted, Rejected (for good: recorded with Reason), or
	// Retry: the destination did not take it after every attempt, and it
	// stays pending for the next run.
	Outcome destinations.Outcome
	// Reason is the destination's word on it, masked (models.MaskValuesIn):
	// it may quote the person (an e-mail in an error body, the row
	// PostgreSQL refused).
	Reason   string
	Ref      string // the destination's id for the person, when it gave one
	Attempts int
}

// Stats count what a delivery did.
type Stats struct {
	Added, Changed, Removed int64 // accepted, by operation
	Rejected                int64
	Pending                 int64 // not taken after every attempt: left for the next run
	Retried                 int64 // sends of a record after its first
	Requests                int64 // Writes, failed or not
	Batches                 int64 // distinct batches formed from the stream
}

// Delivered is the number of records the destination accepted.
func (s Stats) Delivered() int64 { return s.Added + s.Changed + s.Removed }

// Deliver sends the records next yields (io.EOF ends them) to d and hands
// every record's final outcome to ack, batch by batch, from the calling
// goroutine. It batches by o.Limits (records and bytes; removals never share
// a batch with adds and updates, and all in-flight batches of one kind finish
// before the other kind starts, so a source yielding removals first never
// has a removal overtake an add), runs Limits.Concurrency writes at once,
// paces them with a token bucket, retries whole-request failures with
// exponential backoff and jitter (honouring Retry-After, which also pauses
// the other writers), halves a batch the destination finds too large,
// re-sends records the destination asks for again, and stops the run on a
// permanent error, on an ack error, or when CircuitFailures requests in a row
// fail. Records not acked when it returns were not delivered.
//
// The error is nil when the run went to the end; records may still have been
// rejected or left pending (see Stats).
func Deliver(ctx context.Context, d destinations.Destination, o Options, next func() (*destinations.Record, error), ack func([]Ack) error) (Stats, error) {
	o.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// results is unbuffered: a writer waits until its outcomes are being
	// recorded, so that at most Concurrency+1 answered batches are not yet
	// recorded when the process dies (they are sent again, with the same
	// change ids, by the next run).
	r := &run{d: d, o: o, ctx: ctx, cancel: cancel, lim: newLimiter(o.Clock, o.Limits), results: make(chan []Ack)}

	work := make(chan []destinations.Record, o.Limits.Concurrency)
	var inflight, workers stdsync.WaitGroup
	go r.batch(next, work, &inflight)
	for i := 0; i < o.Limits.Concurrency; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for b := range work {
				r.process(b, 1)
				inflight.Done()
			}
		}()
	}
	go func() { workers.Wait(); close(r.results) }()

	var st Stats
	var ackErr error
	for acks := range r.results {
		for i, a := range acks {
			acks[i].Reason = models.MaskValuesIn(a.Reason) // before ack keeps or reports it
			switch a.Outcome {
			case destinations.Accepted:
				switch a.Record.Op {
				case destinations.Add:
					st.Added++
				case destinations.Update:
					st.Changed++
				case destinations.Remove:
					st.Removed++
				}
			case destinations.Rejected:
				st.Rejected++
			default:
				st.Pending++
			}
		}
		if ackErr == nil {
			if err := ack(acks); err != nil {
				ackErr = fmt.Errorf("recording what %s took: %w", o.Sync, err)
				r.stop(ackErr)
			}
		}
	}
	st.Retried, st.Requests, st.Batches = r.retried.Load(), r.requests.Load(), r.batches.Load()
	if r.err != nil {
		return st, r.err
	}
	return st, ctx.Err()
}

type run struct {
	d       destinations.Destination
	o       Options
	ctx     context.Context
	cancel  context.CancelFunc
	lim     *limiter
	results chan []Ack

	stopOnce stdsync.Once
	err      error // set once by stop, read after the workers are done

	fails                      atomic.Int64 // requests failed in a row
	retried, requests, batches atomic.Int64
}

// stop ends the run with err (the first one wins).
func (r *run) stop(err error) {
	r.stopOnce.Do(func() {
		r.err = err
		r.cancel()
	})
}

// batch cuts the stream into batches within the limits.
func (r *run) batch(next func() (*destinations.Record, error), work chan<- []destinations.Record, inflight *stdsync.WaitGroup) {
	defer close(work)
	lim := r.o.Limits
	var (
		cur     []destinations.Record
		bytes   int
		removal bool
	)
	flush := func() bool {
		if len(cur) == 0 {
			return true
		}
		inflight.Add(1)
		r.batches.Add(1)
		select {
		case work <- cur:
		case <-r.ctx.Done():
			inflight.Done()
			return false
		}
		cur, bytes = nil, 0
		return true
	}
	for r.ctx.Err() == nil {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			flush()
			return
		}
		if err != nil {
			r.stop(fmt.Errorf("reading the changes of %s: %w", r.o.Sync, err))
			return
		}
		isRemoval := rec.Op == destinations.Remove
		if len(cur) > 0 && isRemoval != removal {
			if !flush() {
				return
			}
			inflight.Wait()
		}
		removal = isRemoval
		size := 0
		if lim.BatchBytes > 0 {
			size = rec.Size()
		}
		if len(cur) >= lim.BatchRecords || (lim.BatchBytes > 0 && len(cur) > 0 && bytes+size > lim.BatchBytes) {
			if !flush() {
				return
			}
		}
		cur = append(cur, *rec)
		bytes += size
	}
}

// process sends recs until each has a final outcome, or the run stops.
func (r *run) process(recs []destinations.Record, attempt int) {
	o := r.o
	for len(recs) > 0 {
		if r.lim.wait(r.ctx) != nil {
			return
		}
		b := &destinations.Batch{Sync: o.Sync, Segment: o.Segment, Mode: o.Mode, IdempotencyKey: idempotencyKey(o.Sync, recs), Records: recs}
		if o.BeforeWrite != nil {
			o.BeforeWrite(b)
		}
		r.requests.Add(1)
		if attempt > 1 {
			r.retried.Add(int64(len(recs)))
		}
		res, err := r.d.Write(r.ctx, b)
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			e, ok := destinations.AsError(err)
			switch {
			case ok && e.TooLarge:
				if len(recs) == 1 {
					r.results <- []Ack{{Record: &recs[0], Outcome: destinations.Rejected, Reason: "too large for the destination: " + e.Error(), Attempts: attempt}}
					return
				}
				half := len(recs) / 2
				r.process(recs[:half], attempt)
				r.process(recs[half:], attempt)
				return
			case ok && e.Retryable:
				if n := r.fails.Add(1); n >= int64(o.CircuitFailures) {
					r.stop(fmt.Errorf("sync %s stopped: the destination failed %d requests in a row; the last said %w", o.Sync, n, err))
					return
				}
				if e.RetryAfter > o.MaxRetryAfter {
					r.stop(fmt.Errorf("sync %s stopped: the destination asks to wait %s before sending again (%w); the rest stays pending for the next run", o.Sync, e.RetryAfter, err))
					return
				}
				if attempt >= o.MaxAttempts {
					r.results <- giveUp(recs, attempt, e.Error())
					return
				}
				wait := r.backoff(attempt)
				if e.RetryAfter > 0 {
					r.lim.hold(o.Clock.Now().Add(e.RetryAfter))
					wait = max(wait, e.RetryAfter)
				}
				if o.Clock.Sleep(r.ctx, wait) != nil {
					return
				}
				attempt++
				continue
			default:
				r.stop(fmt.Errorf("sync %s stopped: %w", o.Sync, err))
				return
			}
		}
		r.fails.Store(0)
		if len(res.Records) != len(recs) {
			r.stop(fmt.Errorf("sync %s stopped: the connector answered %d results for %d records", o.Sync, len(res.Records), len(recs)))
			return
		}
		acks := make([]Ack, 0, len(recs))
		var again []destinations.Record
		for i, rr := range res.Records {
			if rr.Outcome == destinations.Retry && attempt < o.MaxAttempts {
				again = append(again, recs[i])
				continue
			}
			acks = append(acks, Ack{Record: &recs[i], Outcome: rr.Outcome, Reason: rr.Reason, Ref: rr.Ref, Attempts: attempt})
		}
		if len(acks) > 0 {
			r.results <- acks
		}
		if len(again) == 0 {
			return
		}
		if o.Clock.Sleep(r.ctx, r.backoff(attempt)) != nil {
			return
		}
		recs, attempt = again, attempt+1
	}
}

func giveUp(recs []destinations.Record, attempt int, reason string) []Ack {
	acks := make([]Ack, len(recs))
	for i := range recs {
		acks[i] = Ack{Record: &recs[i], Outcome: destinations.Retry, Reason: reason, Attempts: attempt}
	}
	return acks
}

// backoff is the wait after the attempt-th send: exponential, capped, with
// half of it random so that writers do not come back in step.
func (r *run) backoff(attempt int) time.Duration {
	d := r.o.MaxDelay
	if attempt < 30 {
		d = min(r.o.BaseDelay<<(attempt-1), r.o.MaxDelay)
	}
	return d/2 + time.Duration(r.o.Jitter()*float64(d/2))
}

// idempotencyKey is the same for the same records of the same sync, so a
// resend carries the key of the first send.
func idempotencyKey(sync string, recs []destinations.Record) string {
	h := sha256.New()
	h.Write([]byte(sync))
	for i := range recs {
		h.Write([]byte{0})
		h.Write([]byte(recs[i].ID))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// limiter paces requests: a token bucket holding one token, refilled every
// Per/Requests, so requests start evenly spaced and never more than Requests
// in any window of Per. hold pauses every writer (a vendor's Retry-After).
type limiter struct {
	mu       stdsync.Mutex
	clock    Clock
	interval time.Duration
	next     time.Time // when the next request may start
}

func newLimiter(c Clock, l destinations.Limits) *limiter {
	lim := &limiter{clock: c}
	if l.Requests > 0 && l.Per > 0 {
		lim.interval = l.Per / time.Duration(l.Requests)
	}
	return lim
}

func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.clock.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return l.clock.Sleep(ctx, d)
	}
	return ctx.Err()
}

func (l *limiter) hold(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.next) {
		l.next = until
	}
}

// Erasing makes an Eraser deliverable: each Write is an Erase, so erasure
// requests get the same batching, pacing and retries as a sync.
func Erasing(e destinations.Eraser) destinations.Destination { return erasing{e} }

type erasing struct{ e destinations.Eraser }

func (x erasing) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return x.e.Erase(ctx, b)
}
