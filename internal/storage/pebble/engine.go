package pebble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairndb/cairn/internal/storage"
)

// DefaultCacheSize is the block cache size used when Options.CacheSize is 0.
const DefaultCacheSize int64 = 256 << 20

// DefaultMemTableSize is the memtable size used when Options.MemTableSize
// is 0. Pebble's own default is 4 MiB; with 32 MiB an update-heavy load
// flushes and compacts eight times less often (YCSB A over 100k 1 KB
// records: about 20% more operations a second, see docs/performance.md).
// Memtables start small and grow up to this size, and at most two are in
// memory at once.
const DefaultMemTableSize uint64 = 32 << 20

// DefaultBlockSize is the target size of an sstable's data blocks when
// Options.BlockSize is 0. Pebble's own default is 4 KiB, which holds about
// three of the 1 KB documents typical here: a range scan then moved into a
// new block, with a block cache lookup, every few records. With 32 KiB
// (CockroachDB's choice too), over 100k records: indexed range + sort +
// limit 20 about 7% more operations a second, count 15%, $group more than
// 40%; find by _id unchanged, and 8% faster at 1M records (more than the
// block cache holds). 64 KiB made that 16% slower (docs/performance.md).
const DefaultBlockSize = 32 << 10

// compression is the block compression of every level: Snappy for blocks
// it shrinks by at least 12%, none for the others, as Pebble's default
// profile does, but adaptive. An sstable writer tries Snappy on its first
// data block and then on one in ten; for the others it follows the
// running estimate of what Snappy saved, and skips it while that is below
// 12%. Data that does not compress (GridFS chunks of images or archives,
// random strings) then costs little compression work in flushes and
// compactions; documents that do compress are compressed as before
// (durable insert_one of the load tool's 1 KB random-letter documents:
// about 3.5% more operations a second, docs/performance.md).
//
// Index and other metadata blocks, under 1% of a table with 32 KiB data
// blocks, are stored uncompressed: the adaptive choice is between the data
// setting and theirs, so theirs must be none. Pebble reads blocks by their
// own compression marks and does not check the profile's name when it
// reopens a store, so stores move freely between this and Pebble's
// default profile.
var compression = &sstable.CompressionProfile{
	Name:                           "cairn-adaptive-snappy",
	DataBlocks:                     sstable.SnappyCompression.DataBlocks,
	ValueBlocks:                    sstable.SnappyCompression.ValueBlocks,
	OtherBlocks:                    sstable.NoCompression.OtherBlocks,
	MinReductionPercent:            12,
	AdaptiveReductionCutoffPercent: 12,
}

// Options configure Open.
type Options struct {
	// FS is the filesystem to use; nil means vfs.Default (the OS).
	// Tests use vfs.NewMem() or an error-injecting FS.
	FS vfs.FS
	// CacheSize is the block cache size in bytes; 0 means DefaultCacheSize.
	CacheSize int64
	// RowCacheSize is the row cache's size in bytes (rowcache.go); 0 means
	// DefaultRowCacheSize, a negative size turns the row cache off.
	RowCacheSize int64
	// Logger receives Pebble's log output; nil means slog.Default().
	Logger *slog.Logger

	// MemTableSize is the size in bytes up to which a memtable grows
	// before it is flushed; 0 means DefaultMemTableSize. Tests force WAL
	// rotations with a tiny one.
	MemTableSize uint64

	// BlockSize is the target size in bytes of the data blocks of the
	// sstables written from now on; 0 means DefaultBlockSize. Tables
	// already written keep theirs until compactions rewrite them.
	BlockSize int

	// SyncInterval is how long a commit made with
	// storage.UpdateOptions.Written may stay written to the WAL file but
	// not synced: a background loop syncs the WAL this often (walsync.go).
	// 0 means DefaultSyncInterval; a negative value syncs Written commits
	// like any other.
	SyncInterval time.Duration

	// PrewriteWAL keeps a WAL file written in advance (zeros, synced) in
	// dir, to be used for the next WAL file, so that WAL syncs do not
	// also write the file's growing size (walspare.go). It costs a file
	// of 110% of MemTableSize on disk, written when the store opens (if
	// none is left from the last time) and after each use. cmd/cairn sets
	// it; tests on in-memory filesystems leave it off.
	PrewriteWAL bool

	// syncUnderLock makes Update commit with pebble.Sync while holding the
	// write lock, disabling group commit. Only benchmarks set it.
	syncUnderLock bool
	// compression replaces the package's compression profile. Only tests
	// and benchmarks set it, to compare with Pebble's own.
	compression *sstable.CompressionProfile
}

