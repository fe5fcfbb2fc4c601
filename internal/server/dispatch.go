package server

import (
	"github.com/cairndb/cairn/internal/bsonutil"
	"syscall"

	"context"
	"errors"
	"fmt"
	"github.com/cairndb/cairn/internal/storage"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/commands"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/wire"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Error codes without a named constant in mongoerr.
const (
	codeOpMsgNoDB                 mongoerr.Code = 40571
	codeUnsupportedOpQueryCommand mongoerr.Code = 352
	codeDuplicateSequenceField    mongoerr.Code = 40413 // mongod: "Duplicate field name"
)

// legacyQueryCommands may be sent with OP_QUERY against <db>.$cmd.
var legacyQueryCommands = map[string]bool{
	"hello": true, "isMaster": true, "ismaster": true,
	"saslStart": true, "saslContinue": true, "authenticate": true, "getnonce": true,
}

func (c *conn) handleMsg(ctx context.Context, msg *wire.Message) ([]byte, bool) {
	m := msg.Msg
	reply := c.runMsg(ctx, m)
	if c.failClose {
		return nil, false
	}
	if m.Flags&wire.MoreToCome != 0 {
		return nil, true
	}
	// The reply is encoded straight into the connection's write buffer.
	out, err := wire.AppendMsgBody(c.wbuf[:0], c.replyID(), msg.Header.RequestID, 0, func(b []byte) ([]byte, error) {
		return appendReply(b, reply)
	})
	if err != nil {
		c.log.Error("encoding reply", "err", err)
		raw, _ := marshalReply(errorReply(mongoerr.Newf(mongoerr.InternalError, "failed to encode reply: %v", err)))
		return wire.AppendMsg(nil, c.replyID(), msg.Header.RequestID, 0, raw), true
	}
	c.wbuf = out
	return out, true
}

// appendReply appends a reply document to b; a reply beyond the BSON size
// limit becomes a BSONObjectTooLarge error.
func appendReply(b []byte, d bson.D) ([]byte, error) {
	n := len(b)
	out, err := bsonutil.AppendDocument(b, d)
	if err != nil {
		return b[:n], err
	}
	if size := len(out) - n; size > wire.MaxCommandSize {
		return bsonutil.AppendDocument(out[:n], errorReply(mongoerr.Newf(mongoerr.BSONObjectTooLarge,
			"BSONObj size: %d (0x%X) is invalid. Size must be between 0 and 16793600(16MB)", size, size)))
	}
	return out, nil
}

// runMsg turns an OP_MSG into a command request and runs it, returning the
// full reply document.
func (c *conn) runMsg(ctx context.Context, m *wire.Msg) bson.D {
	if len(m.Body) > wire.MaxCommandSize {
		return errorReply(mongoerr.Newf(mongoerr.BSONObjectTooLarge,
			"command document of %d bytes exceeds the maximum of %d bytes", len(m.Body), wire.MaxCommandSize))
	}
	// The wire reader validated every document a client sent (lengths,
	// terminators, nesting, UTF-8), so it is decoded without a second
	// walk; bsonutil.Decode still refuses anything malformed.
	body, err := bsonutil.Decode(m.Body)
	if err != nil {
		return errorReply(mongoerr.Newf(mongoerr.InvalidBSON, "invalid command document: %v", err))
	}
	var rawSeq string // the sequence the command takes undecoded
	if len(m.Sequences) > 0 && len(body) > 0 {
		if cmd, ok := commands.Lookup(body[0].Key); ok {
			rawSeq = cmd.RawSequence
		}
	}
	for _, seq := range m.Sequences {
		if hasKey(body, seq.Identifier) {
			return errorReply(mongoerr.Newf(codeDuplicateSequenceField,
				"Duplicate field name in OP_MSG document sequence: %s", seq.Identifier))
		}
		keepRaw := rawSeq != "" && seq.Identifier == rawSeq
		arr := make(bson.A, 0, len(seq.Documents))
		for _, d := range seq.Documents {
			if len(d) > wire.MaxBSONObjectSize+16*1024 {
				return errorReply(mongoerr.Newf(mongoerr.BSONObjectTooLarge,
					"document of %d bytes in sequence %q exceeds the maximum size", len(d), seq.Identifier))
			}
			if keepRaw {
				arr = append(arr, bson.Raw(d))
				continue
			}
			doc, err := bsonutil.Decode(d)
			if err != nil {
				return errorReply(mongoerr.Newf(mongoerr.InvalidBSON, "invalid document in sequence %q: %v", seq.Identifier, err))
			}
			arr = append(arr, doc)
		}
		body = append(body, bson.E{Key: seq.Identifier, Value: arr})
	}
	db, ok := lookupString(body, "$db")
	if !ok {
		return errorReply(mongoerr.New(codeOpMsgNoDB, "OP_MSG requests require a $db argument"))
	}
	if act := c.s.env.FailPoints.Check(body[0].Key, c.appName()); act != nil {
		if act.BlockMS > 0 {
			t := time.NewTimer(time.Duration(act.BlockMS) * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if act.Close {
			c.failClose = true
			return nil
		}
		if act.Err != nil {
			return errorReply(act.Err)
		}
		reply := c.s.runCommand(ctx, c.info, db, body)
		if act.WriteConcernError != nil {
			reply = append(reply[:len(reply)-1:len(reply)-1], bson.E{Key: "writeConcernError", Value: act.WriteConcernError}, reply[len(reply)-1])
		}
		return reply
	}
	return c.s.runCommand(ctx, c.info, db, body)
}

// appName returns the application name the client gave in its handshake.
func (c *conn) appName() string {
	if c.info == nil {
		return ""
	}
	for _, e := range c.info.ClientMetadata {
		if e.Key == "application" {
			if d, ok := e.Value.(bson.D); ok {
				s, _ := lookupString(d, "name")
				return s
			}
		}
	}
	return ""
}

func (c *conn) handleQuery(ctx context.Context, msg *wire.Message) ([]byte, bool) {
	q := msg.Query
	db, isCmd := strings.CutSuffix(q.FullCollectionName, ".$cmd")
	if !isCmd || db == "" {
		doc := bson.D{
			{Key: "$err", Value: "OP_QUERY is no longer supported. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal"},
			{Key: "code", Value: int32(5739101)},
			{Key: "ok", Value: 0.0},
		}
		raw, _ := bson.Marshal(doc)
		return wire.AppendReply(nil, c.replyID(), msg.Header.RequestID, wire.ReplyQueryFailure, 0, raw), true
	}
	body, err := bsonutil.Decode(q.Query)
	if err != nil {
		return c.queryReply(msg, errorReply(mongoerr.Newf(mongoerr.InvalidBSON, "invalid command document: %v", err)))
	}
	// Legacy drivers wrap the command as {$query: {...}, $readPreference: ...}.
	for _, k := range []string{"$query", "query"} {
		if v, ok := lookup(body, k); ok {
			if inner, ok := v.(bson.D); ok && len(body) > 0 && body[0].Key == k {
				body = inner
				break
			}
		}
	}
	name := ""
	if len(body) > 0 {
		name = body[0].Key
	}
	if !legacyQueryCommands[name] {
		return c.queryReply(msg, errorReply(mongoerr.Newf(codeUnsupportedOpQueryCommand,
			"Unsupported OP_QUERY command: %s. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal", name)))
	}
	return c.queryReply(msg, c.s.runCommand(ctx, c.info, db, body))
}

func (c *conn) queryReply(msg *wire.Message, reply bson.D) ([]byte, bool) {
	raw, err := marshalReply(reply)
	if err != nil {
		raw, _ = marshalReply(errorReply(mongoerr.Newf(mongoerr.InternalError, "failed to encode reply: %v", err)))
	}
	return wire.AppendReply(nil, c.replyID(), msg.Header.RequestID, wire.ReplyAwaitCapable, 0, raw), true
}

// runCommand looks up and runs one command, turning every outcome into a
// reply document with "ok".
func (s *Server) runCommand(ctx context.Context, cinfo *commands.Conn, db string, body bson.D) (reply bson.D) {
	if len(body) == 0 {
		return errorReply(mongoerr.New(mongoerr.CommandNotFound, "no such command: ''"))
	}
	name := body[0].Key
	s.stats.countCommand(name, body)
	if err := checkAPIVersion(name, body); err != nil {
		return errorReply(err)
	}
	if v, ok := lookup(body, "lsid"); ok {
		if lsid, ok := v.(bson.D); ok {
			s.env.Sessions.Touch(lsid)
		}
	}
	cmd, ok := commands.Lookup(name)
	if !ok || (cmd.TestOnly && !s.env.Info.EnableTestCommands) {
		return errorReply(mongoerr.Newf(mongoerr.CommandNotFound, "no such command: '%s'", name))
	}
	if cmd.AdminOnly && db != "admin" {
		return errorReply(mongoerr.Newf(mongoerr.Unauthorized, "%s may only be run against the admin database.", name))
	}
	var cancel context.CancelFunc = func() {}
	maxTime := false
	if v, ok := lookup(body, "maxTimeMS"); ok {
		if ms, ok := toInt64(v); ok && ms > 0 {
			ctx, cancel = withLazyDeadline(ctx, time.Now().Add(time.Duration(ms)*time.Millisecond))
			maxTime = true
		}
	}
	defer cancel()
	req := &commands.Request{DB: db, Name: name, Body: body, Conn: cinfo}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("command handler panicked", "cmd", name, "db", db, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			reply = errorReply(mongoerr.Newf(mongoerr.InternalError, "command %s failed with an internal error: %v", name, p))
		}
	}()
	res, err := cmd.Handler(ctx, s.env, req)
	if err != nil {
		if maxTime && errors.Is(ctx.Err(), context.DeadlineExceeded) && !isMongoErr(err) {
			err = mongoerr.New(mongoerr.MaxTimeMSExpired, "operation exceeded time limit")
		}
		me := mongoerr.As(storageError(err))
		s.log.Debug("command failed", "cmd", name, "db", db, "code", int32(me.Code), "err", me.Msg)
		return errorReply(me)
	}
	out := make(bson.D, 0, len(res)+1)
	for _, e := range res {
		if e.Key != "ok" {
			out = append(out, e)
		}
	}
	return append(out, bson.E{Key: "ok", Value: 1.0})
}

// storageError gives storage failures their MongoDB codes: a full disk is
// OutOfDiskSpace (14031); an engine that failed is InternalError with an
// explicit message.
func storageError(err error) error {
	if isMongoErr(err) {
		return err
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return mongoerr.Newf(mongoerr.OutOfDiskSpace, "%v", err)
	case errors.Is(err, storage.ErrFailed):
		return mongoerr.Newf(mongoerr.InternalError, "%v", err)
	}
	return err
}

func isMongoErr(err error) bool {
	var me *mongoerr.Error
	return errors.As(err, &me)
}

// errorReply is the reply document for a failed command.
func errorReply(e *mongoerr.Error) bson.D {
	d := bson.D{
		{Key: "ok", Value: 0.0},
		{Key: "errmsg", Value: e.Msg},
		{Key: "code", Value: int32(e.Code)},
		{Key: "codeName", Value: e.Code.Name()},
	}
	if len(e.Labels) > 0 {
		labels := make(bson.A, len(e.Labels))
		for i, l := range e.Labels {
			labels[i] = l
		}
		d = append(d, bson.E{Key: "errorLabels", Value: labels})
	}
	for _, x := range e.Extra {
		d = append(d, bson.E{Key: x.Key, Value: x.Value})
	}
	return d
}

// marshalReply encodes a reply, refusing replies beyond the BSON size limit
// (plus the command overhead mongod allows).
func marshalReply(d bson.D) ([]byte, error) { return appendReply(nil, d) }

func lookup(d bson.D, key string) (any, bool) {
	for _, e := range d {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

func hasKey(d bson.D, key string) bool {
	_, ok := lookup(d, key)
	return ok
}

func lookupString(d bson.D, key string) (string, bool) {
	v, ok := lookup(d, key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), true
	}
	return 0, false
}
