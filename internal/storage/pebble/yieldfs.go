package pebble

import (
	"runtime"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// yieldFS wraps a filesystem so that a file's sync first yields the
// processor. Pebble's WAL flusher wakes the commits a sync covered and
// then, when more commits have queued meanwhile, goes straight into the
// next fdatasync. A goroutine blocked in a system call keeps its
// processor (P) until the runtime's monitor takes it back, so the commits
// it had just woken sat queued on that processor behind the sync. Yielding
// first lets them run (answer their clients) before the flusher blocks.
type yieldFS struct {
	vfs.FS
}

func (fs yieldFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil {
		return nil, err
	}
	return yieldFile{f}, nil
}

func (fs yieldFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	if err != nil {
		return nil, err
	}
	return yieldFile{f}, nil
}

type yieldFile struct {
	vfs.File
}

func (f yieldFile) Sync() error {
	runtime.Gosched()
	return f.File.Sync()
}

func (f yieldFile) SyncData() error {
	runtime.Gosched()
	return f.File.SyncData()
}
