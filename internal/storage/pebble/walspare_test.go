package pebble

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/cairndb/cairn/internal/storage"
)

// spareMemTable is the memtable size the tests here use: small, so that
// a few hundred commits rotate the WAL, and spares are small.
const spareMemTable = 64 << 10

// spareSize is the length of a spare for spareMemTable.
const spareSize = spareMemTable + spareMemTable/10

func openPrewrite(t *testing.T, fs vfs.FS) *Engine {
	t.Helper()
	e, err := Open("db", &Options{FS: fs, CacheSize: 8 << 20, MemTableSize: spareMemTable, PrewriteWAL: true,
		SyncInterval: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return e
}

// walSizes returns the sizes of the WAL files in db.
func walSizes(t *testing.T, fs vfs.FS) map[string]int64 {
	t.Helper()
	names, err := fs.List("db")
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, n := range names {
		if !strings.HasSuffix(n, ".log") {
			continue
		}
		fi, err := fs.Stat(fs.PathJoin("db", n))
		if err != nil {
			t.Fatal(err)
		}
		sizes[n] = fi.Size()
	}
	return sizes
}

func fileSize(t *testing.T, fs vfs.FS, name string) int64 {
	t.Helper()
	fi, err := fs.Stat(name)
	if err != nil {
		t.Fatalf("stat %s: %v", name, err)
	}
	return fi.Size()
}

// fillKeys makes spareKeys synced commits of 512 bytes each (about 300
// KB: several WAL rotations with spareMemTable).
func fillKeys(t *testing.T, e *Engine) {
	t.Helper()
	val := make([]byte, 512)
	for i := range spareKeys {
		err := e.Update(context.Background(), synced, func(tx storage.Txn) error {
			return tx.Set(fmt.Appendf(nil, "k%04d", i), val)
		})
		if err != nil {
			t.Fatalf("Update k%04d: %v", i, err)
		}
	}
}

// spareKeys is the number of keys fillKeys writes.
const spareKeys = 600

// TestPrewriteWAL checks that with PrewriteWAL every WAL file starts out
// as a full-length spare, from the store's first one through rotations,
// that a spare is ready again after each use and after Close, and that
// the data written over the zeros reads back after a reopen.
func TestPrewriteWAL(t *testing.T) {
	mem := vfs.NewMem()
	e := openPrewrite(t, mem)
	if got := e.spare.used.Load(); got != 1 {
		t.Fatalf("after Open %d WAL files were spares, want 1 (the first one)", got)
	}
	fillKeys(t, e)
	if n := e.DB().Metrics().Flush.Count; n == 0 {
		t.Fatal("no memtable flush happened; the test does not cover rotations")
	}
	if got := e.spare.used.Load(); got < 2 {
		t.Errorf("%d WAL files were spares, want the first one and rotated ones", got)
	}
	for n, size := range walSizes(t, mem) {
		if size < spareSize {
			t.Errorf("WAL file %s is %d bytes, shorter than a spare (%d): it grew as it was written", n, size, spareSize)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, mem, "db/"+spareName); got != spareSize {
		t.Errorf("after Close the spare is %d bytes, want %d", got, spareSize)
	}
	if _, err := mem.Stat("db/" + spareTemp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Close %s: %v, want it gone", spareTemp, err)
	}

	e = openPrewrite(t, mem)
	defer e.Close()
	s, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range spareKeys {
		if _, err := s.Get(fmt.Appendf(nil, "k%04d", i)); err != nil {
			t.Fatalf("k%04d after reopen: %v", i, err)
		}
	}
}

// TestPrewriteWALInit checks Open's handling of what a crash can leave:
// a half-written spare is removed, and a spare of the wrong length is
// replaced by a full one.
func TestPrewriteWALInit(t *testing.T) {
	mem := vfs.NewMem()
	if err := mem.MkdirAll("db", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{spareTemp, spareName} {
		f, err := mem.Create("db/"+name, vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("partial")); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	e := openPrewrite(t, mem)
	defer e.Close()
	e.spare.wait() // the next spare, begun when Pebble took the first
	if _, err := mem.Stat("db/" + spareTemp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Open %s: %v, want it removed", spareTemp, err)
	}
	// The short spare was replaced: the first WAL file is a full one.
	for n, size := range walSizes(t, mem) {
		if size != spareSize {
			t.Errorf("WAL file %s is %d bytes, want %d", n, size, spareSize)
		}
	}
}

// TestPrewriteWALShortRecycled checks walFS.ReuseForWrite: a recycled
// file shorter than a spare is replaced by the spare (and removed), and a
// full-length one is reused as Pebble asked.
func TestPrewriteWALShortRecycled(t *testing.T) {
	mem := vfs.NewMem()
	if err := mem.MkdirAll("db", 0o755); err != nil {
		t.Fatal(err)
	}
	sp := newWALSpare(mem, "db", spareSize, slog.New(slog.DiscardHandler))
	sp.init()
	wfs := walFS{FS: mem, s: newWALSyncer(), spare: sp}
	write := func(name string, n int) {
		f, err := mem.Create(name, walCategory)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}

	write("db/000001.log", 100)
	f, err := wfs.ReuseForWrite("db/000001.log", "db/000002.log", walCategory)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Stat("db/000001.log"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the short recycled file: %v, want it removed", err)
	}
	if got := fileSize(t, mem, "db/000002.log"); got != spareSize {
		t.Errorf("the new WAL file is %d bytes, want a spare's %d", got, spareSize)
	}
	sp.wait()
	if got := fileSize(t, mem, "db/"+spareName); got != spareSize {
		t.Errorf("the next spare is %d bytes, want %d", got, spareSize)
	}

	write("db/000003.log", spareSize+100)
	f, err = wfs.ReuseForWrite("db/000003.log", "db/000004.log", walCategory)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, mem, "db/000004.log"); got != spareSize+100 {
		t.Errorf("the reused WAL file is %d bytes, want the recycled one's %d", got, spareSize+100)
	}
	if got := sp.used.Load(); got != 1 {
		t.Errorf("%d spares used, want 1 (only for the short file)", got)
	}
}

// TestPrewriteWALWriteFailure checks that failing to write a spare is
// never fatal: the store opens and WAL files are created the usual way,
// whether the first spare (at Open) or a later one fails, and no
// half-written spare is left behind.
func TestPrewriteWALWriteFailure(t *testing.T) {
	var on atomic.Bool
	inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if on.Load() && strings.Contains(op.Path, spareTemp) && op.Kind == errorfs.OpFileWrite {
			return errorfs.ErrInjected
		}
		return nil
	})
	mem := vfs.NewMem()
	efs := errorfs.Wrap(mem, inj)
	write := func(e *Engine) {
		t.Helper()
		fillKeys(t, e)
		e.spare.wait()
		if e.fail.get() != nil {
			t.Fatalf("the engine failed: %v", e.fail.get())
		}
		if _, err := mem.Stat("db/" + spareTemp); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want it removed after the failed write", spareTemp, err)
		}
	}

	// The first spare fails: the store opens all the same.
	on.Store(true)
	e := openPrewrite(t, efs)
	if got := e.spare.used.Load(); got != 0 {
		t.Errorf("%d spares used with every spare write failing, want 0", got)
	}
	write(e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	// A later spare fails: the first WAL file was one, then none.
	on.Store(false)
	e = openPrewrite(t, efs)
	defer e.Close()
	e.spare.wait() // the spare after the first WAL file is ready
	on.Store(true)
	write(e)
	on.Store(false)
	if got := e.spare.used.Load(); got != 2 {
		t.Errorf("%d spares used, want 2 (the first WAL file, then one rotation before writes failed)", got)
	}
}

// TestPrewriteWALLowSpace checks that no spare is written when the disk
// has less than spareRoom spares' worth of free space.
func TestPrewriteWALLowSpace(t *testing.T) {
	mem := vfs.NewMem()
	mem.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: spareRoom*spareSize - 1, TotalBytes: 1 << 30, UsedBytes: 1 << 29})
	e := openPrewrite(t, mem)
	defer e.Close()
	if got := e.spare.used.Load(); got != 0 {
		t.Errorf("%d spares used on a nearly full disk, want 0", got)
	}
	for _, name := range []string{spareName, spareTemp} {
		if _, err := mem.Stat("db/" + name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want none on a nearly full disk", name, err)
		}
	}
}
