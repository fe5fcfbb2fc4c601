// Package storage defines the small ordered, transactional key-value
// interface that Cairn's document layer (internal/catalog) is written
// against. Engines live in sub-packages: storage/pebble is the embedded
// default; a PostgreSQL engine can implement the same interface without
// touching the layers above.
//
// The contract:
//
//   - Keys are byte strings ordered lexicographically (bytes.Compare).
//   - Snapshot gives a consistent, read-only view that writers never block.
//   - Update runs a read-write transaction: its reads see the latest
//     committed state plus its own writes, and its writes become visible
//     atomically when fn returns nil. Concurrent Update calls on one engine
//     are serializable (an engine may simply run them one at a time, or
//     retry on conflict). By default the writes are durable (synced)
//     before Update returns; engines share syncs between concurrent
//     committers (group commit). UpdateOptions relaxes that: Written
//     returns once the writes are in the operating system's hands (they
//     survive kill -9 and are synced within the engine's sync interval),
//     NoSync as soon as they are visible.
//
// Optional capabilities are separate interfaces found by type assertion,
// as in database/sql/driver: SizeEstimator, Syncer (sync every commit so
// far), PointReader (many point reads through one cursor) and Exclusive (this process is the data's only
// writer, so the document layer may remember facts about it between
// transactions).
package storage
