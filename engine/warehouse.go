package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cohort-cdp/cohort/dialects"
)

// handles is the warehouse a Service opens itself, shared by its reads and
// its writes.
//
// On a warehouse whose writer must be alone (Capabilities().ExclusiveWriter:
// the embedded DuckDB file) reads go through a read-only handle, which other
// processes may hold too (a BI tool, a second `cohort profile`), and a
// write (a run, a sync, a forget) swaps it for a read-write one for its
// duration: it waits for the reads in flight, closes the read-only handle
// (DuckDB refuses a second configuration of an open file within one
// process), opens read-write, and closes that again at its end. Reads
// arriving during a write use the writer's handle (one database instance
// serves both), so the API keeps answering while a run works. A read-only
// handle unused for idle is closed, leaving the file free for another
// process's run.
//
// Elsewhere one read-write handle serves everything, as a pool does.
//
// A read holds the handle for one call (a query until its rows are closed):
// new reads are never made to wait for a waiting write, so a read that
// issues a statement while its rows are open cannot deadlock; the write
// waits for a moment without a read in flight.
type handles struct {
	open      func(ctx context.Context, o openMode) (dialects.Warehouse, error)
	d         dialects.Dialect
	exclusive bool
	idle      time.Duration // 0: keep the read-only handle open

	mu        sync.Mutex
	changed   *sync.Cond // inUse fell to 0, or cur was replaced
	cur       dialects.Warehouse
	rw        bool // cur is read-write
	writers   int  // writes under way (nested: a sync's forget)
	switching bool // a write is replacing cur
	inUse     int  // reads in flight on cur
	lastUse   time.Time
	timer     *time.Timer
	closed    bool
	// columns caches Columns on a read-only handle of an exclusive
	// warehouse: no process can change its tables while it is open, and
	// a look-up asks for several (DuckDB answers from information_schema
	// in milliseconds, a large share of a keyed look-up). Emptied whenever
	// the handle changes.
	columns map[string]cachedColumns
	// kept holds Remember's values, on the same terms as columns.
	kept map[string]*keptValue
}

type keptValue struct {
	once sync.Once
	v    any
	err  error
}

type cachedColumns struct {
	cols []dialects.Column
	err  error
}

// openMode is how handles open the warehouse: read-only, creating an
// embedded file that does not exist, with a memory limit of its own.
type openMode struct {
	readOnly, create bool
	// small opens an embedded warehouse for a process that is to stay
	// small (a sync): see Service.syncWarehouse.
	small bool
}

func newHandles(d dialects.Dialect, idle time.Duration, open func(ctx context.Context, o openMode) (dialects.Warehouse, error)) *handles {
	h := &handles{open: open, d: d, exclusive: d.Capabilities().ExclusiveWriter, idle: idle}
	h.changed = sync.NewCond(&h.mu)
	return h
}

var errClosed = errors.New("the service is closed")

// acquire is the handle for one read, opened on first use.
func (h *handles) acquire(ctx context.Context) (dialects.Warehouse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.switching && h.cur == nil { // a write is opening its handle; while it drains the old one, reads go on
		h.changed.Wait()
	}
	if h.closed {
		return nil, errClosed
	}
	if h.cur == nil {
		wh, err := h.open(ctx, openMode{readOnly: h.exclusive})
		if err != nil {
			return nil, err
		}
		h.cur, h.rw, h.columns, h.kept = wh, !h.exclusive, nil, nil
	}
	h.inUse++
	return h.cur, nil
}

// release ends a read; the last one arms the idle close.
func (h *handles) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inUse--
	h.lastUse = time.Now()
	if h.inUse > 0 {
		return
	}
	h.changed.Broadcast()
	if h.exclusive && !h.rw && h.idle > 0 {
		if h.timer == nil {
			h.timer = time.AfterFunc(h.idle, h.closeIdle)
		} else {
			h.timer.Reset(h.idle)
		}
	}
}

func (h *handles) closeIdle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil || h.rw || h.inUse > 0 || h.switching {
		return
	}
	if wait := h.idle - time.Since(h.lastUse); wait > 0 {
		h.timer.Reset(wait)
		return
	}
	_ = h.cur.Close()
	h.cur, h.columns, h.kept = nil, nil, nil
}

// write opens the read-write handle for a write and returns it with the
// function ending the write. create makes an embedded warehouse that does
// not exist yet; memoryLimit, when set, caps a handle opened for it (one
// already open read-write is used as it is).
func (h *handles) write(ctx context.Context, create, small bool) (dialects.Warehouse, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.switching {
		h.changed.Wait()
	}
	if h.closed {
		return nil, nil, errClosed
	}
	if h.cur == nil || !h.rw {
		h.switching = true
		for h.inUse > 0 {
			h.changed.Wait()
		}
		if h.cur != nil {
			_ = h.cur.Close()
			h.cur = nil
		}
		h.columns, h.kept = nil, nil
		wh, err := h.open(ctx, openMode{create: create, small: small})
		h.switching = false
		h.changed.Broadcast()
		if err != nil {
			return nil, nil, err
		}
		h.cur, h.rw = wh, true
	}
	h.writers++
	var once sync.Once
	return h.cur, func() { once.Do(h.endWrite) }, nil
}

