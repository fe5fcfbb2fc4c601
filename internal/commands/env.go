package commands

import (
	"log/slog"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Env is what command handlers reach the rest of the server through. The
// server builds one at start-up.
type Env struct {
	Catalog *catalog.Catalog
	Cursors CursorStore
	Info    *ServerInfo
	Logger  *slog.Logger
	// Sessions remembers the logical sessions clients used.
	Sessions *Sessions
	// FailPoints is set when test commands are enabled.
	FailPoints *FailPoints
}

// ServerInfo is the server's identity and configuration as commands report
// it.
type ServerInfo struct {
	Version        string // e.g. "7.0.0"
	MaxWireVersion int32
	StartTime      time.Time
	Host           string
	ListenAddr     string
	DataDir        string
	// Argv and Parsed are what getCmdLineOpts returns.
	Argv   []string
	Parsed bson.D
	// EnableTestCommands enables configureFailPoint and other test-only
	// commands.
	EnableTestCommands bool
	// Stats returns live counters for serverStatus (connections, opcounters).
	Stats func() bson.D
	// ProcessID is hello's topologyVersion.processId, fixed for the
	// process's lifetime.
	ProcessID bson.ObjectID
	// Compressors are the wire compressors the server supports, in its
	// order of preference (hello negotiates from them).
	Compressors []string
	// ShuttingDown is closed when the server starts shutting down;
	// long-waiting commands (awaitable hello) return early. May be nil.
	ShuttingDown <-chan struct{}
	// StartupWarnings are reported by getLog "startupWarnings".
	StartupWarnings []string
}

// CursorStore holds open server-side cursors. The server implements it.
type CursorStore interface {
	// Add registers c, assigns c.ID and returns it.
	Add(c *Cursor) int64
	// Checkout takes the cursor with id for a getMore; it fails with
	// CursorNotFound if it does not exist, is in use, or belongs to
	// another namespace. The caller must Checkin or Remove it.
	Checkout(id int64, ns string) (*Cursor, error)
	// Checkin returns a cursor after a getMore and refreshes its idle time.
	Checkin(c *Cursor)
	// Remove closes and forgets a checked-out cursor (it is exhausted).
	Remove(c *Cursor)
	// Kill closes the given cursors; it reports which ids were killed and
	// which were not found.
	Kill(ns string, ids []int64) (killed, notFound []int64)
	// KillAll closes every cursor (killAllSessions, dropDatabase, ...).
	KillAll()
}

// DocIterator yields documents for a cursor. Next returns io.EOF when done.
type DocIterator interface {
	Next() (bson.Raw, error)
	Close() error
}

// Cursor is an open server-side cursor.
type Cursor struct {
	ID   int64
	NS   string // "db.collection"
	Iter DocIterator
	// Pending is a document read from Iter that did not fit in the last
	// batch.
	Pending bson.Raw
	// Borrowed says that Iter's documents stay valid only until its next
	// call (planner.BorrowRaw): fillBatch copies each one at once.
	Borrowed bool
	// Limit is the remaining number of documents to return (0 = no limit).
	Limit int64
	// Returned counts documents handed out so far.
	Returned int64
	// BatchSize is the default batch size for getMore (0 = unlimited up to
	// 16 MiB).
	BatchSize int32
	// Tailable and AwaitData mirror the find options.
	Tailable  bool
	AwaitData bool
	// LastUsed is maintained by the store for the idle timeout.
	LastUsed time.Time
}
