package pebble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairndb/cairn/internal/storage"
)

var (
	written = storage.UpdateOptions{Written: true}
	synced  = storage.UpdateOptions{}
)

func openWithInterval(t *testing.T, fs vfs.FS, interval time.Duration) *Engine {
	t.Helper()
	e, err := Open("db", &Options{FS: fs, CacheSize: 8 << 20, SyncInterval: interval, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return e
}

func set(t *testing.T, e *Engine, opts storage.UpdateOptions, k string) {
	t.Helper()
	err := e.Update(context.Background(), opts, func(tx storage.Txn) error { return tx.Set([]byte(k), []byte("v")) })
	if err != nil {
		t.Fatalf("Update %s: %v", k, err)
	}
}

// TestWrittenSkipsSync checks which commits reach the disk with a sync:
// Written commits do not (they are written to the WAL file, which the
// crash clone with every unsynced block kept shows), synced ones do, and
// with a negative interval Written commits are synced too.
func TestWrittenSkipsSync(t *testing.T) {
	for _, tc := range []struct {
		interval    time.Duration
		opts        storage.UpdateOptions
		lazy, syncs bool
	}{
		{time.Hour, written, true, false},
		{time.Hour, synced, true, true},
		{-1, written, false, true},
		{-1, synced, false, true},
	} {
		t.Run(fmt.Sprintf("interval=%v,written=%v", tc.interval, tc.opts.Written), func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			under := &syncCountFS{FS: mem}
			e := openWithInterval(t, under, tc.interval)
			defer e.Close()
			if e.LazySyncs() != tc.lazy {
				t.Fatalf("LazySyncs() = %v, want %v", e.LazySyncs(), tc.lazy)
			}
			before := under.syncs.Load()
			for i := range 20 {
				set(t, e, tc.opts, fmt.Sprintf("k%02d", i))
			}
			if got := under.syncs.Load() - before; (got > 0) != tc.syncs {
				t.Fatalf("20 commits made %d syncs; want syncs: %v", got, tc.syncs)
			}
			// Written or synced, the commits are in the file: a crash that
			// keeps what was written (kill -9) keeps them.
			s := crashedSnapshot(t, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rand.New(rand.NewPCG(1, 2))}))
			for i := range 20 {
				if _, err := s.Get(fmt.Appendf(nil, "k%02d", i)); err != nil {
					t.Fatalf("k%02d after the process crash: %v", i, err)
				}
			}
		})
	}
}

