package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/server"
	"github.com/cairndb/cairn/internal/server/servertest"
	"github.com/cairndb/cairn/internal/wire"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// rawConn is a hand-driven wire protocol client.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
	id int32
}

func dialRaw(t *testing.T, uri string) *rawConn {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(uri, "mongodb://"), "/?directConnection=true")
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (r *rawConn) send(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawConn) msg(flags wire.MsgFlags, cmd bson.D, seqs ...wire.Sequence) int32 {
	r.t.Helper()
	raw, err := bson.Marshal(cmd)
	if err != nil {
		r.t.Fatal(err)
	}
	r.id++
	r.send(wire.AppendMsg(nil, r.id, 0, flags, raw, seqs...))
	return r.id
}

// read reads one reply, failing the test on a timeout.
func (r *rawConn) read() (*wire.Message, error) {
	_ = r.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	return wire.ReadMessage(r.br)
}

func (r *rawConn) reply(reqID int32) bson.D {
	r.t.Helper()
	m, err := r.read()
	if err != nil {
		r.t.Fatalf("read reply: %v", err)
	}
	if m.Header.ResponseTo != reqID {
		r.t.Fatalf("responseTo = %d, want %d", m.Header.ResponseTo, reqID)
	}
	var doc []byte
	switch {
	case m.Msg != nil:
		doc = m.Msg.Body
	case m.Reply != nil && len(m.Reply.Documents) == 1:
		doc = m.Reply.Documents[0]
	default:
		r.t.Fatalf("unexpected reply %+v", m.Header)
	}
	var out bson.D
	if err := bson.Unmarshal(doc, &out); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// expectClosed checks that the server closed the connection.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	_, err := r.read()
	if err == nil {
		r.t.Fatal("connection still open: got a reply")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		r.t.Fatalf("connection still open: %v", err)
	}
}

func TestRawMalformedFrameClosesOnlyThatConnection(t *testing.T) {
	uri, _ := servertest.Start(t)
	good := dialRaw(t, uri)
	id := good.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	if out := good.reply(id); get(out, "ok") != 1.0 {
		t.Fatalf("ping: %v", out)
	}
	body, _ := bson.Marshal(bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	cases := map[string][]byte{
		"length too small": {8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xdd, 7, 0, 0},
		"length too big":   binary.LittleEndian.AppendUint32(nil, 64<<20),
		"bad bson length": func() []byte {
			m := wire.AppendMsg(nil, 1, 0, 0, body)
			binary.LittleEndian.PutUint32(m[21:], 3)
			return m
		}(),
		"unknown section kind": func() []byte {
			m := wire.AppendMsg(nil, 1, 0, 0, body)
			m[20] = 7
			return m
		}(),
		"unknown required flag": wire.AppendMsg(nil, 1, 0, 1<<5, body),
		"bad checksum": func() []byte {
			m := wire.AddChecksum(wire.AppendMsg(nil, 1, 0, 0, body))
			m[len(m)-1] ^= 0xff
			return m
		}(),
		"legacy OP_INSERT": func() []byte {
			m := wire.AppendMsg(nil, 1, 0, 0, body)
			binary.LittleEndian.PutUint32(m[12:], uint32(wire.OpInsert))
			return m
		}(),
		"bad compressor": func() []byte {
			m, _ := wire.Compress(wire.AppendMsg(nil, 1, 0, 0, body), wire.CompressorSnappy)
			m[24] = 9
			return m
		}(),
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			bad := dialRaw(t, uri)
			bad.send(frame)
			if len(frame) < wire.HeaderLen {
				// A partial header: the server waits; close our side and
				// check the healthy connection below.
				return
			}
			bad.expectClosed()
			id := good.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
			if out := good.reply(id); get(out, "ok") != 1.0 {
				t.Fatalf("ping on healthy connection: %v", out)
			}
		})
	}
}

