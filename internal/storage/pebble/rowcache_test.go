package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestRowCacheRules walks the row cache's rules one step at a time: which
// reads may use an entry and which may store one, around commits.
func TestRowCacheRules(t *testing.T) {
	c := newRowCache(1 << 20)
	k := []byte("k")
	batch := func(set bool, keys ...string) *pebble.Batch {
		b := new(pebble.Batch)
		for _, key := range keys {
			if set {
				_ = b.Set([]byte(key), []byte("new-"+key), nil)
			} else {
				_ = b.Delete([]byte(key), nil)
			}
		}
		return b
	}
	hit := func(a uint64, want string) {
		t.Helper()
		v, ok := c.lookup(k, a)
		if want == "" {
			if ok {
				t.Fatalf("lookup(a=%d) = %q, want a miss", a, v)
			}
			return
		}
		if !ok || string(v) != want {
			t.Fatalf("lookup(a=%d) = %q, %v, want %q", a, v, ok, want)
		}
	}

	c.store(k, []byte("v1"), 3)
	hit(3, "v1")
	hit(9, "v1")
	hit(2, "") // a read that may not see commit 3... could still see v1, but no proof

	// Commit 4 writes k: removed before it applies, renewed after.
	renew := c.beginCommit(batch(true, "k"), 4)
	hit(3, "")
	hit(9, "")
	c.store(k, []byte("stale"), 3) // a read that noted 3 and missed: refused
	hit(9, "")
	c.endCommit(renew, 4)
	hit(3, "") // noted 3: may not see commit 4
	hit(4, "new-k")

	// A failed commit 5 (no endCommit): its stamp turns reads away until
	// a later commit numbered 5 applies.
	c.beginCommit(batch(false, "k"), 5)
	hit(4, "")
	c.store(k, []byte("v4"), 4)
	hit(4, "")
	c.store(k, []byte("v5"), 5)
	hit(5, "v5")

	// A key written twice in one batch is not renewed.
	renew = c.beginCommit(batch(true, "k", "k"), 6)
	if len(renew) != 0 {
		t.Fatalf("renewed %d keys written twice", len(renew))
	}
	c.endCommit(renew, 6)
	hit(6, "")

	// A range deletion empties the cache and raises the floor.
	c.store(k, []byte("v6"), 6)
	hit(6, "v6")
	b := new(pebble.Batch)
	_ = b.DeleteRange([]byte("a"), []byte("z"), nil)
	c.beginCommit(b, 7)
	hit(9, "")
	c.store(k, []byte("v6"), 6)
	hit(9, "")
	c.store(k, []byte("v7"), 7)
	hit(7, "v7")
}

// TestRowCacheCapacity: the cache stays within its size however many
// values are stored.
func TestRowCacheCapacity(t *testing.T) {
	c := newRowCache(64 << 10)
	v := bytes.Repeat([]byte("x"), 1000)
	for i := range 10000 {
		c.store(fmt.Appendf(nil, "key%05d", i), v, 0)
		if c.bytes > c.capacity {
			t.Fatalf("after %d stores: %d bytes cached, capacity %d", i+1, c.bytes, c.capacity)
		}
	}
	var sum int64
	for k, e := range c.m {
		sum += int64(len(k) + len(e.v) + rowOverhead)
	}
	if sum != c.bytes || len(c.m) == 0 {
		t.Fatalf("%d entries of %d bytes, accounted %d", len(c.m), sum, c.bytes)
	}
	if newRowCache(0) != nil || newRowCache(-1) != nil {
		t.Fatal("a row cache of size <= 0 exists")
	}
}

// TestRowCacheSnapshots races writers (sets, deletes, multi-key batches,
// range deletions, failed transactions) with readers, and checks that
// every Get a snapshot or a transaction answers through the row cache
// matches what an iterator over the same snapshot or transaction reads,
// and that the cache served some of them.
func TestRowCacheSnapshots(t *testing.T) {
	e, err := Open("db", &Options{FS: vfs.NewMem(), CacheSize: 8 << 20, RowCacheSize: 256 << 10,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	const keys = 64
	key := func(i int) []byte { return fmt.Appendf(nil, "k%02d", i) }
	// iterGet reads key through an iterator, which the row cache does not serve.
	iterGet := func(r storage.Reader, k []byte) ([]byte, error) {
		it, err := r.Scan(k, append(append([]byte(nil), k...), 0), false)
		if err != nil {
			return nil, err
		}
		defer it.Close()
		if !it.Next() {
			if err := it.Err(); err != nil {
				return nil, err
			}
			return nil, storage.ErrNotFound
		}
		return append([]byte(nil), it.Value()...), nil
	}
	same := func(where string, k, got []byte, gerr error, want []byte, werr error) error {
		if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
			return fmt.Errorf("%s %s: Get %q, %v; iterator %q, %v", where, k, got, gerr, want, werr)
		}
		return nil
	}
	var (
		stop     atomic.Bool
		failures = make(chan error, 16)
		writers  sync.WaitGroup
		readers  sync.WaitGroup
		version  atomic.Int64
	)
	report := func(err error) {
		select {
		case failures <- err:
		default:
		}
		stop.Store(true)
	}
	errAbort := errors.New("abort")
	for w := range 2 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < 3000 && !stop.Load(); i++ {
				op := rng.IntN(100)
				err := e.Update(ctx, storage.UpdateOptions{NoSync: rng.IntN(4) != 0}, func(txn storage.Txn) error {
					// A read of the committed state first (cached when hot).
					k := key(rng.IntN(keys))
					g, gerr := txn.Get(k)
					v, verr := iterGet(txn, k)
					if err := same("transaction", k, g, gerr, v, verr); err != nil {
						report(err)
					}
					switch {
					case op < 2:
						lo := rng.IntN(keys)
						return txn.DeleteRange(key(lo), key(lo+1+rng.IntN(8)))
					case op < 15:
						return txn.Delete(key(rng.IntN(keys)))
					}
					for range 1 + rng.IntN(3) {
						val := fmt.Appendf(nil, "v%d-%d", w, version.Add(1))
						if err := txn.Set(key(rng.IntN(keys)), val); err != nil {
							return err
						}
					}
					if op < 25 {
						return errAbort
					}
					return nil
				})
				if err != nil && !errors.Is(err, errAbort) {
					report(err)
				}
			}
		}()
	}
	var hits atomic.Int64
	for r := range 3 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 11))
			for !stop.Load() {
				s, err := e.Snapshot()
				if err != nil {
					report(err)
					return
				}
				for range 20 {
					// Zipf-like: low keys far more often.
					k := key(int(float64(keys) * rng.Float64() * rng.Float64() * rng.Float64()))
					_, cached := e.rc.lookup(k, s.(*snapshot).rcA)
					g, gerr := s.Get(k)
					v, verr := iterGet(s, k)
					if err := same("snapshot", k, g, gerr, v, verr); err != nil {
						report(err)
					}
					if cached {
						hits.Add(1)
					}
				}
				s.Close()
			}
		}()
	}
	writers.Wait()
	stop.Store(true)
	readers.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	if hits.Load() == 0 {
		t.Error("no read was served from the row cache")
	}
	t.Logf("%d commits, %d snapshot reads served from the cache", e.applied.Load(), hits.Load())
}
