// Package commands implements Cairn's database commands, one file per
// command family (handshake.go, admin.go, crud_insert.go, find.go, ...).
// Each command registers itself in the registry with Register; the server
// looks commands up by name (case-sensitive, with the aliases MongoDB
// accepts), runs the handler and wraps its reply with ok: 1, or turns its
// error into {ok: 0, errmsg, code, codeName}.
//
// Two write paths skip decoding: an insert's documents that arrive in an
// OP_MSG document sequence already in stored form are stored as sent
// (insert_raw.go), and an update that only sets top-level fields no index
// reads edits the stored bytes (update.ApplyRaw). Both fall back to the
// decoding path for anything else.
package commands