// endWrite: after the last write, the read-write handle of an exclusive
// warehouse is closed once no read uses it; the next read opens read-only.
func (h *handles) endWrite() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writers--
	if h.writers > 0 || !h.exclusive || h.cur == nil {
		return
	}
	h.switching = true
	for h.inUse > 0 {
		h.changed.Wait()
	}
	_ = h.cur.Close()
	h.cur, h.rw, h.switching, h.columns, h.kept = nil, false, false, nil, nil
	h.changed.Broadcast()
}

// Close closes the open handle; later calls fail.
func (h *handles) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.timer != nil {
		h.timer.Stop()
	}
	if h.cur == nil {
		return nil
	}
	err := h.cur.Close()
	h.cur = nil
	return err
}

// reads is a dialects.Warehouse over handles for reads: each call takes
// the current handle and gives it back when done (a query when its rows
// are closed).
type reads struct{ h *handles }

func (r reads) Dialect() dialects.Dialect { return r.h.d }

func (r reads) Exec(ctx context.Context, q string, args ...any) error {
	wh, err := r.h.acquire(ctx)
	if err != nil {
		return err
	}
	defer r.h.release()
	return wh.Exec(ctx, q, args...)
}

func (r reads) Query(ctx context.Context, q string, args ...any) (dialects.Rows, error) {
	wh, err := r.h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := wh.Query(ctx, q, args...)
	if err != nil {
		r.h.release()
		return nil, err
	}
	return &heldRows{Rows: rows, release: r.h.release}, nil
}

func (r reads) Tables(ctx context.Context, schema, marker string) ([]dialects.Table, error) {
	wh, err := r.h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer r.h.release()
	return wh.Tables(ctx, schema, marker)
}

func (r reads) InTx(ctx context.Context, statements []string) error {
	wh, err := r.h.acquire(ctx)
	if err != nil {
		return err
	}
	defer r.h.release()
	return wh.InTx(ctx, statements)
}

func (r reads) Columns(ctx context.Context, table string) ([]dialects.Column, error) {
	wh, err := r.h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer r.h.release()
	h := r.h
	h.mu.Lock()
	cacheable := h.exclusive && !h.rw && h.cur == wh
	c, ok := h.columns[table]
	h.mu.Unlock()
	if cacheable && ok {
		return c.cols, c.err
	}
	cols, err := wh.Columns(ctx, table)
	if cacheable && (err == nil || errors.Is(err, dialects.ErrNoTable)) {
		h.mu.Lock()
		if h.cur == wh && !h.rw {
			if h.columns == nil {
				h.columns = map[string]cachedColumns{}
			}
			h.columns[table] = cachedColumns{cols, err}
		}
		h.mu.Unlock()
	}
	return cols, err
}

// Remember keeps f's value on a read-only handle of an exclusive warehouse
// until the handle changes, as Columns does; one caller computes it while
// the others wait. A failure is not kept.
func (r reads) Remember(ctx context.Context, key string, f func(context.Context, dialects.Warehouse) (any, error)) (any, bool, error) {
	wh, err := r.h.acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	defer r.h.release()
	h := r.h
	h.mu.Lock()
	if !h.exclusive || h.rw || h.cur != wh {
		h.mu.Unlock()
		return nil, false, nil
	}
	k := h.kept[key]
	if k == nil {
		if h.kept == nil {
			h.kept = map[string]*keptValue{}
		}
		k = &keptValue{}
		h.kept[key] = k
	}
	h.mu.Unlock()
	k.once.Do(func() { k.v, k.err = f(context.WithoutCancel(ctx), wh) }) // not ended by its first caller leaving
	if k.err != nil {
		h.mu.Lock()
		if h.kept[key] == k {
			delete(h.kept, key)
		}
		h.mu.Unlock()
		return nil, false, k.err
	}
	return k.v, true, nil
}

func (r reads) QueryColumns(ctx context.Context, q string) ([]dialects.Column, error) {
	wh, err := r.h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer r.h.release()
	return wh.QueryColumns(ctx, q)
}

// Close does nothing: the service closes its handles.
func (r reads) Close() error { return nil }

// Warnings passes the warehouse's advice on (dialects.Warner).
func (r reads) Warnings(ctx context.Context) []string {
	wh, err := r.h.acquire(ctx)
	if err != nil {
		return nil
	}
	defer r.h.release()
	return dialects.Warnings(ctx, wh)
}

type heldRows struct {
	dialects.Rows
	release func()
	once    sync.Once
}

func (r *heldRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}