// TestWrittenSyncedWithinInterval checks the background loop: a Written
// commit alone is synced by it (a power-loss clone taken afterwards keeps
// it).
func TestWrittenSyncedWithinInterval(t *testing.T) {
	mem := vfs.NewCrashableMem()
	e := openWithInterval(t, mem, time.Millisecond)
	defer e.Close()
	set(t, e, written, "k")
	deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not an assertion on speed
	for {
		e2 := openMem(t, mem.CrashClone(vfs.CrashCloneCfg{}))
		s, err := e2.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Get([]byte("k"))
		s.Close()
		e2.Close()
		if err == nil {
			return
		}
		if !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the background loop never synced the Written commit: a power loss still drops it")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestWrittenLostOnlyAtPowerLoss is the control: without the background
// loop (an interval of an hour), a power loss right after Written commits
// drops them, while a synced commit made earlier survives. It shows the
// crash clone can tell the two kinds of commit apart.
func TestWrittenLostOnlyAtPowerLoss(t *testing.T) {
	mem := vfs.NewCrashableMem()
	e := openWithInterval(t, mem, time.Hour)
	defer e.Close()
	set(t, e, synced, "synced")
	for i := range 10 {
		set(t, e, written, fmt.Sprintf("w%d", i))
	}
	s := crashedSnapshot(t, mem.CrashClone(vfs.CrashCloneCfg{}))
	if _, err := s.Get([]byte("synced")); err != nil {
		t.Fatalf("synced commit lost at power loss: %v", err)
	}
	if e.wal.skipped.Load() == 0 {
		t.Fatal("no WAL sync was skipped")
	}
	for i := range 10 {
		if _, err := s.Get(fmt.Appendf(nil, "w%d", i)); err == nil {
			t.Fatalf("Written commit w%d survived a power loss without a sync", i)
		} else if !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
	}
	// A synced commit syncs the Written ones before it.
	set(t, e, synced, "last")
	s = crashedSnapshot(t, mem.CrashClone(vfs.CrashCloneCfg{}))
	if _, err := s.Get([]byte("w9")); err != nil {
		t.Fatalf("Written commit before a synced one lost at power loss: %v", err)
	}
}

// TestNewerFormatSyncsWritten opens a store created at Pebble's newest
// format (as an older Cairn did), whose WAL records carry synced offsets:
// Written commits must then be synced.
func TestNewerFormatSyncsWritten(t *testing.T) {
	mem := vfs.NewMem()
	db, err := pebble.Open("db", &pebble.Options{FS: mem, FormatMajorVersion: pebble.FormatNewest, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	under := &syncCountFS{FS: mem}
	e := openWithInterval(t, under, time.Hour)
	defer e.Close()
	if e.LazySyncs() {
		t.Fatal("LazySyncs() = true on a store at the newest format")
	}
	before := under.syncs.Load()
	set(t, e, written, "k")
	if under.syncs.Load() == before {
		t.Fatal("a Written commit was not synced on a store whose WAL stamps synced offsets")
	}
	// A new store is created at storeFormat.
	e2 := openWithInterval(t, vfs.NewMem(), time.Hour)
	defer e2.Close()
	if got := e2.DB().FormatMajorVersion(); got != storeFormat {
		t.Fatalf("new store at format %v, want %v", got, storeFormat)
	}
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// failSyncFS fails every sync of a WAL file once fail is set.
type failSyncFS struct {
	vfs.FS
	fail *atomic.Bool
}

func (fs failSyncFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	if err != nil || c != walCategory {
		return f, err
	}
	return failSyncFile{File: f, fail: fs.fail}, nil
}

func (fs failSyncFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	if err != nil || c != walCategory {
		return f, err
	}
	return failSyncFile{File: f, fail: fs.fail}, nil
}

type failSyncFile struct {
	vfs.File
	fail *atomic.Bool
}

var errSyncInjected = errors.New("injected sync failure")

func (f failSyncFile) Sync() error {
	if f.fail.Load() {
		return errSyncInjected
	}
	return f.File.Sync()
}

func (f failSyncFile) SyncData() error {
	if f.fail.Load() {
		return errSyncInjected
	}
	return f.File.SyncData()
}

// TestBackgroundSyncFailure checks that a failed background sync fails
// the engine: later writes get storage.ErrFailed rather than an
// acknowledgement the disk may not honour.
func TestBackgroundSyncFailure(t *testing.T) {
	var fail atomic.Bool
	e := openWithInterval(t, failSyncFS{FS: vfs.NewMem(), fail: &fail}, time.Millisecond)
	fail.Store(true)
	set(t, e, written, "k") // written, and its sync skipped
	deadline := time.Now().Add(30 * time.Second)
	for e.fail.get() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the failed background sync did not fail the engine")
		}
		time.Sleep(time.Millisecond)
	}
	err := e.Update(context.Background(), written, func(tx storage.Txn) error { return tx.Set([]byte("k2"), nil) })
	if !errors.Is(err, storage.ErrFailed) {
		t.Fatalf("Update after the failed sync: %v, want ErrFailed", err)
	}
	if err := e.Close(); !errors.Is(err, storage.ErrFailed) {
		t.Fatalf("Close: %v, want ErrFailed", err)
	}
}

// TestSyncMakesDurable checks Engine.Sync (the fsync command): Written
// and NoSync commits that a power loss would drop survive one once Sync
// has returned.
func TestSyncMakesDurable(t *testing.T) {
	mem := vfs.NewCrashableMem()
	e := openWithInterval(t, mem, time.Hour)
	defer e.Close()
	set(t, e, written, "w")
	set(t, e, storage.UpdateOptions{NoSync: true}, "n")
	s := crashedSnapshot(t, mem.CrashClone(vfs.CrashCloneCfg{}))
	if _, err := s.Get([]byte("w")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("before Sync, a power loss kept the Written commit (err %v); the test cannot tell", err)
	}
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	s = crashedSnapshot(t, mem.CrashClone(vfs.CrashCloneCfg{}))
	for _, k := range []string{"w", "n"} {
		if _, err := s.Get([]byte(k)); err != nil {
			t.Errorf("%s after Sync and a power loss: %v", k, err)
		}
	}
}

// syncCountFS counts the syncs that reach its files.
type syncCountFS struct {
	vfs.FS
	syncs atomic.Int64
}

func (fs *syncCountFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.count(fs.FS.Create(name, c))
}

func (fs *syncCountFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.count(fs.FS.ReuseForWrite(oldname, newname, c))
}

func (fs *syncCountFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.count(fs.FS.OpenReadWrite(name, c, opts...))
}

// count wraps a file just opened so that its syncs are counted.
func (fs *syncCountFS) count(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &syncCountFile{File: f, n: &fs.syncs}, nil
}

type syncCountFile struct {
	vfs.File
	n *atomic.Int64
}

func (f *syncCountFile) Sync() error     { f.n.Add(1); return f.File.Sync() }
func (f *syncCountFile) SyncData() error { f.n.Add(1); return f.File.SyncData() }
