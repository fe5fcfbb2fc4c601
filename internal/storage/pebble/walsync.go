package pebble

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Written commits (storage.UpdateOptions.Written, write concern w:1).
//
// Pebble offers two kinds of commit. NoSync leaves the record in the WAL
// writer's own buffer, which is lost if the process dies; Sync waits for
// an fsync. Write concern w:1 wants the step between: the record written
// to the log file, which the operating system keeps when the process is
// killed, and synced soon after. walFS gets it by deciding, each time
// Pebble's WAL writer asks for a sync, whether the sync reaches the disk.
// A Written commit is made with pebble.Sync like a synced one, so the WAL
// writer writes the record out to the file and then syncs; walFS skips
// that sync unless a synced commit is waiting for one. A background loop
// syncs each WAL file with unsynced writes once per sync interval, and a
// WAL file is synced when Pebble closes it (rotating to a new one), so a
// power loss loses at most the last interval's Written commits, and always
// a tail of the log.
//
// Skipping syncs is only safe with a WAL format whose replay takes a torn
// tail for the end of the log. From FormatWALSyncChunks on, Pebble stamps
// each record with the offset up to which the file has been synced and,
// at replay, takes a bad record below that offset for corruption: a
// skipped sync would then leave a store that does not open after a power
// loss. New stores are therefore created at storeFormat, the version
// before it, and a store at a later version (made by an older Cairn) syncs
// Written commits like any other.

// storeFormat is the format major version new stores are created at.
const storeFormat = pebble.FormatColumnarBlocks

// DefaultSyncInterval is how long a Written commit may stay unsynced
// when Options.SyncInterval is 0: MongoDB's default journal commit
// interval (storage.journal.commitIntervalMs).
const DefaultSyncInterval = 100 * time.Millisecond

// walCategory is the write category Pebble creates WAL files with.
const walCategory vfs.DiskWriteCategory = "pebble-wal"

// walSyncer holds the state walFS's files share.
type walSyncer struct {
	// lazy turns skipping on; it is set once Open knows the store's
	// format and the sync interval allows it.
	lazy atomic.Bool
	// strict counts the synced commits in flight: while it is above zero
	// every WAL sync reaches the disk.
	strict atomic.Int32

	mu    sync.Mutex
	files map[*walFile]struct{} // open WAL files

	skipped atomic.Int64 // syncs skipped

	stop chan struct{}
	done chan struct{}
}

func newWALSyncer() *walSyncer {
	return &walSyncer{files: make(map[*walFile]struct{})}
}

// start runs the background sync loop every interval until halt; onErr
// receives a failed sync, after which the loop ends.
func (s *walSyncer) start(interval time.Duration, onErr func(error)) {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				if err := s.syncAll(); err != nil {
					onErr(err)
					return
				}
			}
		}
	}()
}

// halt stops the background loop, if it runs, and waits for it.
func (s *walSyncer) halt() {
	if s.stop == nil {
		return
	}
	close(s.stop)
	<-s.done
	s.stop = nil
}

// syncAll syncs every open WAL file that has writes not yet synced.
func (s *walSyncer) syncAll() error {
	s.mu.Lock()
	var dirty []*walFile
	for f := range s.files {
		if f.dirty.Load() {
			dirty = append(dirty, f)
		}
	}
	s.mu.Unlock()
	for _, f := range dirty {
		if err := f.sync(f.File.SyncData); err != nil {
			return err
		}
	}
	return nil
}

// walFS wraps the filesystem so that its WAL files are walFiles, made
// from pre-written spares when spare is set (walspare.go).
type walFS struct {
	vfs.FS
	s     *walSyncer
	spare *walSpare
}

func (fs walFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if category != walCategory {
		return fs.FS.Create(name, category)
	}
	if f := fs.takeSpare(name); f != nil {
		return fs.track(f), nil
	}
	f, err := fs.FS.Create(name, category)
	if err != nil {
		return nil, err
	}
	return fs.track(f), nil
}

