// Package delayed runs a function once, a delay after the first request
// since its last run, in its own goroutine. The API's batched writers
// (rate-limit counts, key last-used times, call counts) use it so that a
// batch is written without a background loop that must be started and
// stopped, and nothing runs while the node is idle.
package delayed

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// timeout bounds one run.
const timeout = 10 * time.Second

// Run runs fn at most once per delay, delay after the first Schedule since
// its last run.
type Run struct {
	delay time.Duration
	fn    func(context.Context)

	mu        sync.Mutex
	scheduled bool
	// pending mirrors scheduled for Schedule's fast path: the hot paths
	// call it on every request, and a run is nearly always pending then.
	pending atomic.Bool
	stopped bool
	wake    chan struct{}
	wg      sync.WaitGroup
}

// New returns a Run of fn; fn's context ends after ten seconds.
func New(delay time.Duration, fn func(context.Context)) *Run {
	return &Run{delay: delay, fn: fn, wake: make(chan struct{})}
}

// Schedule makes fn run delay from now, unless a run is already scheduled.
func (d *Run) Schedule() {
	// A run that is still pending has not yet taken what the caller added
	// before calling: it cleared pending before running fn.
	if d.pending.Load() {
		return
	}
	d.mu.Lock()
	if d.scheduled || d.stopped {
		d.mu.Unlock()
		return
	}
	d.scheduled = true
	d.pending.Store(true)
	d.wg.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.wg.Done()
		t := time.NewTimer(d.delay)
		select {
		case <-t.C:
		case <-d.wake:
			t.Stop()
			d.mu.Lock()
			d.scheduled = false
			d.pending.Store(false)
			d.mu.Unlock()
			return // stopped: the caller flushes itself
		}
		d.mu.Lock()
		d.scheduled = false
		d.pending.Store(false)
		d.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		d.fn(ctx)
	}()
}

// Stop cancels a scheduled run and waits for a running one; later
// Schedules do nothing.
func (d *Run) Stop() {
	d.mu.Lock()
	if !d.stopped {
		d.stopped = true
		close(d.wake)
	}
	d.mu.Unlock()
	d.wg.Wait()
}