func TestRawChecksumAccepted(t *testing.T) {
	uri, _ := servertest.Start(t)
	c := dialRaw(t, uri)
	body, _ := bson.Marshal(bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	c.send(wire.AddChecksum(wire.AppendMsg(nil, 42, 0, 0, body)))
	if out := c.reply(42); get(out, "ok") != 1.0 {
		t.Fatalf("reply %v", out)
	}
}

func TestRawMoreToCome(t *testing.T) {
	uri, _ := servertest.Start(t, servertest.WithTestCommands())
	c := dialRaw(t, uri)
	start := testMoreToComeCalls.Load()
	c.msg(wire.MoreToCome, bson.D{{Key: "cairnTestCount", Value: 1}, {Key: "$db", Value: "test"}})
	id := c.msg(0, bson.D{{Key: "cairnTestCount", Value: 1}, {Key: "$db", Value: "test"}})
	out := c.reply(id) // fails if a reply to the first request arrives
	if n, _ := get(out, "n").(int64); n != start+2 {
		t.Fatalf("n = %v, want %d", get(out, "n"), start+2)
	}
}

func TestRawDocumentSequence(t *testing.T) {
	uri, _ := servertest.Start(t, servertest.WithTestCommands())
	c := dialRaw(t, uri)
	d1, _ := bson.Marshal(bson.D{{Key: "a", Value: int32(1)}})
	d2, _ := bson.Marshal(bson.D{{Key: "a", Value: int32(2)}})
	id := c.msg(0, bson.D{{Key: "cairnTestEcho", Value: 1}, {Key: "$db", Value: "test"}},
		wire.Sequence{Identifier: "documents", Documents: []bsoncore.Document{d1, d2}})
	out := c.reply(id)
	body, _ := get(out, "body").(bson.D)
	docs, _ := get(body, "documents").(bson.A)
	if len(docs) != 2 {
		t.Fatalf("documents = %v", get(body, "documents"))
	}
	if d, _ := docs[1].(bson.D); get(d, "a") != int32(2) {
		t.Fatalf("documents[1] = %v", docs[1])
	}
	// A sequence that repeats a body field is a command error.
	id = c.msg(0, bson.D{{Key: "cairnTestEcho", Value: 1}, {Key: "$db", Value: "test"}, {Key: "documents", Value: bson.A{}}},
		wire.Sequence{Identifier: "documents", Documents: []bsoncore.Document{d1}})
	if out := c.reply(id); get(out, "ok") != 0.0 {
		t.Fatalf("duplicate field accepted: %v", out)
	}
	// Missing $db.
	id = c.msg(0, bson.D{{Key: "ping", Value: 1}})
	if out := c.reply(id); get(out, "code") != int32(40571) {
		t.Fatalf("missing $db: %v", out)
	}
}

func TestRawOpQueryHandshake(t *testing.T) {
	uri, _ := servertest.Start(t)
	c := dialRaw(t, uri)
	q, _ := bson.Marshal(bson.D{{Key: "isMaster", Value: 1}, {Key: "helloOk", Value: true}})
	c.send(wire.AppendQuery(nil, 7, 0, "admin.$cmd", 0, -1, q))
	out := c.reply(7)
	if get(out, "ismaster") != true || get(out, "ok") != 1.0 || get(out, "helloOk") != true {
		t.Fatalf("isMaster over OP_QUERY: %v", out)
	}
	// Wrapped in $query, as legacy drivers with read preferences send it.
	q, _ = bson.Marshal(bson.D{{Key: "$query", Value: bson.D{{Key: "hello", Value: 1}}}, {Key: "$readPreference", Value: bson.D{{Key: "mode", Value: "primary"}}}})
	c.send(wire.AppendQuery(nil, 8, 0, "admin.$cmd", 0, -1, q))
	if out := c.reply(8); get(out, "isWritablePrimary") != true {
		t.Fatalf("wrapped hello: %v", out)
	}
	// Other commands are refused with 352.
	q, _ = bson.Marshal(bson.D{{Key: "find", Value: "c"}})
	c.send(wire.AppendQuery(nil, 9, 0, "test.$cmd", 0, -1, q))
	if out := c.reply(9); get(out, "code") != int32(352) {
		t.Fatalf("find over OP_QUERY: %v", out)
	}
	// A query against a collection gets $err.
	q, _ = bson.Marshal(bson.D{})
	c.send(wire.AppendQuery(nil, 10, 0, "test.c", 0, 0, q))
	if out := c.reply(10); get(out, "$err") == nil {
		t.Fatalf("collection OP_QUERY: %v", out)
	}
}

func TestRawCompressedReplyUsesSameCompressor(t *testing.T) {
	uri, _ := servertest.Start(t)
	for _, comp := range []wire.Compressor{wire.CompressorNoop, wire.CompressorSnappy, wire.CompressorZlib, wire.CompressorZstd} {
		c := dialRaw(t, uri)
		body, _ := bson.Marshal(bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
		frame, err := wire.Compress(wire.AppendMsg(nil, 5, 0, 0, body), comp)
		if err != nil {
			t.Fatal(err)
		}
		c.send(frame)
		m, err := c.read()
		if err != nil {
			t.Fatalf("%s: %v", comp.Name(), err)
		}
		if m.Compressor != comp || m.Msg == nil || m.Header.ResponseTo != 5 {
			t.Fatalf("%s: reply compressor %s, header %+v", comp.Name(), m.Compressor.Name(), m.Header)
		}
	}
}

func TestMaxConns(t *testing.T) {
	uri, srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.MaxConns = 2 }))
	a, b := dialRaw(t, uri), dialRaw(t, uri)
	for _, c := range []*rawConn{a, b} {
		id := c.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
		c.reply(id)
	}
	extra := dialRaw(t, uri)
	extra.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	extra.expectClosed()
	conns, _ := get(srv.Stats(), "connections").(bson.D)
	if get(conns, "rejected") != int32(1) || get(conns, "current") != int32(2) || get(conns, "available") != int32(0) {
		t.Fatalf("connections = %v", conns)
	}
}

