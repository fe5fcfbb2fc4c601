package server

import (
	"context"
	"sync"
	"time"
)

// deadlineCtx is the context of a command with maxTimeMS. Unlike
// context.WithDeadline it arms no timer and does not register with its
// parent until someone asks for Done: most commands finish without ever
// selecting on it (they only call Err, which compares the clock), and a
// timer and a parent registration per command cost about 2% of the
// server's CPU under the Go driver, which sends maxTimeMS derived from
// every context deadline.
type deadlineCtx struct {
	parent   context.Context
	deadline time.Time

	mu     sync.Mutex
	inner  context.Context // context.WithDeadline, made by the first Done
	cancel context.CancelFunc
}

func withLazyDeadline(parent context.Context, d time.Time) (*deadlineCtx, context.CancelFunc) {
	c := &deadlineCtx{parent: parent, deadline: d}
	return c, c.release
}

func (c *deadlineCtx) Deadline() (time.Time, bool) {
	if pd, ok := c.parent.Deadline(); ok && pd.Before(c.deadline) {
		return pd, true
	}
	return c.deadline, true
}

func (c *deadlineCtx) Value(key any) any { return c.parent.Value(key) }

func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.inner.Done()
}

func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	inner := c.inner
	c.mu.Unlock()
	if inner != nil {
		return inner.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// release frees the timer, if Done made one.
func (c *deadlineCtx) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}
