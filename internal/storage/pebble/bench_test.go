package pebble

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

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
		err := e.Update(context.Background(), storage.UpdateOptions{NoSync: true}, func(tx storage.Txn) error {
			for i := start; i < start+10_000; i++ {
				if err := tx.Set(fmt.Appendf(nil, "k%08d", i), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
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
