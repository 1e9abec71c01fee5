package state

// Leases: an exclusive, expiring claim on a key ("project:shop"), so that two
// processes never do conflicting work at once: two runs of one project, or a
// run and a sync of it. A lease is a row of table leases, taken with one
// INSERT that the key's primary key lets only one process win, on SQLite and
// on a PostgreSQL store shared by machines alike. Its holder renews it on a
// heartbeat (every third of its TTL) until it releases it. A lease may be
// taken over when its holder is known to be gone: its expiry has passed (a
// holder on any machine that stopped renewing: crashed, killed, cut off), or
// it was taken on this host by a process that no longer exists (kill -9: no
// need to wait for the TTL). Expiry times are written with the holder's
// clock, so machines sharing a store need clocks that agree to well within
// the TTL (NTP does).

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal.
const DefaultLeaseTTL = 30 * time.Second

// LeaseHolder is who holds a lease.
type LeaseHolder struct {
	Holder     string    `json:"holder"` // what holds it, e.g. "cohort run"
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func (h LeaseHolder) String() string {
	return fmt.Sprintf("%s (pid %d on %s, since %s)", h.Holder, h.PID, h.Host, h.AcquiredAt.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// HeldError says a lease is held by another, live holder.
type HeldError struct {
	Key string
	By  LeaseHolder
}

func (e *HeldError) Error() string { return fmt.Sprintf("%s is held by %s", e.Key, e.By) }

// ErrLeaseLost is the cause of a lease's Lost channel closing: another
// process took the lease over (this one did not renew it in time).
var ErrLeaseLost = errors.New("state store: the lease was lost: another process took it over after this one failed to renew it in time")

// Lease is a held lease. It renews itself until Release.
type Lease struct {
	s      *Store
	Key    string
	token  string
	Holder LeaseHolder
	ttl    time.Duration

	lost     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// Lost is closed when the lease was lost before Release.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release stops renewing the lease and gives it up.
func (l *Lease) Release(ctx context.Context) error {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
	_, err := l.s.db.ExecContext(ctx, l.s.bind(`DELETE FROM leases WHERE key = ? AND token = ?`), l.Key, l.token)
	if err != nil {
		return fmt.Errorf("state store: release %s: %w", l.Key, err)
	}
	return nil
}

// Acquire takes the lease on key for holder, taking over a stale one, or
// returns a *HeldError naming its live holder.
func (s *Store) Acquire(ctx context.Context, key, holder string, ttl time.Duration) (*Lease, error) {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	host, _ := os.Hostname()
	for {
		cur, token, err := s.leaseRow(ctx, key)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			if !s.stale(*cur, host) {
				return nil, &HeldError{Key: key, By: *cur}
			}
			// Only the stale holder's row goes: a process that took it over
			// meanwhile keeps its own.
			if _, err := s.db.ExecContext(ctx, s.bind(`DELETE FROM leases WHERE key = ? AND token = ?`), key, token); err != nil {
				return nil, fmt.Errorf("state store: take over %s: %w", key, err)
			}
		}
		now := s.now()
		l := &Lease{s: s, Key: key, token: newToken(), ttl: ttl,
			Holder: LeaseHolder{Holder: holder, Host: host, PID: os.Getpid(), AcquiredAt: now, ExpiresAt: now.Add(ttl)},
			lost:   make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
		res, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO leases (key, token, holder, host, pid, acquired_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`),
			key, l.token, holder, host, l.Holder.PID, s.timeArg(now), s.timeArg(l.Holder.ExpiresAt))
		if err != nil {
			return nil, fmt.Errorf("state store: acquire %s: %w", key, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			if err != nil {
				return nil, fmt.Errorf("state store: acquire %s: %w", key, err)
			}
			go l.heartbeat()
			return l, nil
		}
		// Another process inserted first: look at its row again.
	}
}

// AcquireWait is Acquire that waits while the lease is held, calling
// waiting once with the holder it waits for (and again when the holder
// changes), until it gets the lease or ctx ends.
func (s *Store) AcquireWait(ctx context.Context, key, holder string, ttl time.Duration, waiting func(*HeldError)) (*Lease, error) {
	var last LeaseHolder
	for {
		l, err := s.Acquire(ctx, key, holder, ttl)
		var held *HeldError
		if !errors.As(err, &held) {
			return l, err
		}
		if waiting != nil && held.By != last {
			waiting(held)
			last = held.By
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", key, context.Cause(ctx))
		case <-time.After(leasePoll):
		}
	}
}

// leasePoll is how often AcquireWait tries again.
const leasePoll = 500 * time.Millisecond

// Holder returns who holds the lease on key, nil when nobody does (or the
// holder is gone).
func (s *Store) Holder(ctx context.Context, key string) (*LeaseHolder, error) {
	cur, _, err := s.leaseRow(ctx, key)
	if err != nil || cur == nil {
		return nil, err
	}
	host, _ := os.Hostname()
	if s.stale(*cur, host) {
		return nil, nil
	}
	return cur, nil
}

func (s *Store) leaseRow(ctx context.Context, key string) (*LeaseHolder, string, error) {
	var (
		h                 LeaseHolder
		token             string
		acquired, expires any
	)
	err := s.db.QueryRowContext(ctx, s.bind(`SELECT token, holder, host, pid, acquired_at, expires_at FROM leases WHERE key = ?`), key).
		Scan(&token, &h.Holder, &h.Host, &h.PID, &acquired, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("state store: read lease %s: %w", key, err)
	}
	if h.AcquiredAt, err = scanTime(acquired); err != nil {
		return nil, "", err
	}
	if h.ExpiresAt, err = scanTime(expires); err != nil {
		return nil, "", err
	}
	return &h, token, nil
}

// stale: the holder stopped renewing, or was on this host and is gone.
func (s *Store) stale(h LeaseHolder, host string) bool {
	return s.now().After(h.ExpiresAt) || h.Host == host && !processAlive(h.PID)
}

func (s *Store) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// heartbeat renews the lease every third of its TTL until Release, and
// closes Lost when the lease is gone (taken over) or could not be renewed
// before it expired.
func (l *Lease) heartbeat() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	expires := l.Holder.ExpiresAt
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
		next := l.s.now().Add(l.ttl)
		res, err := l.s.db.ExecContext(ctx, l.s.bind(`UPDATE leases SET expires_at = ? WHERE key = ? AND token = ?`), l.s.timeArg(next), l.Key, l.token)
		cancel()
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				close(l.lost)
				return
			}
			expires = next
			continue
		}
		if l.s.now().After(expires) { // not renewed in time: others may take it
			close(l.lost)
			return
		}
	}
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// processAlive reports whether a process with this id exists on this host
// (one of another user counts: signal 0 is refused, not unanswered).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
