package destinationstest

import (
	stdsync "sync"
)

// Ledger is the bookkeeping a vendor fake shares with the suite: the
// members the vendor holds, the keys removed, the keys it refuses, the
// failures queued and the data requests counted. A fake embeds it and
// so has every method of Fake but URL; it calls Request, Rejected, Put and
// Remove as it serves.
type Ledger struct {
	mu       stdsync.Mutex
	members  map[string]map[string]any
	removed  []string
	rejected map[string]bool
	fail     []int
	requests int
}

// Members is a copy of the members the fake holds.
func (l *Ledger) Members() map[string]map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]map[string]any, len(l.members))
	for k, m := range l.members {
		c := make(map[string]any, len(m))
		for f, v := range m {
			c[f] = v
		}
		out[k] = c
	}
	return out
}

// Erased lists the keys removed, in order: for vendors whose erasure is a
// removal, the two look the same.
func (l *Ledger) Erased() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.removed...)
}

// Reject makes the fake refuse k from now on.
func (l *Ledger) Reject(k string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rejected == nil {
		l.rejected = map[string]bool{}
	}
	l.rejected[k] = true
}

// Fail queues n failures with status for the next data requests.
func (l *Ledger) Fail(n, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < n; i++ {
		l.fail = append(l.fail, status)
	}
}

// Requests counts the data requests, failed or not.
func (l *Ledger) Requests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

// Request counts a data request and returns the status it is to fail
// with, 0 when none is queued.
func (l *Ledger) Request() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if len(l.fail) == 0 {
		return 0
	}
	st := l.fail[0]
	l.fail = l.fail[1:]
	return st
}

// Rejected reports whether the fake refuses k.
func (l *Ledger) Rejected(k string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rejected[k]
}

// Put merges fields into the member held under k, adding it if new.
func (l *Ledger) Put(k string, fields map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.members == nil {
		l.members = map[string]map[string]any{}
	}
	m := l.members[k]
	if m == nil {
		m = map[string]any{}
		l.members[k] = m
	}
	for f, v := range fields {
		m[f] = v
	}
}

// Remove takes k out (held or not) and records the removal.
func (l *Ledger) Remove(k string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.members, k)
	l.removed = append(l.removed, k)
}