// Engine is a storage.Engine backed by a Pebble DB. It is safe for
// concurrent use.
type Engine struct {
	db   *pebble.DB
	fail *failState
	dir  string
	opts Options

	// life guards against Close racing with operations: every operation
	// holds a read lock (acquired with TryRLock so it never blocks and never
	// deadlocks when nested), Close takes the write lock.
	life   sync.RWMutex
	closed atomic.Bool

	// writeSem is the Update write lock (a one-slot semaphore so waiters
	// can give up when their context is done).
	writeSem chan struct{}

	mu        sync.Mutex
	snapshots map[*snapshot]struct{}

	// commitSeq numbers synced commits (guarded by writeSem); durable is
	// the snapshot of the newest commit known to be synced (durMu).
	commitSeq uint64
	durMu     sync.Mutex
	durable   *sharedSnap

	// rc caches point reads (rowcache.go; nil when off); applied numbers
	// the commits applied so far (set under writeSem).
	rc      *rowCache
	applied atomic.Uint64

	// anchorMu guards anchor, a snapshot older than the durable ones
	// (anchor.go).
	anchorMu sync.Mutex
	anchor   anchor

	// wal decides which WAL syncs reach the disk (walsync.go); spare,
	// nil unless Options.PrewriteWAL, supplies WAL files (walspare.go).
	wal   *walSyncer
	spare *walSpare
}

var (
	_ storage.Engine        = (*Engine)(nil)
	_ storage.SizeEstimator = (*Engine)(nil)
	_ storage.Exclusive     = (*Engine)(nil)
	_ storage.Syncer        = (*Engine)(nil)
)

// Exclusive reports true: Pebble locks its directory, so no other process
// writes the data while the engine is open.
func (e *Engine) Exclusive() bool { return true }

// Open opens (creating if needed) the Pebble database in dir.
func Open(dir string, opts *Options) (*Engine, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.RowCacheSize == 0 {
		o.RowCacheSize = DefaultRowCacheSize
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref()
	fs := &failState{}
	ws := newWALSyncer()
	var spare *walSpare
	if o.PrewriteWAL {
		if err := o.FS.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("storage/pebble: open %q: %w", dir, err)
		}
		spare = newWALSpare(o.FS, dir, int64(o.MemTableSize+o.MemTableSize/10), o.Logger)
		spare.init()
	}
	po := &pebble.Options{
		// walFS: Written commits skip the sync (walsync.go), and WAL
		// files are made from pre-written ones (walspare.go).
		FS:                 walFS{FS: o.FS, s: ws, spare: spare},
		Cache:              cache,
		Logger:             slogLogger{l: o.Logger.With("component", "pebble", "dir", dir), fail: fs},
		FormatMajorVersion: storeFormat,
		MemTableSize:       o.MemTableSize,
	}
	// Bloom filters (10 bits a key, about 1% false positives) let a Get
	// for an absent key skip tables without reading them: every insert
	// checks that its _id is new.
	profile := compression
	if o.compression != nil {
		profile = o.compression
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		po.Levels[i].BlockSize = o.BlockSize
		po.Levels[i].Compression = func() *sstable.CompressionProfile { return profile }
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		if spare != nil {
			spare.wait()
		}
		return nil, fmt.Errorf("storage/pebble: open %q: %w", dir, err)
	}
	e := &Engine{
		db:        db,
		fail:      fs,
		dir:       dir,
		opts:      o,
		writeSem:  make(chan struct{}, 1),
		snapshots: make(map[*snapshot]struct{}),
		// What Open recovered is durable.
		durable: newSharedSnap(db.NewSnapshot(), 0),
		rc:      newRowCache(o.RowCacheSize),
		wal:     ws,
		spare:   spare,
	}
	switch {
	case o.SyncInterval < 0:
	case db.FormatMajorVersion() >= pebble.FormatWALSyncChunks:
		o.Logger.Info("storage/pebble: the store's format stamps WAL records with synced offsets, so w:1 writes are synced like j:true ones; a store created by this version does not",
			"dir", dir, "format", db.FormatMajorVersion().String())
	default:
		ws.lazy.Store(true)
		ws.start(o.SyncInterval, func(err error) {
			err = fs.fatal("sync WAL: "+err.Error(), err)
			o.Logger.Error("storage/pebble: background WAL sync failed", "dir", dir, "err", err)
		})
	}
	return e, nil
}

