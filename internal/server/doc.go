// Package server is Cairn's TCP front end: it accepts client connections,
// reads MongoDB wire protocol messages (package wire), dispatches commands
// to the registry in package commands and writes their replies.
//
// Connections: each connection is served by one goroutine that handles one
// request at a time. An idle connection (between messages) has no read
// deadline and may stay open indefinitely, as with mongod; once the header
// of a message has arrived, the rest must arrive within Config.ReadTimeout
// (default 60 s). A malformed frame closes that connection only; command
// errors are returned as {ok: 0, errmsg, code, codeName} replies and never
// close the connection. A panic in a command handler becomes an
// InternalError reply and is logged with its stack.
//
// Beyond Config.MaxConns concurrent connections, new connections are
// accepted and closed at once.
//
// Compression: a request sent in OP_COMPRESSED is answered with the same
// compressor; hello reports the supported compressors the client offered.
//
// Legacy OP_QUERY is answered only for handshake and authentication
// commands against "<db>.$cmd" (isMaster/hello from old drivers and
// mongosh); other OP_QUERY requests get error 352 UnsupportedOpQueryCommand,
// and the other removed legacy op codes close the connection, as in
// MongoDB 6 and later.
//
// The package also implements commands.CursorStore (CursorStore) with an
// idle timeout enforced by a reaper goroutine, and the counters that
// serverStatus reports.
package server
