// Package pebble implements storage.Engine over CockroachDB's Pebble LSM
// key-value store (github.com/cockroachdb/pebble/v2). It is Cairn's
// embedded default engine.
//
// # Reads
//
// Engine.Snapshot wraps a Pebble snapshot: a sequence-number-pinned view
// that writers never block. Values returned by Get are copies, so they stay
// valid after later writes and after the snapshot closes. Scan returns an
// iterator bounded by [lower, upper); its Key and Value are valid until the
// next call to Next. Closing a Snapshot closes its open iterators.
//
// # Writes and serializability
//
// Update calls are serialized by a single write lock (a one-slot semaphore,
// so a caller waiting for it honours ctx cancellation). Inside the lock the
// transaction is an indexed Pebble batch: its reads see the latest
// committed state (nothing else can commit while the lock is held) plus
// the batch's own writes, so the resulting schedule is trivially
// serializable. If fn returns nil the batch is committed atomically;
// otherwise it is discarded. ErrConflict is never returned.
//
// # Durability and group commit
//
// Committing with pebble.Sync while holding the write lock would make every
// writer wait for its own fsync in turn. Instead the batch is committed
// under the lock with db.ApplyNoSyncWait: it is queued for the WAL with a
// sync request, applied to the memtable and made visible, and the call
// returns without waiting for the fsync. The lock is released, and only
// then does the writer wait for durability with Batch.SyncWait. Pebble's
// WAL writer satisfies all pending sync requests with one fsync, so the
// writers that queue up while a sync is in flight share the next one
// (group commit), and each commit is a single WAL record.
//
// Why this is safe: the WAL is written sequentially, so a synced record
// implies every earlier record in that WAL file is synced too; when Pebble
// rotates to a new WAL file it closes the old one, and closing syncs it,
// before anything is written to the new file. Therefore when Update
// returns nil for a synced commit (neither NoSync nor Written), the
// transaction's batch is on stable storage and survives kill -9 and power
// loss.
//
// A consequence of "visible before durable": another transaction or
// snapshot may observe a committed write for the brief window before its
// fsync completes. If the machine crashed in that window the write would
// be lost, but it was never acknowledged; any later synced Update that
// read it also syncs it (its sync covers the earlier WAL record). This is
// the same trade-off MongoDB makes for j:true.
//
// With UpdateOptions.Written (write concern w:1, the default) the commit
// takes the same path, but the WAL writer's sync is skipped unless a
// synced commit is waiting too: Update returns once the record is written
// to the WAL file, where it survives kill -9, and a background loop syncs
// the WAL every Options.SyncInterval (100 ms by default, MongoDB's journal
// commit interval), as does rotating to a new WAL file. A power loss can
// lose the last interval's Written commits, always a tail of the log. This
// needs a WAL format that reads a torn tail as the end of the log, so new
// stores are created at the format before FormatWALSyncChunks (walsync.go
// says why); on a store at a later format Written commits are synced.
// Reads after a fatal error then serve the last acknowledged state.
//
// With Options.PrewriteWAL (cmd/cairn sets it) every new WAL file starts
// as a spare written in advance, zeros already synced, so that a sync
// does not also write the file's growing length (walspare.go).
//
// With UpdateOptions.NoSync (w:0) the commit returns as soon as the batch
// is visible; the data reaches the WAL file asynchronously and is made
// durable by any later synced commit, a memtable flush or Close.
//
// # Tables
//
// Data blocks are 32 KiB (DefaultBlockSize) with a Bloom filter per
// table. Blocks are compressed with Snappy when it saves at least 12%,
// through an adaptive profile: each table writer tries Snappy on its first
// block and one in ten after, and skips it for the rest while it is not
// saving, so data that does not compress costs no compression work in
// flushes and compactions (engine.go, compression).
//
// # Caches of our own
//
// Besides Pebble's block cache, the engine keeps a row cache (rowcache.go):
// values that Gets return, served again to later Gets of snapshots and
// transactions that are sure to see the same value. Commits are numbered
// and announce the keys they write before they apply, so a hit is exactly
// what the reader's snapshot holds. Getters offer storage.Borrower (the
// value in Pebble's memory, valid until the next call), and transactions
// storage.ApplyNotifier (functions run after the commit is applied, under
// the write lock).
//
// Each synced commit takes a snapshot that becomes the durable snapshot
// once its sync succeeds; an anchor snapshot, renewed once a second
// (anchor.go), keeps the replaced durable snapshots from being the oldest
// one open, whose close makes Pebble look for compactions under its mutex.
//
// # Lifetime
//
// Close waits for in-flight operations, closes any snapshots and iterators
// still open, flushes the memtable and closes the DB. Every operation
// afterwards returns storage.ErrClosed.
package pebble
