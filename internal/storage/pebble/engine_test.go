package pebble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/storagetest"
)

func openMem(t testing.TB, fs vfs.FS) *Engine {
	t.Helper()
	e, err := Open("db", &Options{FS: fs, CacheSize: 8 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return e
}

func TestConformanceMem(t *testing.T) {
	storagetest.RunEngineTests(t, func(t *testing.T) storage.Engine {
		return openMem(t, vfs.NewMem())
	})
}

func TestConformanceDisk(t *testing.T) {
	storagetest.RunEngineTests(t, func(t *testing.T) storage.Engine {
		e, err := Open(t.TempDir(), nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return e
	})
}

func TestReopenMem(t *testing.T) {
	storagetest.RunReopenTests(t, func(t *testing.T) (storage.Engine, func(t *testing.T) storage.Engine) {
		fs := vfs.NewMem()
		return openMem(t, fs), func(t *testing.T) storage.Engine { return openMem(t, fs) }
	})
}

func TestReopenDisk(t *testing.T) {
	storagetest.RunReopenTests(t, func(t *testing.T) (storage.Engine, func(t *testing.T) storage.Engine) {
		dir := t.TempDir()
		open := func(t *testing.T) storage.Engine {
			e, err := Open(dir, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return e
		}
		return open(t), open
	})
}

func TestOpenError(t *testing.T) {
	fs := vfs.NewMem()
	e := openMem(t, fs)
	defer e.Close()
	// The directory is locked by e: a second Open must fail with context.
	_, err := Open("db", &Options{FS: fs})
	if err == nil {
		t.Fatal("second Open of a locked dir succeeded")
	}
	if want := `storage/pebble: open "db": `; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("error %q lacks prefix %q", err, want)
	}
}

// TestCrashDurability runs concurrent writers on a crashable in-memory
// FS and takes crash clones while they run:
//
//   - a power loss (only synced data kept): every synced Update
//     acknowledged before the clone is in it;
//   - a torn power loss (half of the unsynced blocks kept, at random): the
//     store still opens, with the same synced Updates (a skipped WAL sync
//     must not make the replay see corruption, see walsync.go);
//   - a process crash (everything written kept): every Written Update
//     acknowledged before the clone is in it too.
func TestCrashDurability(t *testing.T) {
	for _, tc := range []struct {
		noSyncMix, writtenMix bool
		memTable              uint64 // small memtables force WAL rotations and flushes
		valSize               int
		prewrite              bool // WAL files are pre-written spares (walspare.go)
	}{{false, false, 0, 8, false}, {true, false, 0, 8, false}, {true, false, 64 << 10, 512, false},
		{false, true, 0, 8, false}, {true, true, 64 << 10, 512, false},
		{true, false, 64 << 10, 512, true}, {true, true, 64 << 10, 512, true}} {
		t.Run(fmt.Sprintf("noSyncMix=%v,writtenMix=%v,memTable=%d,prewrite=%v", tc.noSyncMix, tc.writtenMix, tc.memTable, tc.prewrite), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			e, err := Open("db", &Options{FS: fs, MemTableSize: tc.memTable, SyncInterval: time.Hour, PrewriteWAL: tc.prewrite, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			val := make([]byte, tc.valSize)
			var mu sync.Mutex
			acked := map[string]bool{} // keys whose Update returned: true if synced
			var stop, failed atomic.Bool
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						k := fmt.Sprintf("w%d/%06d", w, i)
						// Mostly Written with writtenMix, so that moments come when
						// no synced commit is in flight and syncs are skipped.
						noSync := tc.noSyncMix && i%5 == 0
						opts := storage.UpdateOptions{NoSync: noSync, Written: tc.writtenMix && !noSync && i%10 != 0}
						err := e.Update(context.Background(), opts, func(tx storage.Txn) error {
							return tx.Set([]byte(k), val)
						})
						if err != nil {
							t.Errorf("Update: %v", err)
							failed.Store(true)
							return
						}
						if !opts.NoSync {
							mu.Lock()
							acked[k] = !opts.Written
							mu.Unlock()
						}
					}
				}()
			}
			type clone struct {
				fs      *vfs.MemFS
				kind    string
				keys    []string
				written []string
			}
			kinds := []string{"power loss", "torn power loss", "process crash"}
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
			var clones []clone
			for n := range 9 {
				// Let some writes happen.
				for !failed.Load() {
					mu.Lock()
					n := len(acked)
					mu.Unlock()
					if n > (len(clones)+1)*100 {
						break
					}
					runtime.Gosched()
				}
				c := clone{kind: kinds[n%3]}
				mu.Lock()
				for k, isSynced := range acked {
					if isSynced {
						c.keys = append(c.keys, k)
					} else {
						c.written = append(c.written, k)
					}
				}
				switch c.kind {
				case "power loss":
					c.fs = fs.CrashClone(vfs.CrashCloneCfg{})
				case "torn power loss":
					c.fs = fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rng})
				default:
					c.fs = fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rng})
					c.keys = append(c.keys, c.written...)
				}
				mu.Unlock()
				clones = append(clones, c)
			}
			stop.Store(true)
			wg.Wait()
			if n := e.DB().Metrics().Flush.Count; tc.memTable > 0 && n == 0 {
				t.Errorf("no memtable flushes (WAL rotations) happened; the test does not cover them")
			}
			if tc.writtenMix && e.wal.skipped.Load() == 0 {
				t.Errorf("no WAL sync was skipped; the test does not cover Written commits")
			}
			if tc.prewrite && e.spare.used.Load() < 2 {
				t.Errorf("%d WAL files were spares; the test does not cover rotating to one", e.spare.used.Load())
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			for ci, c := range clones {
				e2, err := Open("db", &Options{FS: c.fs, CacheSize: 8 << 20, MemTableSize: tc.memTable, PrewriteWAL: tc.prewrite, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Errorf("clone %d (%s): the store does not open: %v", ci, c.kind, err)
					continue
				}
				s, err := e2.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				missing := 0
				for _, k := range c.keys {
					if _, err := s.Get([]byte(k)); err != nil {
						if missing < 3 {
							t.Errorf("clone %d (%s): acknowledged key %s lost: %v", ci, c.kind, k, err)
						}
						missing++
					}
				}
				if missing > 0 {
					t.Errorf("clone %d (%s): %d of %d acknowledged keys lost", ci, c.kind, missing, len(c.keys))
				}
				s.Close()
				e2.Close()
			}
		})
	}
}