// Sync makes every commit so far durable: Written ones, and NoSync ones
// still in Pebble's WAL buffer. It writes an empty record to the WAL with
// a sync request that is not skipped. A failed sync fails the engine, as
// a failed commit sync does.
func (e *Engine) Sync() error {
	if !e.enter() {
		return storage.ErrClosed
	}
	defer e.exit()
	if err := e.fail.get(); err != nil {
		return err
	}
	e.wal.strict.Add(1)
	defer e.wal.strict.Add(-1)
	return e.fail.guard(func() error {
		if err := e.db.LogData(nil, pebble.Sync); err != nil {
			return e.fail.fatal("sync: "+err.Error(), err)
		}
		return nil
	})
}

// LazySyncs reports whether commits made with storage.UpdateOptions.Written
// return before their WAL sync (see walsync.go); when false they are synced.
func (e *Engine) LazySyncs() bool { return e.wal.lazy.Load() }

// DB returns the underlying Pebble DB, for metrics and tools. Callers must
// not close it.
func (e *Engine) DB() *pebble.DB { return e.db }

// enter registers an in-flight operation; it reports false if the engine
// is closed or closing. A true result must be paired with exit.
func (e *Engine) enter() bool {
	if !e.life.TryRLock() {
		return false
	}
	if e.closed.Load() {
		e.life.RUnlock()
		return false
	}
	return true
}

func (e *Engine) exit() { e.life.RUnlock() }

// Snapshot returns a consistent read-only view of the current state.
func (e *Engine) Snapshot() (storage.Snapshot, error) {
	if !e.enter() {
		return nil, storage.ErrClosed
	}
	defer e.exit()
	s := &snapshot{e: e, iters: make(map[*iterator]struct{})}
	if e.fail.get() != nil {
		// Serve the last state known to be durable (see Fatalf).
		d := e.durableRef()
		if d == nil {
			return nil, e.fail.get()
		}
		s.snap, s.shared = d.snap, d
	} else {
		// Noted before the snapshot is taken, which sees every commit up
		// to this one (rowcache.go).
		s.rcA, s.rc = e.applied.Load(), e.rc
		s.snap = e.db.NewSnapshot()
	}
	e.mu.Lock()
	e.snapshots[s] = struct{}{}
	e.mu.Unlock()
	return s, nil
}

