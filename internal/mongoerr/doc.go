// Package mongoerr defines the MongoDB-shaped error that every layer of Cairn
// returns to clients: a numeric code, its codeName, a message and optional
// error labels. Handlers return *Error values (possibly wrapped); the server
// turns them into {ok: 0, errmsg, code, codeName} replies.
package mongoerr
