package pebble

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairndb/cairn/internal/storage"
)

// pebbleReader is what snapshots and batches have in common.
type pebbleReader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

// get reads key from r and returns a copy of its value.
func get(r pebbleReader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage/pebble: get: %w", err)
	}
	out := make([]byte, len(v))
	copy(out, v)
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("storage/pebble: get: %w", err)
	}
	return out, nil
}

func newIter(r pebbleReader, lower, upper []byte, reverse bool) (*iterator, error) {
	// Copy the bounds: Pebble keeps referencing them.
	o := &pebble.IterOptions{}
	if lower != nil {
		o.LowerBound = append([]byte(nil), lower...)
	}
	if upper != nil {
		o.UpperBound = append([]byte(nil), upper...)
	}
	it, err := r.NewIter(o)
	if err != nil {
		return nil, fmt.Errorf("storage/pebble: scan: %w", err)
	}
	return &iterator{it: it, reverse: reverse}, nil
}

// snapshot implements storage.Snapshot.
type snapshot struct {
	e    *Engine
	snap *pebble.Snapshot
	// shared is set when snap belongs to the engine's durable snapshot,
	// which is reference counted instead of closed.
	shared *sharedSnap
	// rc, when set, serves Get; rcA is the commit number noted before
	// snap was taken (rowcache.go).
	rc  *rowCache
	rcA uint64

	mu     sync.Mutex
	closed bool
	iters  map[*iterator]struct{}
}

func (s *snapshot) Get(key []byte) ([]byte, error) {
	if !s.e.enter() {
		return nil, storage.ErrClosed
	}
	defer s.e.exit()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, storage.ErrClosed
	}
	return cachedGet(s.rc, s.rcA, s.snap, key)
}

// cachedGet is get through the row cache rc (if not nil) for a read that
// noted commit a.
func cachedGet(rc *rowCache, a uint64, r pebbleReader, key []byte) ([]byte, error) {
	if v, ok := rc.lookup(key, a); ok {
		return append([]byte(nil), v...), nil
	}
	v, err := get(r, key)
	if err == nil {
		rc.store(key, v, a)
	}
	return v, err
}

func (s *snapshot) Scan(lower, upper []byte, reverse bool) (storage.Iterator, error) {
	if !s.e.enter() {
		return nil, storage.ErrClosed
	}
	defer s.e.exit()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, storage.ErrClosed
	}
	it, err := newIter(s.snap, lower, upper, reverse)
	if err != nil {
		return nil, err
	}
	it.eng = s.e
	it.onClose = func(it *iterator) {
		s.mu.Lock()
		delete(s.iters, it)
		s.mu.Unlock()
	}
	s.iters[it] = struct{}{}
	return it, nil
}

// NewGetter implements storage.PointReader with one Pebble iterator
// reused for every read; seeking forward from its last position lets
// Pebble skip work (its seek-using-next optimization).
func (s *snapshot) NewGetter() (storage.Getter, error) {
	it, err := s.Scan(nil, nil, false)
	if err != nil {
		return nil, err
	}
	return &getter{it: it.(*iterator)}, nil
}

// getter implements storage.Getter.
type getter struct {
	it  *iterator
	pos bool // it is positioned on a key (the last one found or passed)
}

// seek positions the iterator on key and reports whether it is there.
// Index order often matches record order (or nearly), so when the
// iterator sits just before key, one Next (which stays inside the current
// block) is tried before a SeekGE (which seeks every level of the tree).
func (g *getter) seek(key []byte) bool {
	it := g.it.it
	if g.pos {
		switch c := bytes.Compare(it.Key(), key); {
		case c == 0:
			return true
		case c < 0:
			if !it.Next() {
				g.pos = false
				return false // nothing after the previous key: key is absent
			}
			switch c := bytes.Compare(it.Key(), key); {
			case c == 0:
				return true
			case c > 0:
				return false // key would sit between two adjacent keys
			}
		}
	}
	if len(key) == 0 {
		// The same as SeekGE, which Pebble's invariants builds (-race)
		// refuse an empty key.
		g.pos = it.First()
	} else {
		g.pos = it.SeekGE(key)
	}
	return g.pos && bytes.Equal(it.Key(), key)
}

func (g *getter) Get(key []byte) ([]byte, error) { return g.open(g.get, key) }