// Update runs fn in a serializable read-write transaction and commits its
// writes atomically if fn returns nil. Unless opts.NoSync or opts.Written
// is set, the commit is synced to stable storage (sharing fsyncs with
// concurrent committers) before Update returns; with Written it is
// written to the WAL file (walsync.go).
func (e *Engine) Update(ctx context.Context, opts storage.UpdateOptions, fn func(storage.Txn) error) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !e.enter() {
		return storage.ErrClosed
	}
	defer e.exit()
	if err := e.fail.get(); err != nil {
		return err
	}

	// Take the write lock without touching ctx.Done when it is free (a
	// deadline context may arm its timer on the first Done).
	select {
	case e.writeSem <- struct{}{}:
	default:
		select {
		case e.writeSem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := e.fail.get(); err != nil {
		// A commit failed fatally while this one waited for the lock.
		<-e.writeSem
		return err
	}
	if !opts.NoSync && !opts.Written {
		// A synced commit: every WAL sync reaches the disk until it is
		// acknowledged (walsync.go).
		e.wal.strict.Add(1)
		defer e.wal.strict.Add(-1)
	}
	b, snap, err := e.runTxn(opts, fn)
	if err != nil || b == nil {
		return err
	}
	// Group commit: the batch was committed with a sync request but
	// without waiting for it; wait now, outside the write lock, so writers
	// queued behind the lock share the WAL writer's next fsync. (With
	// syncUnderLock the commit has synced already and this returns at
	// once.)
	err = e.fail.guard(func() error {
		if err := b.SyncWait(); err != nil {
			// The batch is visible but not durable: fail the engine so
			// that reads fall back to the durable snapshot (see Fatalf).
			return e.fail.fatal("sync commit: "+err.Error(), err)
		}
		return nil
	})
	if err != nil {
		// The batch is left to the GC: Pebble marks a batch whose sync
		// failed as not reusable.
		snap.unref()
		return err
	}
	_ = b.Close()
	e.publishDurable(snap)
	return nil
}

// sharedSnap is a reference-counted Pebble snapshot with the commit
// sequence it was taken after.
type sharedSnap struct {
	snap *pebble.Snapshot
	seq  uint64
	refs atomic.Int32
}

func newSharedSnap(snap *pebble.Snapshot, seq uint64) *sharedSnap {
	s := &sharedSnap{snap: snap, seq: seq}
	s.refs.Store(1)
	return s
}

func (s *sharedSnap) unref() {
	if s != nil && s.refs.Add(-1) == 0 {
		_ = s.snap.Close()
	}
}

// publishDurable makes snap the engine's durable snapshot if it is newer
// than the current one: its commit and every earlier one are synced.
func (e *Engine) publishDurable(snap *sharedSnap) {
	e.durMu.Lock()
	old := e.durable
	if old != nil && old.seq > snap.seq {
		e.durMu.Unlock()
		snap.unref()
		return
	}
	e.durable = snap
	e.durMu.Unlock()
	e.renewAnchor()
	old.unref()
}

// durableRef returns the durable snapshot with a reference taken, or nil.
func (e *Engine) durableRef() *sharedSnap {
	e.durMu.Lock()
	defer e.durMu.Unlock()
	if e.durable != nil {
		e.durable.refs.Add(1)
	}
	return e.durable
}

// runTxn runs fn over an indexed batch and commits it, holding the write
// lock, and releases the lock (even if fn panics).
//
// A NoSync commit is complete when runTxn returns; it returns a nil batch.
// A synced commit is applied and visible but its WAL sync may still be in
// flight: runTxn returns the batch, which the caller must SyncWait on and
// then Close, together with a snapshot taken right after the commit,
// under the lock, so that it holds exactly the commits up to this one;
// once the sync succeeds it becomes the durable snapshot that reads use if
// the engine fails. Nothing written returns a nil batch and no error.
func (e *Engine) runTxn(opts storage.UpdateOptions, fn func(storage.Txn) error) (pending *pebble.Batch, snap *sharedSnap, err error) {
	b := e.db.NewIndexedBatch()
	t := &txn{b: b, iters: make(map[*iterator]struct{}), e: e}
	keep := false // the commit pipeline may still hold b
	defer func() {
		t.finish()
		if pending == nil && !keep {
			_ = b.Close()
		}
		<-e.writeSem
	}()
	if err := fn(t); err != nil {
		return nil, nil, err
	}
	t.finish() // iterators over the batch must be closed before commit
	if b.Empty() {
		t.runApplied()
		return nil, nil, nil
	}
	n := e.applied.Load() + 1
	renew := e.rc.beginCommit(b, n)
	var commit func() error
	switch {
	case opts.NoSync:
		commit = func() error { return b.Commit(pebble.NoSync) }
	case e.opts.syncUnderLock:
		commit = func() error { return b.Commit(pebble.Sync) }
	default:
		// Applied to the memtable and visible when this returns; the WAL
		// writer syncs it (with whatever else is queued) in the
		// background, and Batch.SyncWait waits for that.
		commit = func() error { return e.db.ApplyNoSyncWait(b, pebble.Sync) }
	}
	if err := e.fail.guard(commit); err != nil {
		// After a failed commit Pebble may still reference the batch
		// (a sync waiter, the WAL writer); leave it to the GC.
		keep = true
		return nil, nil, fmt.Errorf("storage/pebble: commit: %w", err)
	}
	e.rc.endCommit(renew, n) // nothing to renew without a cache
	e.applied.Store(n)
	t.runApplied() // still under the write lock
	if opts.NoSync {
		return nil, nil, nil
	}
	e.commitSeq++
	return b, newSharedSnap(e.db.NewSnapshot(), e.commitSeq), nil
}

// EstimateSize estimates the on-disk bytes used by keys in [lower, upper).
// A nil upper means no upper bound. Data still only in the memtable/WAL is
// not counted.
func (e *Engine) EstimateSize(lower, upper []byte) (uint64, error) {
	if !e.enter() {
		return 0, storage.ErrClosed
	}
	defer e.exit()
	if upper == nil {
		// Pebble needs a finite end: use a key just past the last key.
		it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lower})
		if err != nil {
			return 0, fmt.Errorf("storage/pebble: estimate size: %w", err)
		}
		if !it.Last() {
			err := it.Close()
			return 0, err
		}
		upper = append(append([]byte(nil), it.Key()...), 0)
		if err := it.Close(); err != nil {
			return 0, fmt.Errorf("storage/pebble: estimate size: %w", err)
		}
	}
	if lower == nil {
		lower = []byte{}
	}
	n, err := e.db.EstimateDiskUsage(lower, upper)
	if err != nil {
		return 0, fmt.Errorf("storage/pebble: estimate size: %w", err)
	}
	return n, nil
}

