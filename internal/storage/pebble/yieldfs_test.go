package pebble

import (
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// syncCountFS counts the syncs that reach its files.
type syncCountFS struct {
	vfs.FS
	syncs atomic.Int64
}

func (fs *syncCountFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	if err != nil {
		return nil, err
	}
	return &syncCountFile{File: f, n: &fs.syncs}, nil
}

func (fs *syncCountFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
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

// TestYieldFS checks that the yielding wrapper hands back wrapped files
// from both ways Pebble opens a file for writing, and that every sync
// still reaches the file underneath. (TestCrashDurability checks the
// same end to end: it runs over the wrapper.)
func TestYieldFS(t *testing.T) {
	under := &syncCountFS{FS: vfs.NewMem()}
	fs := yieldFS{under}
	f, err := fs.Create("000001.log", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(yieldFile); !ok {
		t.Fatalf("Create returned %T, want yieldFile", f)
	}
	if _, err := f.Write([]byte("record")); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncData(); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := fs.ReuseForWrite("000001.log", "000002.log", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.(yieldFile); !ok {
		t.Fatalf("ReuseForWrite returned %T, want yieldFile", g)
	}
	if err := g.SyncData(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if n := under.syncs.Load(); n != 3 {
		t.Fatalf("%d syncs reached the file system, want 3", n)
	}
}
