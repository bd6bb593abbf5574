package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// limiter admits requests: at most slots jails run at once and at most
// queue requests wait for one. A request beyond slots+queue is refused at
// once (before its body is read), so memory stays bounded by
// (slots+queue) x the body limit.
type limiter struct {
	slots    chan struct{}
	capacity int64

	admitted atomic.Int64 // requests holding a ticket: waiting or running
	running  atomic.Int64

	closeOnce sync.Once
	closing   chan struct{}
}

var (
	errQueueFull    = errors.New("queue full")
	errShuttingDown = errors.New("shutting down")
	errQueueTimeout = errors.New("queue timeout")
)

func newLimiter(slots, queue int) *limiter {
	return &limiter{
		slots:    make(chan struct{}, slots),
		capacity: int64(slots + queue),
		closing:  make(chan struct{}),
	}
}

// admit takes a ticket; false when slots and queue are all taken.
func (l *limiter) admit() bool {
	select {
	case <-l.closing:
		return false
	default:
	}
	if l.admitted.Add(1) > l.capacity {
		l.admitted.Add(-1)
		return false
	}
	return true
}

// leave gives the ticket back.
func (l *limiter) leave() { l.admitted.Add(-1) }

// acquire waits for a jail slot. The caller must hold a ticket.
func (l *limiter) acquire(ctx context.Context, timeout time.Duration) error {
	select {
	case <-l.closing:
		return errShuttingDown
	default:
	}
	select {
	case l.slots <- struct{}{}:
		l.running.Add(1)
		return nil
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		l.running.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.closing:
		return errShuttingDown
	case <-t.C:
		return errQueueTimeout
	}
}

// release frees a slot taken by acquire.
func (l *limiter) release() {
	l.running.Add(-1)
	<-l.slots
}

// close makes every waiting and future request fail with errShuttingDown.
func (l *limiter) close() { l.closeOnce.Do(func() { close(l.closing) }) }

// queued is the number of admitted requests not running (reading their
// body or waiting for a slot).
func (l *limiter) queued() int64 {
	q := l.admitted.Load() - l.running.Load()
	if q < 0 {
		return 0
	}
	return q
}