// Flush flushes the memtable to sstables (useful before EstimateSize).
func (e *Engine) Flush() error {
	if !e.enter() {
		return storage.ErrClosed
	}
	defer e.exit()
	if err := e.db.Flush(); err != nil {
		return fmt.Errorf("storage/pebble: flush: %w", err)
	}
	return nil
}

// Metrics returns Pebble's metrics: the LSM's levels, flushes,
// compactions, caches and WAL. Its String method formats them as a table.
func (e *Engine) Metrics() (*pebble.Metrics, error) {
	if !e.enter() {
		return nil, storage.ErrClosed
	}
	defer e.exit()
	return e.db.Metrics(), nil
}

// Close waits for in-flight operations, closes open snapshots and their
// iterators, flushes the memtable and closes the DB. Closing twice returns
// storage.ErrClosed.
func (e *Engine) Close() error {
	e.life.Lock()
	defer e.life.Unlock()
	if e.closed.Swap(true) {
		return storage.ErrClosed
	}
	// Pebble syncs the WAL as it closes it (walFile.Close).
	e.wal.halt()
	if e.spare != nil {
		// Closing the DB makes a last WAL file, and with it the next
		// spare: let that finish so the next Open finds it ready.
		defer e.spare.wait()
	}
	e.mu.Lock()
	snaps := make([]*snapshot, 0, len(e.snapshots))
	for s := range e.snapshots {
		snaps = append(snaps, s)
	}
	e.mu.Unlock()
	var errs []error
	for _, s := range snaps {
		if err := s.release(); err != nil {
			errs = append(errs, err)
		}
	}
	e.durMu.Lock()
	d := e.durable
	e.durable = nil
	e.durMu.Unlock()
	if e.fail.get() != nil {
		// After a fatal storage error Pebble's state is unusable: flushing
		// or closing it can panic. Everything acknowledged is in the WAL,
		// which the next Open replays.
		return fmt.Errorf("storage/pebble: close %q: %w", e.dir, e.fail.get())
	}
	d.unref()
	e.closeAnchor()
	if err := e.db.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("flush: %w", err))
	}
	if err := e.db.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage/pebble: close %q: %w", e.dir, err)
	}
	return nil
}

