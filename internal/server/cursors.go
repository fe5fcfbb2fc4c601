package server

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"

	"github.com/cairndb/cairn/internal/commands"
	"github.com/cairndb/cairn/internal/mongoerr"
)

// CursorStore implements commands.CursorStore: an in-memory table of open
// cursors with random positive ids and an idle timeout.
type CursorStore struct {
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	idle    map[int64]*commands.Cursor // available for getMore
	out     map[int64]*commands.Cursor // checked out
	killed  map[int64]bool             // checked out and killed meanwhile
	stop    chan struct{}
	started bool
	closed  bool
}

var _ commands.CursorStore = (*CursorStore)(nil)

// NewCursorStore returns a store whose cursors expire after timeout of
// inactivity (timeout <= 0 disables expiry). Call StartReaper to expire
// cursors in the background and Close to stop it.
func NewCursorStore(timeout time.Duration) *CursorStore {
	return &CursorStore{
		timeout: timeout,
		now:     time.Now,
		idle:    map[int64]*commands.Cursor{},
		out:     map[int64]*commands.Cursor{},
		killed:  map[int64]bool{},
		stop:    make(chan struct{}),
	}
}

// StartReaper starts the goroutine that closes idle cursors; it runs every
// timeout/10 (at least every second, at most every minute). It is a no-op
// if already started or if expiry is disabled.
func (cs *CursorStore) StartReaper() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.started || cs.closed || cs.timeout <= 0 {
		return
	}
	cs.started = true
	every := min(max(cs.timeout/10, time.Second), time.Minute)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-cs.stop:
				return
			case <-t.C:
				cs.Reap()
			}
		}
	}()
}

// Reap closes cursors idle for longer than the timeout and returns how
// many it closed.
func (cs *CursorStore) Reap() int {
	if cs.timeout <= 0 {
		return 0
	}
	cs.mu.Lock()
	deadline := cs.now().Add(-cs.timeout)
	var victims []*commands.Cursor
	for id, c := range cs.idle {
		if c.LastUsed.Before(deadline) {
			delete(cs.idle, id)
			victims = append(victims, c)
		}
	}
	cs.mu.Unlock()
	for _, c := range victims {
		closeCursor(c)
	}
	return len(victims)
}

// Len returns the number of open cursors, checked out or not.
func (cs *CursorStore) Len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.idle) + len(cs.out)
}

func randomID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) & (1<<63 - 1))
}

// Add registers c, assigns it a fresh id and returns the id.
func (cs *CursorStore) Add(c *commands.Cursor) int64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for {
		id := randomID()
		if id == 0 {
			continue
		}
		if _, dup := cs.idle[id]; dup {
			continue
		}
		if _, dup := cs.out[id]; dup {
			continue
		}
		c.ID = id
		c.LastUsed = cs.now()
		cs.idle[id] = c
		return id
	}
}

func cursorNotFound(id int64) error {
	return mongoerr.Newf(mongoerr.CursorNotFound, "cursor id %d not found", id)
}

// Checkout takes cursor id for a getMore on ns.
func (cs *CursorStore) Checkout(id int64, ns string) (*commands.Cursor, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.idle[id]
	if !ok {
		if _, busy := cs.out[id]; busy {
			return nil, mongoerr.Newf(mongoerr.CursorNotFound, "cursor id %d is already in use", id)
		}
		return nil, cursorNotFound(id)
	}
	if c.NS != ns {
		return nil, mongoerr.Newf(mongoerr.CursorNotFound, "cursor id %d belongs to namespace %s, not %s", id, c.NS, ns)
	}
	delete(cs.idle, id)
	cs.out[id] = c
	return c, nil
}

// Checkin returns a checked-out cursor and refreshes its idle time. A
// cursor killed while checked out is closed instead.
func (cs *CursorStore) Checkin(c *commands.Cursor) {
	cs.mu.Lock()
	if cs.out[c.ID] != c {
		cs.mu.Unlock()
		return
	}
	delete(cs.out, c.ID)
	if cs.killed[c.ID] || cs.closed {
		delete(cs.killed, c.ID)
		cs.mu.Unlock()
		closeCursor(c)
		return
	}
	c.LastUsed = cs.now()
	cs.idle[c.ID] = c
	cs.mu.Unlock()
}

// Remove closes and forgets a checked-out (or idle) cursor.
func (cs *CursorStore) Remove(c *commands.Cursor) {
	cs.mu.Lock()
	if cs.out[c.ID] == c {
		delete(cs.out, c.ID)
		delete(cs.killed, c.ID)
	} else if cs.idle[c.ID] == c {
		delete(cs.idle, c.ID)
	}
	cs.mu.Unlock()
	closeCursor(c)
}

// Kill closes the cursors with the given ids in ns. A cursor that is
// checked out is marked and closed when it is checked in.
func (cs *CursorStore) Kill(ns string, ids []int64) (killed, notFound []int64) {
	var victims []*commands.Cursor
	cs.mu.Lock()
	for _, id := range ids {
		if c, ok := cs.idle[id]; ok && c.NS == ns {
			delete(cs.idle, id)
			victims = append(victims, c)
			killed = append(killed, id)
			continue
		}
		if c, ok := cs.out[id]; ok && c.NS == ns && !cs.killed[id] {
			cs.killed[id] = true
			killed = append(killed, id)
			continue
		}
		notFound = append(notFound, id)
	}
	cs.mu.Unlock()
	for _, c := range victims {
		closeCursor(c)
	}
	return killed, notFound
}

// KillAll closes every cursor; checked-out ones close at check-in.
func (cs *CursorStore) KillAll() {
	cs.mu.Lock()
	victims := make([]*commands.Cursor, 0, len(cs.idle))
	for id, c := range cs.idle {
		victims = append(victims, c)
		delete(cs.idle, id)
	}
	for id := range cs.out {
		cs.killed[id] = true
	}
	cs.mu.Unlock()
	for _, c := range victims {
		closeCursor(c)
	}
}

// Close kills every cursor and stops the reaper.
func (cs *CursorStore) Close() {
	cs.mu.Lock()
	if !cs.closed {
		cs.closed = true
		close(cs.stop)
	}
	cs.mu.Unlock()
	cs.KillAll()
}

func closeCursor(c *commands.Cursor) {
	if c.Iter != nil {
		_ = c.Iter.Close()
	}
}
