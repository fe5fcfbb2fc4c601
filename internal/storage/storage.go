package storage

import (
	"context"
	"errors"
)

// Sentinel errors returned by engines.
var (
	// ErrNotFound is returned by Reader.Get when the key is absent.
	ErrNotFound = errors.New("storage: key not found")
	// ErrClosed is returned by operations on a closed engine.
	ErrClosed = errors.New("storage: engine closed")
	// ErrFailed is returned by every operation of an engine that hit a
	// fatal storage error (a failed WAL write or sync, a full disk). The
	// engine refuses reads and writes until the process restarts.
	ErrFailed = errors.New("storage: engine failed after a fatal storage error; restart required")
	// ErrConflict is returned by Update when a transaction could not be
	// serialized and should be retried by the caller.
	ErrConflict = errors.New("storage: transaction conflict")
)

// Engine is an ordered, transactional key-value store.
type Engine interface {
	// Snapshot returns a consistent read-only view of the current state.
	// The caller must Close it.
	Snapshot() (Snapshot, error)
	// Update runs fn in a read-write transaction and commits it if fn
	// returns nil. If fn returns an error, nothing it wrote is applied.
	Update(ctx context.Context, opts UpdateOptions, fn func(Txn) error) error
	// Close flushes and closes the engine.
	Close() error
}

// UpdateOptions tune one Update call. The zero value is the strictest:
// the commit is synced to stable storage before Update returns.
type UpdateOptions struct {
	// NoSync returns as soon as the commit is visible, without waiting
	// for it to reach the log at all (write concern w:0). It may be lost
	// if the process dies.
	NoSync bool
	// Written lets Update return once the commit has been handed to the
	// operating system (written to the engine's log file) instead of
	// synced: it survives the process being killed, but not a power loss
	// until the engine's next sync, which comes within its sync interval
	// (MongoDB's journal commit interval; write concern w:1 without j).
	// An engine that cannot tell the two apart syncs.
	Written bool
}

// Reader reads keys.
type Reader interface {
	// Get returns the value for key, or ErrNotFound. The returned slice
	// belongs to the caller: it stays valid, and unchanged, after later
	// writes and after the Reader is closed.
	Get(key []byte) ([]byte, error)
	// Scan returns an iterator over keys in [lower, upper), in ascending
	// order or, if reverse, descending. A nil upper means no upper bound.
	Scan(lower, upper []byte, reverse bool) (Iterator, error)
}

// Snapshot is a read-only view that must be closed.
type Snapshot interface {
	Reader
	Close() error
}

// Txn is a read-write transaction inside Engine.Update.
type Txn interface {
	Reader
	Set(key, value []byte) error
	Delete(key []byte) error
	// DeleteRange deletes every key in [lower, upper).
	DeleteRange(lower, upper []byte) error
}

// ApplyNotifier is an optional capability of a Txn: OnApply registers fn
// to run once the transaction's writes are applied (visible to every
// later transaction), while the engine still holds its write lock, so no
// later transaction starts before fn returns. fn must not block; it does
// not run if the transaction fails or its commit cannot be applied. (A
// synced commit whose sync fails later has been applied: its writes are
// visible, and the engine fails.) The document layer uses it to keep
// facts about the committed state in memory.
type ApplyNotifier interface {
	OnApply(fn func())
}

// Iterator walks keys in order. Usage:
//
//	for it.Next() { use(it.Key(), it.Value()) }
//	if err := it.Err(); err != nil { ... }
//	it.Close()
//
// Key and Value are valid until the next call to Next.
type Iterator interface {
	Next() bool
	Key() []byte
	Value() []byte
	Err() error
	Close() error
}

// PointReader is an optional capability of a Snapshot: many point reads
// through one Getter cost less than as many Get calls, because the engine
// keeps one positioned cursor instead of building a lookup for each key.
// Reads of keys in ascending order are cheapest.
type PointReader interface {
	NewGetter() (Getter, error)
}

// Getter reads single keys from the snapshot that made it. As with
// Reader.Get, the values it returns belong to the caller. It is closed
// with the snapshot if not before.
type Getter interface {
	// Get returns the value for key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	Close() error
}

// Borrower is an optional capability of a Getter: Borrow is Get, except
// that the value belongs to the engine and stays valid only until the
// Getter's next call or its Close. A caller that copies each value at once
// (into a reply, say) saves the engine's copy.
type Borrower interface {
	Borrow(key []byte) ([]byte, error)
}

// Exclusive is an optional capability of an Engine: Exclusive reports
// whether this process is the only one that writes the engine's data (an
// embedded store holding a lock on its directory). The document layer then
// keeps facts about the stored keys in memory between transactions, such
// as which record keys each collection has had inserted recently. An engine shared by
// several processes must not implement it, or must report false.
type Exclusive interface {
	Exclusive() bool
}

// Syncer is an optional capability of an Engine: Sync makes every commit
// made so far durable (synced to stable storage), whatever the options it
// was made with. The fsync command uses it.
type Syncer interface {
	Sync() error
}

// SizeEstimator is implemented by engines that can estimate the bytes a
// key range occupies on disk.
type SizeEstimator interface {
	EstimateSize(lower, upper []byte) (uint64, error)
}

// PrefixEnd returns the smallest key greater than every key that starts
// with prefix, or nil if there is none (prefix is all 0xff).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