// TestCrashLosesUnsynced is the control for TestCrashDurability: it shows
// the crash clone really drops data that was never synced, so the
// durability test can fail.
func TestCrashLosesUnsynced(t *testing.T) {
	fs := vfs.NewCrashableMem()
	e := openMem(t, fs)
	defer e.Close()
	for i := range 10 {
		err := e.Update(context.Background(), storage.UpdateOptions{NoSync: true}, func(tx storage.Txn) error {
			return tx.Set(fmt.Appendf(nil, "k%d", i), []byte("v"))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s := crashedSnapshot(t, fs.CrashClone(vfs.CrashCloneCfg{}))
	found := 0
	for i := range 10 {
		if _, err := s.Get(fmt.Appendf(nil, "k%d", i)); err == nil {
			found++
		} else if !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if found == 10 {
		t.Skip("all NoSync writes survived the crash clone (WAL flushed and synced in the background); control is inconclusive")
	}
}

func TestEstimateSize(t *testing.T) {
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	if n, err := e.EstimateSize(nil, nil); err != nil || n != 0 {
		t.Errorf("EstimateSize on empty = %d, %v; want 0, nil", n, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for batch := range 10 {
		setIncompressible(t, e, rng, "a/", batch*100, 100)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lower, upper []byte
		min, max     uint64
	}{
		{nil, nil, 500_000, 2_000_000},
		{[]byte("a/"), storage.PrefixEnd([]byte("a/")), 500_000, 2_000_000},
		{[]byte("a/"), nil, 500_000, 2_000_000},
		{[]byte("a/00000"), []byte("a/00100"), 50_000, 400_000},
		{[]byte("b"), []byte("c"), 0, 0},
	}
	for _, c := range cases {
		n, err := e.EstimateSize(c.lower, c.upper)
		if err != nil {
			t.Errorf("EstimateSize(%q, %q): %v", c.lower, c.upper, err)
			continue
		}
		if n < c.min || n > c.max {
			t.Errorf("EstimateSize(%q, %q) = %d, want in [%d, %d]", c.lower, c.upper, n, c.min, c.max)
		}
	}
}

func TestTxnIteratorsClosedAtCommit(t *testing.T) {
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	var leaked storage.Iterator
	err := e.Update(context.Background(), storage.UpdateOptions{}, func(tx storage.Txn) error {
		if err := tx.Set([]byte("a"), []byte("1")); err != nil {
			return err
		}
		it, err := tx.Scan(nil, nil, false)
		if err != nil {
			return err
		}
		leaked = it // deliberately not closed
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if leaked.Next() {
		t.Error("iterator left open by fn still usable after Update returned")
	}
	if err := leaked.Close(); err != nil {
		t.Errorf("Close of auto-closed iterator: %v", err)
	}
}

func TestSnapshotCloseClosesIterators(t *testing.T) {
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	if err := e.Update(context.Background(), storage.UpdateOptions{}, func(tx storage.Txn) error {
		return tx.Set([]byte("a"), []byte("1"))
	}); err != nil {
		t.Fatal(err)
	}
	s, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.Scan(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if it.Next() {
		t.Error("iterator usable after its snapshot closed")
	}
	if !errors.Is(it.Err(), storage.ErrClosed) {
		t.Errorf("iterator Err = %v, want ErrClosed", it.Err())
	}
	if _, err := s.Get([]byte("a")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Get on closed snapshot = %v, want ErrClosed", err)
	}
	if err := it.Close(); err != nil {
		t.Error(err)
	}
}

func TestUpdatePanicReleasesLock(t *testing.T) {
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic in fn did not propagate")
			}
		}()
		_ = e.Update(context.Background(), storage.UpdateOptions{}, func(tx storage.Txn) error {
			_ = tx.Set([]byte("a"), []byte("1"))
			panic("boom")
		})
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := e.Update(ctx, storage.UpdateOptions{}, func(tx storage.Txn) error { return tx.Set([]byte("b"), []byte("2")) })
	if err != nil {
		t.Fatalf("Update after panic: %v", err)
	}
	s, _ := e.Snapshot()
	defer s.Close()
	if _, err := s.Get([]byte("a")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("write from panicking txn visible: %v", err)
	}
}

// TestLargeBatchDurable checks synced commits of batches larger than half
// a memtable, which Pebble commits as flushable batches (a path of its own
// in the commit pipeline, taken with ApplyNoSyncWait too): they commit,
// SyncWait returns, and the writes survive a crash. (Pebble flushes such
// batches to sstables, so they would survive even unsynced; the WAL sync
// itself is covered by TestCrashDurability and TestCrashLosesUnsynced.)
func TestLargeBatchDurable(t *testing.T) {
	fs := vfs.NewCrashableMem()
	e, err := Open("db", &Options{FS: fs, MemTableSize: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	val := make([]byte, 700<<10)
	for i := range 5 {
		val[0] = byte(i)
		err := e.Update(context.Background(), storage.UpdateOptions{}, func(tx storage.Txn) error {
			return tx.Set(fmt.Appendf(nil, "k%d", i), val)
		})
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	s := crashedSnapshot(t, crashed)
	for i := range 5 {
		v, err := s.Get(fmt.Appendf(nil, "k%d", i))
		if err != nil || len(v) != len(val) || v[0] != byte(i) {
			t.Fatalf("key k%d after crash: %d bytes, err %v", i, len(v), err)
		}
	}
}

// crashedSnapshot opens the store a crash left in fs and returns a
// snapshot of it; both close when the test ends.
func crashedSnapshot(t *testing.T, fs vfs.FS) storage.Snapshot {
	t.Helper()
	e := openMem(t, fs)
	t.Cleanup(func() { e.Close() })
	s, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestBlockSize checks that flushed tables' data blocks are cut at the
// configured size: their average size is within a factor of two of it.
func TestBlockSize(t *testing.T) {
	for _, tc := range []struct {
		opt, want int
	}{
		{0, DefaultBlockSize},
		{4 << 10, 4 << 10},
		{64 << 10, 64 << 10},
	} {
		e, err := Open("db", &Options{FS: vfs.NewMem(), BlockSize: tc.opt, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		setIncompressible(t, e, rand.New(rand.NewPCG(3, 4)), "r/", 0, 2000)
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		levels, err := e.db.SSTables(pebble.WithProperties())
		if err != nil {
			t.Fatal(err)
		}
		var size, blocks uint64
		for _, level := range levels {
			for _, tbl := range level {
				size += tbl.Properties.DataSize
				blocks += tbl.Properties.NumDataBlocks
			}
		}
		if blocks == 0 {
			t.Fatalf("BlockSize %d: no data blocks were written", tc.opt)
		}
		if avg := size / blocks; avg < uint64(tc.want/2) || avg > uint64(tc.want*2) {
			t.Errorf("BlockSize %d: data blocks average %d bytes, want about %d", tc.opt, avg, tc.want)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// setMany writes kv(i) for i in first..first+n-1 in one unsynced
// transaction.
func setMany(tb testing.TB, e *Engine, first, n int, kv func(i int) (key, val []byte)) {
	tb.Helper()
	err := e.Update(context.Background(), storage.UpdateOptions{NoSync: true}, func(tx storage.Txn) error {
		for i := first; i < first+n; i++ {
			if err := tx.Set(kv(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// setIncompressible writes keys prefix+%05d for first..first+n-1 in one
// unsynced transaction, each with 1000 random (incompressible) bytes.
func setIncompressible(t *testing.T, e *Engine, rng *rand.Rand, prefix string, first, n int) {
	t.Helper()
	setMany(t, e, first, n, func(i int) ([]byte, []byte) {
		return fmt.Appendf(nil, "%s%05d", prefix, i), testValue(rng, "bytes", 1000)
	})
}

// testWords are the words of testValue's "words" values.
var testWords = []string{"cairn ", "stone ", "path ", "summit ", "ridge ", "valley ", "marker ", "trail "}

// testValue returns a value of size bytes of a kind: "bytes" (random, no
// compressor shrinks them), "words" (random words, which Snappy halves)
// or "documents" (BSON fields of 100 random lowercase letters, like the
// load tool's, which Snappy shrinks by less than 12% but works harder on,
// finding the repeated field names).
func testValue(rng *rand.Rand, kind string, size int) []byte {
	v := make([]byte, 0, size+len("valley ")+108)
	for len(v) < size {
		switch kind {
		case "bytes":
			v = append(v, byte(rng.Uint32()))
		case "words":
			v = append(v, testWords[rng.IntN(len(testWords))]...)
		case "documents":
			v = fmt.Appendf(v, "\x02f%d\x00\x65\x00\x00\x00", len(v)/108)
			for range 100 {
				v = append(v, 'a'+byte(rng.IntN(26)))
			}
			v = append(v, 0)
		default:
			panic("testValue: unknown kind " + kind)
		}
	}
	return v[:size]
}

// TestCompression checks the adaptive profile's choices: data blocks that
// Snappy shrinks are stored compressed, data blocks it cannot shrink are
// stored as they are.
func TestCompression(t *testing.T) {
	for _, tc := range []struct {
		name         string
		compressible bool
	}{
		{"text", true},
		{"random", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := openMem(t, vfs.NewMem())
			defer e.Close()
			rng := rand.New(rand.NewPCG(5, 6))
			const n, size = 4000, 1000
			kind := "bytes"
			if tc.compressible {
				kind = "words"
			}
			setMany(t, e, 0, n, func(i int) ([]byte, []byte) {
				return fmt.Appendf(nil, "k%05d", i), testValue(rng, kind, size)
			})
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			levels, err := e.db.SSTables(pebble.WithProperties())
			if err != nil {
				t.Fatal(err)
			}
			var stored uint64
			var stats []string
			for _, level := range levels {
				for _, tbl := range level {
					stored += tbl.Properties.DataSize
					stats = append(stats, tbl.Properties.CompressionStats)
				}
			}
			raw := uint64(n * size)
			switch {
			case stored == 0:
				t.Fatal("no data blocks were written")
			case tc.compressible && stored > raw/2:
				t.Errorf("text: %d bytes stored for %d (%v), want less than half", stored, raw, stats)
			case !tc.compressible && stored < raw:
				t.Errorf("random: %d bytes stored for %d (%v), want them uncompressed", stored, raw, stats)
			}
		})
	}
}

// TestCompressionProfileChange reopens a store written under Pebble's
// plain Snappy profile with the adaptive one and the other way round: the
// tables written under either stay readable.
func TestCompressionProfileChange(t *testing.T) {
	dir := t.TempDir()
	profiles := []*sstable.CompressionProfile{sstable.SnappyCompression, compression, sstable.SnappyCompression}
	for i, p := range profiles {
		e, err := Open(dir, &Options{Logger: slog.New(slog.DiscardHandler), compression: p})
		if err != nil {
			t.Fatalf("open %d (%s): %v", i, p.Name, err)
		}
		setIncompressible(t, e, rand.New(rand.NewPCG(uint64(i), 9)), fmt.Sprintf("p%d/", i), 0, 500)
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		snap, err := e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j <= i; j++ {
			it, err := snap.Scan(fmt.Appendf(nil, "p%d/", j), fmt.Appendf(nil, "p%d0", j), false)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for it.Next() {
				n++
			}
			if err := errors.Join(it.Err(), it.Close()); err != nil {
				t.Fatal(err)
			}
			if n != 500 {
				t.Errorf("open %d (%s): %d keys written under profile %d, want 500", i, p.Name, n, j)
			}
		}
		snap.Close()
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