func (fs walFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if category != walCategory {
		return fs.FS.ReuseForWrite(oldname, newname, category)
	}
	// A recycled file shorter than a spare would grow as it is written:
	// use the spare and drop the old file (ReuseForWrite may do either).
	if fs.spare != nil && fs.spare.short(oldname) {
		if f := fs.takeSpare(newname); f != nil {
			if err := fs.FS.Remove(oldname); err != nil {
				fs.spare.logger.Warn("storage/pebble: could not remove a recycled WAL file", "path", oldname, "err", err)
			}
			return fs.track(f), nil
		}
	}
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	if err != nil {
		return nil, err
	}
	return fs.track(f), nil
}

// takeSpare returns the pre-written WAL file moved to name, or nil, and
// starts writing the next one (walspare.go).
func (fs walFS) takeSpare(name string) vfs.File {
	if fs.spare == nil {
		return nil
	}
	f := fs.spare.take(name)
	fs.spare.refill()
	return f
}

func (fs walFS) track(f vfs.File) *walFile {
	w := &walFile{File: f, s: fs.s}
	fs.s.mu.Lock()
	fs.s.files[w] = struct{}{}
	fs.s.mu.Unlock()
	return w
}

// walFile is a WAL file whose syncs walSyncer may skip.
type walFile struct {
	vfs.File
	s     *walSyncer
	dirty atomic.Bool // written since the last sync began

	mu     sync.Mutex // serializes syncs with each other and with Close
	closed bool
	// err is the first failed sync; every later sync, skipped or not,
	// returns it.
	err atomic.Pointer[error]
}

func (f *walFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	if n > 0 {
		f.dirty.Store(true)
	}
	return n, err
}

func (f *walFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	if n > 0 {
		f.dirty.Store(true)
	}
	return n, err
}

// skip reports whether a sync Pebble asks for may be skipped.
func (f *walFile) skip() bool {
	return f.s.lazy.Load() && f.s.strict.Load() == 0
}

// Sync and SyncData are the WAL writer's syncs (writerSync).
func (f *walFile) Sync() error     { return f.writerSync(f.File.Sync) }
func (f *walFile) SyncData() error { return f.writerSync(f.File.SyncData) }

// writerSync runs fn, one of the WAL writer's syncs, unless it may be
// skipped. Before a sync that reaches the disk it yields the processor:
// the WAL writer has just woken the commits its last sync covered, and a
// goroutine blocked in a system call keeps its processor (P) until the
// runtime's monitor takes it back, so those commits would sit queued
// behind the sync. Yielding lets them answer their clients first.
func (f *walFile) writerSync(fn func() error) error {
	if f.skip() {
		return f.skipSync()
	}
	runtime.Gosched()
	return f.sync(fn)
}

// SyncTo is never skipped (Pebble's WAL writer does not call it).
func (f *walFile) SyncTo(length int64) (fullSync bool, err error) {
	err = f.sync(func() error {
		var err error
		fullSync, err = f.File.SyncTo(length)
		return err
	})
	return fullSync, err
}

func (f *walFile) skipSync() error {
	f.s.skipped.Add(1)
	return f.failure()
}

// failure returns the first failed sync, or nil.
func (f *walFile) failure() error {
	if p := f.err.Load(); p != nil {
		return *p
	}
	return nil
}

// sync runs fn, a sync of the file underneath, unless the file is closed
// (and so synced) or an earlier sync failed.
func (f *walFile) sync(fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failure(); err != nil || f.closed {
		return err
	}
	f.dirty.Store(false) // a write from now on needs another sync
	if err := fn(); err != nil {
		f.err.Store(&err)
		f.dirty.Store(true)
		return err
	}
	return nil
}

// Close syncs what the skipped syncs left and closes the file.
func (f *walFile) Close() error {
	var err error
	if f.dirty.Load() {
		err = f.sync(f.File.SyncData)
	}
	f.s.mu.Lock()
	delete(f.s.files, f)
	f.s.mu.Unlock()
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}
