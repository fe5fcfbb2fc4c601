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
	recent []string
}

// find returns where rk is or would go in the remembered keys.
func (rc *recentKeys) find(rk []byte) (int, bool) {
	return slices.BinarySearchFunc(rc.recent, rk, func(k string, rk []byte) int {
		return bytes.Compare([]byte(k), rk)
	})
}

// maxRecentKeys bounds the keys remembered per collection (a few KB).
const maxRecentKeys = 256

func newIDHighs(eng storage.Engine) *idHighs {
	x, ok := eng.(storage.Exclusive)
	return &idHighs{enabled: ok && x.Exclusive(), colls: map[uint64]*recentKeys{}}
}

// absent reports whether rk, a record key of collection id, is known not
// to be stored, reading the collection's largest key through txn the
// first time.
func (h *idHighs) absent(txn storage.Txn, id uint64, rk []byte) (bool, error) {
	if !h.enabled {
		return false, nil
	}
	h.mu.Lock()
	rc, ok := h.colls[id]
	h.mu.Unlock()
	if !ok {
		hi, err := largestKey(txn, recPrefix(id))
		if err != nil {
			return false, err
		}
		h.mu.Lock()
		if rc, ok = h.colls[id]; !ok {
			rc = &recentKeys{floor: hi}
			h.colls[id] = rc
		}
		h.mu.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if bytes.Compare(rk, rc.floor) <= 0 {
		return false, nil
	}
	if n := len(rc.recent); n == 0 || bytes.Compare(rk, []byte(rc.recent[n-1])) > 0 {
		return true, nil // above every key: the usual ascending insert
	}
	_, seen := rc.find(rk)
	return !seen, nil
}

// add records that rk may now be stored.
func (h *idHighs) add(id uint64, rk []byte) {
	if !h.enabled {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rc, ok := h.colls[id]
	if !ok || bytes.Compare(rk, rc.floor) <= 0 {
		return // untracked (absent asks storage), or at or under the floor
	}
	if n := len(rc.recent); n == 0 || bytes.Compare(rk, []byte(rc.recent[n-1])) > 0 {
		rc.recent = append(rc.recent, string(rk))
	} else if i, seen := rc.find(rk); !seen {
		rc.recent = slices.Insert(rc.recent, i, string(rk))
	}
	if len(rc.recent) <= maxRecentKeys {
		return
	}
	half := len(rc.recent) / 2
	rc.floor = []byte(rc.recent[half-1])
	rc.recent = slices.Delete(rc.recent, 0, half)
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
