package destinations

import (
	"context"
	"fmt"
	"time"
)

// Mode is how a sync keeps a destination's audience.
type Mode string

// Sync modes.
const (
	Upsert Mode = "upsert" // add new members and update changed ones
	Mirror Mode = "mirror" // upsert, and remove members who left the segment
	Insert Mode = "insert" // add new members only
)

// Op is what a record asks of the destination.
type Op string

// Record operations.
const (
	Add    Op = "add"    // the person entered the audience
	Update Op = "update" // a synced field of a member changed
	Remove Op = "remove" // the person left the audience (mirror) or withdrew consent
)

// Record is one change for one person.
type Record struct {
	// ID identifies the change deterministically (the same change computed
	// again has the same id), so a destination that sees it twice can ignore
	// the repeat.
	ID        string
	Op        Op
	ProfileID string
	// Key holds the sync's match fields: destination key → value as text,
	// normalized by the trait's rule (e-mail lower-cased, phone in E.164).
	// A connector hashes them where its vendor requires.
	Key map[string]string
	// Fields are the mapped fields (destination field → value), coerced to
	// the types of the Spec; nil for a removal.
	Fields map[string]any
	// Ref is what the destination answered for this person on an earlier
	// write (RecordResult.Ref), e.g. Klaviyo's profile id; "" when none.
	Ref string
}

// Size is the record's encoded size in bytes, as batching by bytes counts
// it: its key and fields as JSON ({"K":key,"F":fields}), and its ids. It is
// counted without encoding, so that the connector's one encoding of the
// batch is the only one (see jsonSize).
func (r *Record) Size() int {
	return len(`{"K":,"F":}`) + stringMapSize(r.Key) + anyMapSize(r.Fields) + len(r.ID) + len(r.ProfileID) + len(r.Ref)
}

// Batch is what one Write sends. A batch holds either adds and updates, or
// removals only, never both; it never exceeds the Spec's limits.
type Batch struct {
	Sync    string // the sync's name
	Segment string // the segment it sends, for vendors that label members or messages with it
	Mode    Mode
	// IdempotencyKey is the same for a resend of the same records.
	IdempotencyKey string
	Records        []Record
}

// Removals reports whether the batch holds removals.
func (b *Batch) Removals() bool { return len(b.Records) > 0 && b.Records[0].Op == Remove }

// Outcome is what became of one record.
type Outcome int

// Record outcomes.
const (
	Accepted Outcome = iota // the destination holds the change
	Rejected                // refused for good for this run; recorded with the reason, and offered again on the sync's later runs (the run is partial)
	Retry                   // not taken this time; the sync engine sends it again
)

func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "accepted"
	case Rejected:
		return "rejected"
	case Retry:
		return "retry"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// RecordResult is the destination's answer for one record.
type RecordResult struct {
	Outcome Outcome
	// Reason is the vendor's own message for a rejection or a retry.
	Reason string
	// Ref is the destination's id for the person, kept with the sync's
	// snapshot and handed back in Record.Ref on later writes.
	Ref string
}

// Result holds one RecordResult per record of the batch, in its order.
type Result struct {
	Records []RecordResult
}

// AllAccepted is the result of a batch the destination took whole.
func AllAccepted(b *Batch) Result {
	r := Result{Records: make([]RecordResult, len(b.Records))}
	return r
}

// Destination delivers batches to one configured destination. One that
// holds connections (a database pool) also implements io.Closer, and
// whoever opened it closes it after use.
type Destination interface {
	// Write sends one batch. An error means the batch as a whole was not
	// taken (see *Error for how the engine treats it); otherwise the Result
	// says per record what was accepted, rejected or should be retried.
	Write(ctx context.Context, b *Batch) (Result, error)
}

// Checker is a Destination that can check its configuration against the
// vendor before any data moves (cohort validate --check-destinations): the
// key is accepted, the list or audience exists.
type Checker interface {
	Check(ctx context.Context) error
}

// Eraser is a Destination that can erase people for an erasure request
// (cohort forget), not only take them off an audience. Each record carries
// the person's identifiers in Key (and Ref when known); Op is Remove.
type Eraser interface {
	Erase(ctx context.Context, b *Batch) (Result, error)
}

// Error is a failure of a whole request. The sync engine retries a
// Retryable one with backoff (at least RetryAfter when the vendor said so),
// halves a TooLarge batch, and otherwise stops the run as failed with
// Message: a wrong key or an unknown list is not fixed by sending again.
type Error struct {
	Status    int // HTTP status, 0 when the request got no answer
	Retryable bool
	// TooLarge: the batch is too large for the vendor, or the vendor
	// refused it whole over one record it does not name (HubSpot's batch
	// validation). Either way the halves are sent apart; a connector
	// rejects a single record the vendor still refuses with its message.
	TooLarge   bool
	RetryAfter time.Duration
	Message    string // the vendor's message
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// Notifier is a Destination that can carry a message for people: sync
// failure alerts and "new members of segment X" digests (slack, webhook).
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Notice is an alert or digest.
type Notice struct {
	Kind  string // "failure", "rejections", "digest"
	Title string // one line, e.g. "sync abandoners_to_klaviyo failed"
	Text  string // details, plain text; the connector applies its vendor's limits
	// Fields are short labelled facts shown beside the text (counts, run id).
	Fields map[string]string
	URL    string // a link to the run in the UI, when served
}

// AsRemovals is b with every record a removal (Op Remove, no fields): an
// Eraser whose vendor's erasure is taking the person out writes it, and
// cannot add someone by mistake.
func AsRemovals(b *Batch) *Batch {
	rb := *b
	rb.Records = make([]Record, len(b.Records))
	for i, r := range b.Records {
		r.Op, r.Fields = Remove, nil
		rb.Records[i] = r
	}
	return &rb
}
