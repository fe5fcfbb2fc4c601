package commands

import (
	"context"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Request is one command as the server received it.
type Request struct {
	// DB is the target database ($db).
	DB string
	// Name is the command name, the first key of Body.
	Name string
	// Body is the command document. OP_MSG kind-1 document sequences are
	// appended to it as arrays under their identifiers (for example
	// "documents" for insert). Their documents are decoded (bson.D),
	// except in the command's RawSequence, which stay as sent (bson.Raw).
	Body bson.D
	// Conn describes the client connection.
	Conn *Conn
}

// Arg returns the value of a top-level field of the command body, or nil,
// false.
func (r *Request) Arg(key string) (any, bool) {
	for _, e := range r.Body {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// Conn describes a client connection.
type Conn struct {
	ID         int64
	RemoteAddr string
	LocalAddr  string
	// ClientMetadata is the "client" document from the first hello.
	ClientMetadata bson.D

	// batchBlock is the block find and getMore copy borrowed documents
	// into (fillBatch). A connection runs one command at a time and the
	// server encodes each reply before it reads the next command, so the
	// block is free again when the next find starts.
	batchBlock []byte
}

// batchBlock returns the connection's block for batch copies, or nil when
// the request has no connection (the documents get blocks of their own).
func batchBlock(req *Request) *[]byte {
	if req.Conn == nil {
		return nil
	}
	return &req.Conn.batchBlock
}

// Handler runs one command. It returns the reply fields without "ok"; the
// server appends ok: 1. Errors should be *mongoerr.Error values.
type Handler func(ctx context.Context, env *Env, req *Request) (bson.D, error)

// Command describes a registered command.
type Command struct {
	Name    string
	Aliases []string
	Help    string
	// AdminOnly commands may only run against the admin database.
	AdminOnly bool
	// TestOnly commands exist only with --enable-test-commands.
	TestOnly bool
	// RawSequence names the OP_MSG document sequence whose documents the
	// handler takes undecoded (bson.Raw elements); empty for none.
	RawSequence string
	Handler     Handler
}

var registry = map[string]*Command{}

// Register adds c to the registry under its name and aliases. It is called
// from init functions.
func Register(c *Command) {
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		if _, dup := registry[n]; dup {
			panic("commands: duplicate registration of " + n)
		}
		registry[n] = c
	}
}

// Lookup returns the command registered under name.
func Lookup(name string) (*Command, bool) {
	c, ok := registry[name]
	return c, ok
}

// All returns every registered command once, sorted by name.
func All() []*Command {
	seen := map[*Command]bool{}
	var out []*Command
	for _, c := range registry {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
