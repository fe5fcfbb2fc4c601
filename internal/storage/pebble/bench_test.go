package pebble

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairndb/cairn/internal/storage"
)

// BenchmarkUpdateParallel runs many goroutines doing small synced Updates
// against a real directory. "group" is the engine as shipped (commit
// without sync under the write lock, then share a WAL sync);
// "syncUnderLock" fsyncs each commit while holding the lock. Compare
// ns/op: group commit lets concurrent writers share fsyncs.
func BenchmarkUpdateParallel(b *testing.B) {
	for _, mode := range []struct {
		name            string
		syncUnderLock   bool
		noSync, written bool
	}{
		{"group", false, false, false},
		{"syncUnderLock", true, false, false},
		{"written", false, false, true},
		{"noSync", false, true, false},
	} {
		b.Run(mode.name, func(b *testing.B) {
			e, err := Open(b.TempDir(), &Options{syncUnderLock: mode.syncUnderLock, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			var seq atomic.Uint64
			val := make([]byte, 100)
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := make([]byte, 8)
				for pb.Next() {
					binary.BigEndian.PutUint64(key, seq.Add(1))
					err := e.Update(context.Background(), storage.UpdateOptions{NoSync: mode.noSync, Written: mode.written}, func(tx storage.Txn) error {
						return tx.Set(key, val)
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkScan iterates over 100k keys in a snapshot.
func BenchmarkScan(b *testing.B) {
	e, err := Open(b.TempDir(), &Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	const n = 100_000
	val := make([]byte, 100)
	for start := 0; start < n; start += 10_000 {
		setMany(b, e, start, 10_000, func(i int) ([]byte, []byte) { return fmt.Appendf(nil, "k%08d", i), val })
	}
	if err := e.Flush(); err != nil {
		b.Fatal(err)
	}
	for _, reverse := range []bool{false, true} {
		b.Run(fmt.Sprintf("reverse=%v", reverse), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := e.Snapshot()
				if err != nil {
					b.Fatal(err)
				}
				it, err := s.Scan(nil, nil, reverse)
				if err != nil {
					b.Fatal(err)
				}
				count := 0
				for it.Next() {
					count += len(it.Value())
				}
				if it.Err() != nil || count != n*len(val) {
					b.Fatalf("scanned %d bytes, err %v", count, it.Err())
				}
				it.Close()
				s.Close()
			}
			b.ReportMetric(float64(n), "keys/op")
		})
	}
}

// BenchmarkFlush flushes 4 MB of 1 KB values to an sstable, with the
// adaptive profile and with Pebble's plain Snappy one, for each kind of
// testValue. Only the flush is timed.
func BenchmarkFlush(b *testing.B) {
	profiles := []struct {
		name string
		p    *sstable.CompressionProfile
	}{
		{"adaptive", compression},
		{"snappy", sstable.SnappyCompression},
	}
	for _, kind := range []string{"bytes", "documents", "words"} {
		rng := rand.New(rand.NewPCG(7, 8))
		vals := make([][]byte, 64) // a 32 KB block holds distinct ones
		for i := range vals {
			vals[i] = testValue(rng, kind, 1024)
		}
		for _, prof := range profiles {
			b.Run(kind+"/"+prof.name, func(b *testing.B) {
				e, err := Open("db", &Options{FS: vfs.NewMem(), Logger: slog.New(slog.DiscardHandler), compression: prof.p})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				const n = 4096
				b.SetBytes(n * 1024)
				var key uint64
				for b.Loop() {
					b.StopTimer()
					setMany(b, e, 0, n, func(i int) ([]byte, []byte) {
						key++
						return binary.BigEndian.AppendUint64(nil, key), vals[i%len(vals)]
					})
					b.StartTimer()
					if err := e.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
