package catalog

import (
	"bytes"
	"sync"

	"github.com/cairndb/cairn/internal/storage"
)

// idHighs remembers, per collection, a key that no record key of the
// collection exceeds. An insert whose record key is greater needs no read
// to know its _id is new: with the ascending ObjectIds drivers generate,
// that is nearly every insert, and it saves a storage lookup (a Get that
// consults the memtables and every level's bloom filter) per document.
//
// The bound only ever has to be at least the largest key stored, so it is
// safe to raise it early: a transaction that inserts and then aborts
// leaves it higher than needed, which only costs a later insert its read.
// Records are written only by Writer (under the engine's write lock), and
// collection ids are never reused, so a dropped collection's bound cannot
// apply to another. Only engines that are Exclusive to this process get
// bounds: with a shared engine another process may insert.
type idHighs struct {
	enabled bool
	mu      sync.Mutex
	high    map[uint64][]byte
}

func newIDHighs(eng storage.Engine) *idHighs {
	x, ok := eng.(storage.Exclusive)
	return &idHighs{enabled: ok && x.Exclusive(), high: map[uint64][]byte{}}
}

// above reports whether rk, a record key of collection id, is greater than
// every record key stored, reading the collection's largest key through
// txn the first time.
func (h *idHighs) above(txn storage.Txn, id uint64, rk []byte) (bool, error) {
	if !h.enabled {
		return false, nil
	}
	h.mu.Lock()
	hi, ok := h.high[id]
	h.mu.Unlock()
	if !ok {
		var err error
		if hi, err = largestKey(txn, recPrefix(id)); err != nil {
			return false, err
		}
		h.mu.Lock()
		if cur, ok := h.high[id]; !ok || bytes.Compare(hi, cur) > 0 {
			h.high[id] = hi
		}
		h.mu.Unlock()
	}
	return bytes.Compare(rk, hi) > 0, nil
}

// raise records that rk may now be stored.
func (h *idHighs) raise(id uint64, rk []byte) {
	if !h.enabled {
		return
	}
	h.mu.Lock()
	if cur, ok := h.high[id]; ok && bytes.Compare(rk, cur) > 0 {
		h.high[id] = append(cur[:0:0], rk...)
	}
	h.mu.Unlock()
}

// largestKey returns the largest key under prefix, or prefix itself when
// there is none (every key under it is greater).
func largestKey(r storage.Reader, prefix []byte) ([]byte, error) {
	lo, hi := prefixRange(prefix)
	it, err := r.Scan(lo, hi, true)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if it.Next() {
		return append([]byte(nil), it.Key()...), nil
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	return append([]byte(nil), prefix...), nil
}