// Borrow implements storage.Borrower: the value is Pebble's, valid until
// the iterator moves (the next call) or closes.
func (g *getter) Borrow(key []byte) ([]byte, error) { return g.open(g.find, key) }

// open runs read(key) while the engine and the getter are open.
func (g *getter) open(read func([]byte) ([]byte, error), key []byte) ([]byte, error) {
	i := g.it
	if !i.eng.enter() {
		return nil, storage.ErrClosed
	}
	defer i.eng.exit()
	if i.closed {
		return nil, storage.ErrClosed
	}
	return read(key)
}

// get seeks key and returns a copy of its value, or ErrNotFound.
func (g *getter) get(key []byte) ([]byte, error) {
	v, err := g.find(key)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), v...), nil
}

// find seeks key and returns its value in Pebble's memory, or ErrNotFound.
func (g *getter) find(key []byte) ([]byte, error) {
	if !g.seek(key) {
		if err := g.it.it.Error(); err != nil {
			return nil, fmt.Errorf("storage/pebble: get: %w", err)
		}
		return nil, storage.ErrNotFound
	}
	v, err := g.it.it.ValueAndErr()
	if err != nil {
		return nil, fmt.Errorf("storage/pebble: get: %w", err)
	}
	return v, nil
}

func (g *getter) Close() error { return g.it.Close() }

// Close closes the snapshot and any iterators still open on it.
func (s *snapshot) Close() error {
	if !s.e.enter() {
		// Engine.Close already released (or is releasing) the snapshot.
		return nil
	}
	defer s.e.exit()
	return s.release()
}

// release closes the snapshot's iterators and the Pebble snapshot. It is
// idempotent.
func (s *snapshot) release() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	iters := make([]*iterator, 0, len(s.iters))
	for it := range s.iters {
		iters = append(iters, it)
	}
	s.iters = nil
	s.mu.Unlock()

	var errs []error
	for _, it := range iters {
		it.onClose = nil
		if err := it.closeIter(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.shared != nil {
		s.shared.unref()
	} else if err := s.snap.Close(); err != nil {
		errs = append(errs, err)
	}
	s.e.mu.Lock()
	delete(s.e.snapshots, s)
	s.e.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage/pebble: close snapshot: %w", err)
	}
	return nil
}

// txn implements storage.Txn over an indexed batch. It is only valid
// during the Update callback.
type txn struct {
	e     *Engine
	b     *pebble.Batch
	done  bool
	iters map[*iterator]struct{}
	// applied holds the OnApply functions, run by runTxn after the commit.
	applied []func()
}

// OnApply implements storage.ApplyNotifier.
func (t *txn) OnApply(fn func()) { t.applied = append(t.applied, fn) }

var errTxnDone = errors.New("storage/pebble: transaction used after Update returned")

func (t *txn) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	if t.b.Empty() {
		// Nothing written yet: the read is of the committed state, every
		// commit up to the last applied (the write lock is held).
		return cachedGet(t.e.rc, t.e.applied.Load(), t.b, key)
	}
	return get(t.b, key)
}

func (t *txn) Scan(lower, upper []byte, reverse bool) (storage.Iterator, error) {
	it, err := t.iter(lower, upper, reverse)
	if err != nil {
		return nil, err
	}
	return it, nil
}

// iter opens an iterator over the transaction that is closed with it.
func (t *txn) iter(lower, upper []byte, reverse bool) (*iterator, error) {
	if t.done {
		return nil, errTxnDone
	}
	it, err := newIter(t.b, lower, upper, reverse)
	if err != nil {
		return nil, err
	}
	it.onClose = func(it *iterator) { delete(t.iters, it) }
	t.iters[it] = struct{}{}
	return it, nil
}

// NewGetter implements storage.PointReader inside a transaction: one
// Pebble iterator over the batch and the database, refreshed when the
// batch has changed since the last read (SetOptions re-reads the batch),
// instead of a Batch.Get per key, which builds a lookup over every level
// and table each time. The caller holds the write lock, so the database
// part cannot change under it.
func (t *txn) NewGetter() (storage.Getter, error) {
	it, err := t.iter(nil, nil, false)
	if err != nil {
		return nil, err
	}
	return &txnGetter{t: t, g: getter{it: it}, seen: len(t.b.Repr())}, nil
}

// txnGetter implements storage.Getter over a txn.
type txnGetter struct {
	t    *txn
	g    getter
	seen int // batch length when the iterator last read it
}

