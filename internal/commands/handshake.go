package commands

import (
	"context"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Limits reported by hello, as mongod reports them.
const (
	hsMaxBSONObjectSize    = 16 * 1024 * 1024
	hsMaxMessageSizeBytes  = 48_000_000
	hsMaxWriteBatchSize    = 100_000
	hsSessionTimeoutMin    = 30
	hsMaxAwaitTimeMSCap    = 10 * 60 * 1000
	hsCodeClientMetadata   = mongoerr.Code(186) // ClientMetadataCannotBeMutated
	hsCodeAuthNotSupported = mongoerr.AuthenticationFailed
)

func init() {
	Register(&Command{Name: "hello", Help: "describe the server's role and limits (connection handshake)", Handler: helloCmd})
	Register(&Command{Name: "isMaster", Aliases: []string{"ismaster"}, Help: "legacy name of hello", Handler: helloCmd})
	Register(&Command{Name: "ping", Help: "check that the server responds", Handler: pingCmd})
	Register(&Command{Name: "saslStart", Help: "start SASL authentication (not supported)", Handler: authNotSupportedCmd})
	Register(&Command{Name: "saslContinue", Help: "continue SASL authentication (not supported)", Handler: authNotSupportedCmd})
	Register(&Command{Name: "authenticate", Help: "authenticate (not supported)", Handler: authNotSupportedCmd})
	Register(&Command{Name: "getnonce", Help: "legacy authentication nonce (not supported)", Handler: authNotSupportedCmd})
	Register(&Command{Name: "logout", Help: "log out (no-op: authentication is not enabled)", Handler: okCmd})
}

func okCmd(context.Context, *Env, *Request) (bson.D, error) { return bson.D{}, nil }

func pingCmd(context.Context, *Env, *Request) (bson.D, error) { return bson.D{}, nil }

func authNotSupportedCmd(_ context.Context, _ *Env, req *Request) (bson.D, error) {
	return nil, mongoerr.Newf(hsCodeAuthNotSupported,
		"Authentication failed: %s is not supported because Cairn runs without authentication; connect without credentials", req.Name)
}

// hsInfo returns env's ServerInfo or an empty one.
func hsInfo(env *Env) *ServerInfo {
	if env != nil && env.Info != nil {
		return env.Info
	}
	return &ServerInfo{}
}

func hsVersion(info *ServerInfo) string {
	if info.Version != "" {
		return info.Version
	}
	return "7.0.0"
}

func hsMaxWire(info *ServerInfo) int32 {
	if info.MaxWireVersion != 0 {
		return info.MaxWireVersion
	}
	return 21
}

func hsInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != n || n > 9.2e18 || n < -9.2e18 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

// helloCmd implements hello, isMaster and ismaster for a standalone server.
// An awaitable hello (topologyVersion + maxAwaitTimeMS, as sent by
// streaming monitors) whose topologyVersion is current waits up to
// maxAwaitTimeMS before answering, since a standalone's topology never
// changes.
func helloCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	info := hsInfo(env)
	if v, ok := req.Arg("client"); ok && req.Conn != nil {
		md, isDoc := v.(bson.D)
		if !isDoc {
			return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.client' is the wrong type '%s', expected type 'object'", req.Name, bsonutil.TypeName(v))
		}
		if req.Conn.ClientMetadata != nil {
			return nil, mongoerr.New(hsCodeClientMetadata, "The client metadata document may only be sent in the first hello")
		}
		req.Conn.ClientMetadata = md
	}
	if err := hsAwait(ctx, info, req); err != nil {
		return nil, err
	}

	// The reply carries no topologyVersion, so drivers monitor Cairn with
	// the polling protocol. With topologyVersion they switch to streaming
	// (awaitable hello); Cairn does not stream hello replies (moreToCome),
	// and after a state-change error the Go driver then waits out a whole
	// maxAwaitTimeMS before it re-checks the server.
	var out bson.D
	if req.Name == "hello" {
		out = append(out, bson.E{Key: "isWritablePrimary", Value: true})
	} else {
		out = append(out, bson.E{Key: "ismaster", Value: true})
	}
	if v, ok := req.Arg("helloOk"); ok && bsonutil.IsTruthy(v) {
		out = append(out, bson.E{Key: "helloOk", Value: true})
	}
	out = append(out,
		bson.E{Key: "maxBsonObjectSize", Value: int32(hsMaxBSONObjectSize)},
		bson.E{Key: "maxMessageSizeBytes", Value: int32(hsMaxMessageSizeBytes)},
		bson.E{Key: "maxWriteBatchSize", Value: int32(hsMaxWriteBatchSize)},
		bson.E{Key: "localTime", Value: bson.NewDateTimeFromTime(time.Now())},
		bson.E{Key: "logicalSessionTimeoutMinutes", Value: int32(hsSessionTimeoutMin)},
	)
	if req.Conn != nil {
		out = append(out, bson.E{Key: "connectionId", Value: hsConnID(req.Conn.ID)})
	}
	out = append(out,
		bson.E{Key: "minWireVersion", Value: int32(0)},
		bson.E{Key: "maxWireVersion", Value: hsMaxWire(info)},
		bson.E{Key: "readOnly", Value: false},
	)
	if comp, err := hsNegotiateCompression(info, req); err != nil {
		return nil, err
	} else if comp != nil {
		out = append(out, bson.E{Key: "compression", Value: comp})
	}
	return out, nil
}

