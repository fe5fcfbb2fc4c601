package catalog

import (
	"bytes"
	"slices"
	"sync"

	"github.com/cairndb/cairn/internal/storage"
)

// idHighs remembers, per collection, which record keys can be stored, so
// that most inserts need no read to know their _id is new. For each
// collection it keeps a floor key and the set of keys inserted above it
// since: every stored record key greater than the floor is in the set. An
// insert whose key is above the floor and not in the set is new without a
// storage lookup (a Get that consults the memtables and every level's bloom
// filter, under the write lock). With the ascending ObjectIds drivers
// generate that is nearly every insert, including the ones that arrive a
// little out of order from concurrent clients, which a single
// largest-key bound sent to the read.
//
// The set may hold keys that are not stored (a transaction that inserted
// and then aborted, a document deleted since): they only cost a later
// insert of the same key its read. When the set outgrows maxRecentKeys its
// smaller half is dropped and the floor rises to the largest key dropped,
// so the invariant holds. Records are written only by Writer (under the
// engine's write lock), and collection ids are never reused, so a dropped
// collection's keys cannot apply to another. Only engines that are
// Exclusive to this process get this: with a shared engine another process
// may insert.
type idHighs struct {
	enabled bool
	mu      sync.Mutex
	colls   map[uint64]*recentKeys
}

// recentKeys is one collection's floor and the keys inserted above it,
// in ascending order (ascending ids append at the end).
type recentKeys struct {
	floor  []byte
	recent [][]byte
}

// maxRecentKeys bounds the keys remembered per collection (a few KB).
const maxRecentKeys = 256

// find returns where rk is or would go in the remembered keys, and
// whether it is there; an rk above all of them (the usual ascending
// insert) needs no search.
func (rc *recentKeys) find(rk []byte) (int, bool) {
	n := len(rc.recent)
	if n == 0 || bytes.Compare(rk, rc.recent[n-1]) > 0 {
		return n, false
	}
	return slices.BinarySearchFunc(rc.recent, rk, bytes.Compare)
}

// absent reports whether rk is known not to be stored.
func (rc *recentKeys) absent(rk []byte) bool {
	if bytes.Compare(rk, rc.floor) <= 0 {
		return false
	}
	_, seen := rc.find(rk)
	return !seen
}

// add remembers rk if it is above the floor (storage answers for the
// others), raising the floor when the list outgrows maxRecentKeys.
func (rc *recentKeys) add(rk []byte) {
	if bytes.Compare(rk, rc.floor) <= 0 {
		return
	}
	i, seen := rc.find(rk)
	if seen {
		return
	}
	rc.recent = slices.Insert(rc.recent, i, bytes.Clone(rk))
	if len(rc.recent) <= maxRecentKeys {
		return
	}
	half := len(rc.recent) / 2
	rc.floor = rc.recent[half-1]
	rc.recent = slices.Delete(rc.recent, 0, half)
}

func newIDHighs(eng storage.Engine) *idHighs {
	return &idHighs{enabled: exclusive(eng), colls: map[uint64]*recentKeys{}}
}

// exclusive reports whether eng is storage.Exclusive: this process is the
// only writer, so the catalog may keep facts about stored keys in memory.
func exclusive(eng storage.Engine) bool {
	x, ok := eng.(storage.Exclusive)
	return ok && x.Exclusive()
}

// absent reports whether rk, a record key of collection id, is known not
// to be stored, reading the collection's largest key through txn the
// first time (outside the mutex).
func (h *idHighs) absent(txn storage.Txn, id uint64, rk []byte) (bool, error) {
	if !h.enabled {
		return false, nil
	}
	h.mu.Lock()
	if rc, ok := h.colls[id]; ok {
		defer h.mu.Unlock()
		return rc.absent(rk), nil
	}
	h.mu.Unlock()
	hi, err := largestKey(txn, recPrefix(id))
	if err != nil {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rc, ok := h.colls[id]
	if !ok {
		rc = &recentKeys{floor: hi}
		h.colls[id] = rc
	}
	return rc.absent(rk), nil
}

// add records that rk may now be stored.
func (h *idHighs) add(id uint64, rk []byte) {
	if !h.enabled {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if rc, ok := h.colls[id]; ok {
		rc.add(rk) // an untracked collection's first absent reads storage
	}
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
