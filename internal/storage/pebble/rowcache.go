package pebble

import (
	"bytes"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// DefaultRowCacheSize is the row cache's default size in bytes: room for
// about 50,000 records of 1 KB.
const DefaultRowCacheSize int64 = 64 << 20

// rowCache keeps recently read values in memory, so that a point read of
// a hot key (YCSB's Zipfian keys; the record an update reads before it
// writes it) costs a map lookup instead of a search of every memtable
// and level of the LSM tree (about 7 µs here).
//
// Reads are snapshot reads, so a cached value may be used only by a read
// whose snapshot sees exactly that value. Commits are numbered: applied
// is the number of the last commit applied to the DB. A snapshot (or a
// transaction's read of the committed state) notes applied before it is
// taken: it sees every commit up to that number, and maybe later ones.
// Each entry holds a value and from, a commit number from which on the
// value is the key's value (until a later commit writes the key). A
// commit N, under the write lock, before it is applied: removes the
// entries of the keys it writes and stamps their slots (a hash table of
// the last commit number to write any key hashing there) with N; after
// it is applied, it stores the new values of the keys that had entries,
// with from N, and then sets applied to N. So:
//
//   - a lookup by a read that noted a <= applied hits only an entry with
//     from <= a whose slot is <= a: no commit after a has written the key
//     (its removal would have come first, and entries stored since have a
//     larger from), so the read's snapshot, which sees every commit up to
//     a, sees this value;
//   - a read that missed stores the value it read with from = a only if
//     the key's slot is <= a: no commit after a has begun to write the
//     key, so the value is the key's value from a on.
//
// A range deletion (or a batch entry of any other kind) empties the cache
// and raises floor to N: reads that noted less use no entry and store
// none. A failed commit leaves its stamps, which only turn reads away.
// Snapshots served after a fatal failure (the durable snapshot) do not
// use the cache.
type rowCache struct {
	mu       sync.Mutex
	capacity int64
	bytes    int64
	m        map[string]rowEntry
	slots    [rowSlots]uint64
	floor    uint64
	seed     maphash.Seed
}

type rowEntry struct {
	v    []byte // never modified once stored
	from uint64
}

const (
	rowSlots = 1 << 16
	// rowOverhead approximates an entry's memory beyond its key and value.
	rowOverhead = 64
)

func newRowCache(capacity int64) *rowCache {
	if capacity <= 0 {
		return nil
	}
	return &rowCache{capacity: capacity, m: map[string]rowEntry{}, seed: maphash.MakeSeed()}
}

// entrySize approximates the memory an entry of key and v takes.
func entrySize(key string, v []byte) int64 { return int64(len(key) + len(v) + rowOverhead) }

func (c *rowCache) slot(key []byte) *uint64 {
	return &c.slots[maphash.Bytes(c.seed, key)&(rowSlots-1)]
}

// lookup returns the cached value of key for a read that noted a, or
// false. The value is shared: the caller copies it. A nil cache holds
// nothing.
func (c *rowCache) lookup(key []byte, a uint64) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(key)]
	if !ok || e.from > a || a < c.floor || *c.slot(key) > a {
		return nil, false
	}
	return e.v, true
}

// store caches v, the value of key as read by a read that noted a, if no
// commit after a has begun to write key. It copies v.
func (c *rowCache) store(key, v []byte, a uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a < c.floor || *c.slot(key) > a {
		return
	}
	if old, ok := c.m[string(key)]; ok && old.from >= a {
		return
	}
	c.put(key, v, a)
}

// put stores a copy of v as key's entry, replacing any, and evicts others
// beyond the capacity (c.mu held).
func (c *rowCache) put(key, v []byte, from uint64) {
	c.remove(key)
	size := entrySize(string(key), v)
	if size > c.capacity/8 {
		return
	}
	c.m[string(key)] = rowEntry{v: append([]byte(nil), v...), from: from}
	c.bytes += size
	if c.bytes <= c.capacity {
		return
	}
	// Map iteration starts at a random place: this evicts about randomly.
	for k, e := range c.m {
		if c.bytes <= c.capacity*7/8 {
			break
		}
		delete(c.m, k)
		c.bytes -= entrySize(k, e.v)
	}
}

// remove drops key's entry and reports whether there was one (c.mu held).
func (c *rowCache) remove(key []byte) bool {
	e, ok := c.m[string(key)]
	if ok {
		delete(c.m, string(key))
		c.bytes -= entrySize(string(key), e.v)
	}
	return ok
}

// rowWrite is one written key of a commit whose entry is to be renewed.
type rowWrite struct{ key, value []byte }

// beginCommit runs under the write lock before commit n is applied: it
// removes the entries of the keys b writes and stamps their slots with n.
// It returns the keys that had entries and are set (not deleted) by b,
// whose new values endCommit stores. A nil cache does nothing.
func (c *rowCache) beginCommit(b *pebble.Batch, n uint64) []rowWrite {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var renew []rowWrite
	r := b.Reader()
	for {
		kind, key, value, ok, err := r.Next()
		if err != nil || (ok && kind != pebble.InternalKeyKindSet && kind != pebble.InternalKeyKindDelete) {
			// A range deletion, or anything else: start over.
			clear(c.m)
			c.bytes = 0
			c.floor = n
			return nil
		}
		if !ok {
			return renew
		}
		s := c.slot(key)
		again := *s == n // maybe written earlier in this batch
		*s = n
		if again {
			// Renew a key written twice from neither write.
			renew = slices.DeleteFunc(renew, func(w rowWrite) bool { return bytes.Equal(w.key, key) })
		}
		if c.remove(key) && kind == pebble.InternalKeyKindSet && !again {
			renew = append(renew, rowWrite{key, value})
		}
	}
}

// endCommit runs under the write lock once commit n is applied: it stores
// the new values beginCommit returned.
func (c *rowCache) endCommit(renew []rowWrite, n uint64) {
	if len(renew) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range renew {
		c.put(w.key, w.value, n)
	}
}