// hsConnID reports a connection id as int32 when it fits, as mongod does.
func hsConnID(id int64) any {
	if id >= -1<<31 && id < 1<<31 {
		return int32(id)
	}
	return id
}

// hsNegotiateCompression returns the supported compressors the client
// offered, in the client's order, or nil if it offered none.
func hsNegotiateCompression(info *ServerInfo, req *Request) (bson.A, error) {
	v, ok := req.Arg("compression")
	if !ok {
		return nil, nil
	}
	offered, isArr := v.(bson.A)
	if !isArr {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.compression' is the wrong type '%s', expected type 'array'", req.Name, bsonutil.TypeName(v))
	}
	supported := map[string]bool{}
	for _, c := range info.Compressors {
		supported[c] = true
	}
	out := bson.A{}
	seen := map[string]bool{}
	for _, o := range offered {
		name, isStr := o.(string)
		if !isStr {
			return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.compression.0' is the wrong type '%s', expected type 'string'", req.Name, bsonutil.TypeName(o))
		}
		if supported[name] && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

// hsAwait implements the waiting part of an awaitable hello.
func hsAwait(ctx context.Context, info *ServerInfo, req *Request) error {
	tvRaw, hasTV := req.Arg("topologyVersion")
	maxRaw, hasMax := req.Arg("maxAwaitTimeMS")
	if !hasTV && !hasMax {
		return nil
	}
	if hasTV != hasMax {
		return mongoerr.New(mongoerr.Code(31368), "A request to wait for changes to topology must include both topologyVersion and maxAwaitTimeMS")
	}
	maxMS, ok := hsInt64(maxRaw)
	if !ok {
		return mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.maxAwaitTimeMS' is the wrong type '%s', expected type 'long'", req.Name, bsonutil.TypeName(maxRaw))
	}
	if maxMS < 0 {
		return mongoerr.New(mongoerr.Code(31373), "maxAwaitTimeMS must be a non-negative integer")
	}
	tv, ok := tvRaw.(bson.D)
	if !ok {
		return mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.topologyVersion' is the wrong type '%s', expected type 'object'", req.Name, bsonutil.TypeName(tvRaw))
	}
	var pid any
	var counter any
	for _, e := range tv {
		switch e.Key {
		case "processId":
			pid = e.Value
		case "counter":
			counter = e.Value
		}
	}
	// A different process or counter means the client's view is stale:
	// answer at once.
	if p, ok := pid.(bson.ObjectID); !ok || p != info.ProcessID {
		return nil
	}
	if c, ok := hsInt64(counter); !ok || c != 0 {
		return nil
	}
	wait := time.Duration(min(maxMS, hsMaxAwaitTimeMSCap)) * time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-info.ShuttingDown:
	}
	return nil
}