// slogLogger adapts *slog.Logger to pebble.Logger.
type slogLogger struct {
	l    *slog.Logger
	fail *failState
}

// Infof logs at Debug level: Pebble reports routine events (WAL replay,
// flushes, compactions) through it.
func (s slogLogger) Infof(format string, args ...any) {
	if s.l.Enabled(context.Background(), slog.LevelDebug) {
		s.l.Debug(fmt.Sprintf(format, args...))
	}
}
func (s slogLogger) Errorf(format string, args ...any) {
	s.l.Error(fmt.Sprintf(format, args...))
}

// Fatalf is called by Pebble on unrecoverable internal corruption; Pebble
// requires that it not return.
//
// Cairn is fail-stop for writes: the first fatal error (a WAL write or
// sync failure, a full disk) marks the engine failed, and from then on
// every write returns that error until the process restarts and Pebble
// replays its WAL. Reads go on, served from the durable snapshot: the state
// as of the newest commit whose sync succeeded. They must not see the live
// state, because Pebble applies a batch to the memtable before the WAL
// write that failed, so readers could otherwise see a write that was never
// acknowledged and will not survive a restart. Fatalf then panics with a
// value that guard turns back into an error in the committing goroutine.
func (s slogLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.l.Error("fatal storage error; the engine refuses reads and writes until restart", "err", msg)
	var errs []error
	for _, a := range args {
		if err, ok := a.(error); ok {
			errs = append(errs, err)
		}
	}
	panic(fatalPanic{s.fail.fatal(msg, errs...)})
}

// fatalError is the engine's failure error for msg: it wraps
// storage.ErrFailed, and syscall.ENOSPC too if any of causes is a full
// disk.
func fatalError(msg string, causes ...error) error {
	cause := storage.ErrFailed
	for _, c := range causes {
		if errors.Is(c, syscall.ENOSPC) {
			cause = fmt.Errorf("%w: %w", storage.ErrFailed, syscall.ENOSPC)
		}
	}
	return fmt.Errorf("storage/pebble: %w: %s", cause, msg)
}

// fatalPanic is the panic value of Fatalf.
type fatalPanic struct{ err error }

// Error lets a fatalPanic that escapes guard (Pebble can report a fatal
// error from inside any read) print as the engine's error wherever it is
// recovered, instead of as an opaque struct.
func (p fatalPanic) Error() string { return p.err.Error() }

// failState records the engine's first fatal error.
type failState struct {
	mu  sync.Mutex
	err error
}

func (f *failState) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// fatal records the engine's failure error for msg (fatalError) unless
// one is recorded already, and returns it.
func (f *failState) fatal(msg string, causes ...error) error {
	err := fatalError(msg, causes...)
	f.set(err)
	return err
}

func (f *failState) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// guard runs fn, turning a Fatalf panic into the recorded error.
func (f *failState) guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fp, ok := p.(fatalPanic)
			if !ok {
				panic(p)
			}
			err = fp.err
		}
	}()
	return fn()
}