func TestShutdownFinishesInFlight(t *testing.T) {
	uri, srv := servertest.Start(t, servertest.WithTestCommands())
	busy := dialRaw(t, uri)
	idle := dialRaw(t, uri)
	id := idle.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	idle.reply(id)
	// An awaitable hello keeps a request in flight until shutdown.
	hello := busy.msg(0, bson.D{{Key: "hello", Value: 1}, {Key: "$db", Value: "admin"}})
	busy.reply(hello)
	{
		id := busy.msg(0, bson.D{{Key: "hello", Value: 1}, {Key: "$db", Value: "admin"}})
		busy.reply(id)
	}
	tv := bson.D{{Key: "processId", Value: srv.Env().Info.ProcessID}, {Key: "counter", Value: int64(0)}}
	id = busy.msg(0, bson.D{{Key: "hello", Value: 1}, {Key: "$db", Value: "admin"}, {Key: "topologyVersion", Value: tv}, {Key: "maxAwaitTimeMS", Value: int64(600000)}})
	// Wait until the server has received the awaitable hello (4 requests).
	for {
		network, _ := get(srv.Stats(), "network").(bson.D)
		if n, _ := get(network, "numRequests").(int64); n >= 4 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	if out := busy.reply(id); get(out, "ok") != 1.0 {
		t.Fatalf("in-flight hello: %v", out)
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	idle.expectClosed()
	busy.expectClosed()
	if _, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestRawCommandTooLarge(t *testing.T) {
	uri, _ := servertest.Start(t, servertest.WithTestCommands())
	c := dialRaw(t, uri)
	big := strings.Repeat("x", wire.MaxCommandSize)
	id := c.msg(0, bson.D{{Key: "cairnTestEcho", Value: 1}, {Key: "big", Value: big}, {Key: "$db", Value: "test"}})
	if out := c.reply(id); get(out, "code") != int32(10334) {
		t.Fatalf("oversized command: %v", out)
	}
	id = c.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	if out := c.reply(id); get(out, "ok") != 1.0 {
		t.Fatalf("ping after oversized command: %v", out)
	}
}

func TestRawPartialMessageTimesOut(t *testing.T) {
	uri, _ := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.ReadTimeout = 50 * time.Millisecond }))
	c := dialRaw(t, uri)
	body, _ := bson.Marshal(bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	frame := wire.AppendMsg(nil, 1, 0, 0, body)
	c.send(frame[:wire.HeaderLen+3]) // header and a few bytes, then stall
	c.expectClosed()
}

// TestRawInsertSequenceUndecodable: an insert's document sequence holding
// a document that passes the wire checks but does not decode (a string
// whose last byte is not NUL) fails the command with InvalidBSON and
// stores nothing, although inserts keep sequence documents undecoded.
func TestRawInsertSequenceUndecodable(t *testing.T) {
	uri, _ := servertest.Start(t)
	c := dialRaw(t, uri)
	good, _ := bson.Marshal(bson.D{{Key: "_id", Value: int32(1)}, {Key: "s", Value: "ok"}})
	bad, _ := bson.Marshal(bson.D{{Key: "_id", Value: int32(2)}, {Key: "s", Value: "abc"}})
	bad[len(bad)-2] = 'x' // the string's NUL
	if err := bsoncore.Document(bad).Validate(); err != nil {
		t.Skipf("bsoncore.Validate now refuses the document (%v); the wire reader rejects it first", err)
	}
	id := c.msg(0, bson.D{{Key: "insert", Value: "c"}, {Key: "$db", Value: "rawins"}},
		wire.Sequence{Identifier: "documents", Documents: []bsoncore.Document{good, bad}})
	if out := c.reply(id); get(out, "ok") != 0.0 || get(out, "codeName") != "InvalidBSON" {
		t.Fatalf("insert with an undecodable document: %v, want an InvalidBSON command error", out)
	}
	id = c.msg(0, bson.D{{Key: "count", Value: "c"}, {Key: "$db", Value: "rawins"}})
	if out := c.reply(id); get(out, "n") != int32(0) {
		t.Fatalf("count after the failed insert: %v, want n: 0", out)
	}
}