func (tg *txnGetter) Get(key []byte) ([]byte, error) {
	if tg.t.done || tg.g.it.closed {
		return nil, errTxnDone
	}
	if n := len(tg.t.b.Repr()); n != tg.seen {
		tg.g.it.it.SetOptions(&pebble.IterOptions{})
		tg.g.pos = false
		tg.seen = n
	}
	return tg.g.get(key)
}

func (tg *txnGetter) Close() error { return tg.g.it.Close() }

func (t *txn) Set(key, value []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := t.b.Set(key, value, nil); err != nil {
		return fmt.Errorf("storage/pebble: set: %w", err)
	}
	return nil
}

func (t *txn) Delete(key []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := t.b.Delete(key, nil); err != nil {
		return fmt.Errorf("storage/pebble: delete: %w", err)
	}
	return nil
}

func (t *txn) DeleteRange(lower, upper []byte) error {
	if t.done {
		return errTxnDone
	}
	if lower == nil {
		lower = []byte{}
	}
	if upper == nil {
		// No upper bound: delete [lower, +inf) by deleting the keys one
		// by one from the largest present key's successor downwards.
		it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: lower})
		if err != nil {
			return fmt.Errorf("storage/pebble: delete range: %w", err)
		}
		if !it.Last() {
			return it.Close()
		}
		upper = append(append([]byte(nil), it.Key()...), 0)
		if err := it.Close(); err != nil {
			return fmt.Errorf("storage/pebble: delete range: %w", err)
		}
	}
	if err := t.b.DeleteRange(lower, upper, nil); err != nil {
		return fmt.Errorf("storage/pebble: delete range: %w", err)
	}
	return nil
}

// runApplied runs the OnApply functions once the commit is applied.
func (t *txn) runApplied() {
	for _, fn := range t.applied {
		fn()
	}
	t.applied = nil
}

// finish closes the iterators left open by fn and invalidates the txn.
func (t *txn) finish() {
	t.done = true
	for it := range t.iters {
		it.onClose = nil
		_ = it.closeIter()
	}
	t.iters = nil
}

// iterator implements storage.Iterator over a Pebble iterator.
type iterator struct {
	it      *pebble.Iterator
	eng     *Engine // non-nil for snapshot iterators: guards against Close
	reverse bool
	started bool
	valid   bool
	closed  bool
	err     error
	onClose func(*iterator)
}

func (i *iterator) Next() bool {
	if i.closed || i.err != nil {
		if i.closed && i.err == nil {
			i.err = storage.ErrClosed
		}
		i.valid = false
		return false
	}
	if i.eng != nil {
		if !i.eng.enter() {
			i.err = storage.ErrClosed
			i.valid = false
			return false
		}
		defer i.eng.exit()
	}
	switch {
	case !i.started && i.reverse:
		i.valid = i.it.Last()
	case !i.started:
		i.valid = i.it.First()
	case i.reverse:
		i.valid = i.it.Prev()
	default:
		i.valid = i.it.Next()
	}
	i.started = true
	if !i.valid {
		if err := i.it.Error(); err != nil {
			i.err = fmt.Errorf("storage/pebble: iterate: %w", err)
		}
	}
	return i.valid
}

func (i *iterator) Key() []byte {
	if !i.valid || i.closed {
		return nil
	}
	return i.it.Key()
}

func (i *iterator) Value() []byte {
	if !i.valid || i.closed {
		return nil
	}
	v, err := i.it.ValueAndErr()
	if err != nil {
		i.err = fmt.Errorf("storage/pebble: read value: %w", err)
		return nil
	}
	return v
}

func (i *iterator) Err() error { return i.err }

// Close closes the iterator. Closing an iterator that its snapshot or
// transaction already closed is a no-op.
func (i *iterator) Close() error {
	if i.eng != nil {
		if !i.eng.enter() {
			return nil // Engine.Close closed it
		}
		defer i.eng.exit()
	}
	if i.closed {
		return nil
	}
	if i.onClose != nil {
		i.onClose(i)
		i.onClose = nil
	}
	return i.closeIter()
}

func (i *iterator) closeIter() error {
	if i.closed {
		return nil
	}
	i.closed = true
	i.valid = false
	if err := i.it.Close(); err != nil {
		return fmt.Errorf("storage/pebble: close iterator: %w", err)
	}
	return nil
}
