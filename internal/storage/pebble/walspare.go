package pebble

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Pre-written WAL files (Options.PrewriteWAL).
//
// Syncing a file the size of which does not change is cheaper than
// syncing one that grows. Appending to a new WAL file changes its size
// (and, on first write, its block allocation) with every record, so each
// fdatasync writes the inode as well as the data before flushing the
// device cache: three device round trips instead of two. On this
// project's test machine that made each WAL sync under a durable insert
// load 40% slower. Pebble avoids the cost when it can recycle an old WAL
// file, overwriting its contents in place; walSpare covers the cases it
// cannot: the first WAL files of a store, those made after a restart, and
// recycled files smaller than a full log.
//
// It keeps one spare file, spareName in the data directory, full of
// synced zeros and as long as Pebble preallocates a WAL file (110% of the
// memtable). When Pebble creates a WAL file, or reuses a recycled one
// that is shorter than the spare, walFS renames the spare into place
// instead, and a goroutine writes the next spare. The zeros past the last
// record read as the end of the log, as a recycled file's old records do
// (they carry another log number), so the WAL format needs nothing new.
// Pebble syncs the directory after creating a WAL file, which makes the
// rename durable.

// spareName is the pre-written WAL file waiting to be used; spareTemp is
// the name it is written under. Pebble ignores both names.
const (
	spareName = "CAIRN-WAL-SPARE"
	spareTemp = "CAIRN-WAL-SPARE.tmp"
)

// spareCategory is the write category spares are written with.
const spareCategory vfs.DiskWriteCategory = "cairn-wal-spare"

// walSpare prepares and hands out spare WAL files.
type walSpare struct {
	fs     vfs.FS
	path   string // the spare's final path
	temp   string // the path it is written at
	size   int64  // the length of a spare
	logger *slog.Logger

	mu      sync.Mutex
	ready   bool // a complete spare is at path
	writing bool // a goroutine is writing one
	wg      sync.WaitGroup

	used atomic.Int64 // WAL files that were spares
}

// newWALSpare returns a walSpare for the WAL files in dir, each size
// bytes long.
func newWALSpare(fs vfs.FS, dir string, size int64, logger *slog.Logger) *walSpare {
	return &walSpare{
		fs:     fs,
		path:   fs.PathJoin(dir, spareName),
		temp:   fs.PathJoin(dir, spareTemp),
		size:   size,
		logger: logger,
	}
}

// init runs before Pebble opens the store: it removes a spare left half
// written by a crash and keeps a complete one; without one, it writes one
// now, so the store's first WAL file is pre-written too. Nothing here
// stops the store from opening: without a spare, WAL files are created
// the usual way.
func (s *walSpare) init() {
	if err := s.fs.Remove(s.temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.logger.Warn("storage/pebble: could not remove a half-written WAL spare", "path", s.temp, "err", err)
	}
	if fi, err := s.fs.Stat(s.path); err == nil && fi.Size() == s.size {
		s.ready = true
		return
	}
	if err := s.fs.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.logger.Warn("storage/pebble: could not remove a WAL spare of the wrong size", "path", s.path, "err", err)
		return
	}
	s.ready = s.write() == nil
}

// take moves the spare to name and opens it for writing from its start.
// It returns nil, with no error, when no spare is ready or moving it
// failed: the caller then creates the file as it would have without one.
func (s *walSpare) take(name string) vfs.File {
	s.mu.Lock()
	ready := s.ready
	s.ready = false
	s.mu.Unlock()
	if !ready {
		return nil
	}
	if err := s.fs.Rename(s.path, name); err != nil {
		s.logger.Warn("storage/pebble: could not use the pre-written WAL file", "path", s.path, "err", err)
		return nil
	}
	f, err := s.fs.OpenReadWrite(name, walCategory)
	if err != nil {
		s.logger.Warn("storage/pebble: could not open the pre-written WAL file", "path", name, "err", err)
		return nil
	}
	s.used.Add(1)
	return f
}

// short reports whether the recycled WAL file at name is shorter than a
// spare, so that using a spare instead saves syncs that grow the file.
func (s *walSpare) short(name string) bool {
	fi, err := s.fs.Stat(name)
	return err == nil && fi.Size() < s.size
}

// refill starts writing the next spare unless one is ready or being
// written.
func (s *walSpare) refill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready || s.writing {
		return
	}
	s.writing = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.write()
		s.mu.Lock()
		s.writing = false
		s.ready = err == nil
		s.mu.Unlock()
	}()
}

// wait waits for a spare being written; Close calls it so that the next
// Open finds the spare ready.
func (s *walSpare) wait() { s.wg.Wait() }

// spareRoom is how many spares' worth of free space the disk must have
// for one to be written: a spare must never be what fills the disk.
const spareRoom = 4

// write writes a spare at temp, syncs it and renames it to path. A
// failure is logged (and not fatal: the next WAL file is created the
// usual way, and the one after it tries again).
func (s *walSpare) write() error {
	err := s.writeSpare()
	if err != nil {
		s.logger.Warn("storage/pebble: no pre-written WAL file", "path", s.path, "err", err)
	}
	return err
}

func (s *walSpare) writeSpare() error {
	if du, err := s.fs.GetDiskUsage(s.fs.PathDir(s.path)); err == nil && du.AvailBytes < uint64(spareRoom*s.size) {
		return fmt.Errorf("%d bytes free, fewer than %d spares' worth", du.AvailBytes, spareRoom)
	}
	f, err := s.fs.Create(s.temp, spareCategory)
	if err != nil {
		return fmt.Errorf("create %s: %w", spareTemp, err)
	}
	err = fillZeros(f, s.size)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err == nil {
		err = s.fs.Rename(s.temp, s.path)
	}
	if err != nil {
		_ = s.fs.Remove(s.temp)
		return fmt.Errorf("%s: %w", spareTemp, err)
	}
	return nil
}

// fillZeros writes size zero bytes to f and syncs it.
func fillZeros(f vfs.File, size int64) error {
	zeros := make([]byte, min(size, 1<<20))
	for left := size; left > 0; {
		n, err := f.Write(zeros[:min(left, int64(len(zeros)))])
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		left -= int64(n)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}
