package crashtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/server/servertest"
	"github.com/cairndb/cairn/internal/wire"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// panicLog is a slog handler that remembers the server's "command handler
// panicked" reports (the dispatcher turns handler panics into
// InternalError replies, which would otherwise hide them from the fuzzer).
type panicLog struct {
	mu     sync.Mutex
	panics []string
}

func (p *panicLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (p *panicLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.Contains(r.Message, "panic") {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	p.mu.Lock()
	p.panics = append(p.panics, b.String())
	p.mu.Unlock()
	return nil
}
func (p *panicLog) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicLog) WithGroup(string) slog.Handler      { return p }

func (p *panicLog) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.panics
	p.panics = nil
	return out
}

func cmdBytes(d bson.D) []byte {
	b, err := bson.Marshal(d)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzDispatch sends arbitrary OP_MSG command bodies (and an optional
// kind-1 document sequence) to an in-process server over TCP. The server
// must answer with a well-formed OP_MSG reply carrying "ok", or close the
// connection; no command handler may panic (the dispatcher would turn a
// panic into an InternalError reply, so the server log is watched); and
// the server must still answer ping afterwards. Bodies that are valid
// BSON without $db get $db: "fuzz". Awaitable hellos (maxAwaitTimeMS) are
// skipped: they wait by design. Seeds are in testdata/fuzz/FuzzDispatch.
func FuzzDispatch(f *testing.F) {
	seeds := []bson.D{
		{{Key: "ping", Value: int32(1)}},
		{{Key: "hello", Value: int32(1)}, {Key: "client", Value: bson.D{{Key: "driver", Value: bson.D{{Key: "name", Value: "fuzz"}}}}}},
		{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: bson.A{int32(1), "x"}}}}}},
		{{Key: "find", Value: "c"}, {Key: "filter", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$gt", Value: int32(0)}}}}}, {Key: "sort", Value: bson.D{{Key: "a", Value: -1}}}, {Key: "batchSize", Value: int32(1)}},
		{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}, {Key: "u", Value: bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int32(1)}}}}}, {Key: "multi", Value: true}, {Key: "upsert", Value: true}}}}},
		{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "a", Value: "x"}}}, {Key: "limit", Value: int32(1)}}}}},
		{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{}}, {Key: "update", Value: bson.A{bson.D{{Key: "$set", Value: bson.D{{Key: "b", Value: "$a"}}}}}}, {Key: "new", Value: true}},
		{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$a"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: int32(1)}}}}}}}}, {Key: "cursor", Value: bson.D{}}},
		{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: int32(1)}}}, {Key: "name", Value: "a_1"}, {Key: "unique", Value: true}}}}},
		{{Key: "count", Value: "c"}, {Key: "query", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$exists", Value: true}}}}}},
		{{Key: "distinct", Value: "c"}, {Key: "key", Value: "a"}},
		{{Key: "getMore", Value: int64(1)}, {Key: "collection", Value: "c"}},
		{{Key: "listCollections", Value: int32(1)}, {Key: "filter", Value: bson.D{{Key: "name", Value: "c"}}}},
		{{Key: "renameCollection", Value: "fuzz.c"}, {Key: "to", Value: "fuzz.d"}, {Key: "$db", Value: "admin"}},
		{{Key: "validate", Value: "c"}, {Key: "full", Value: true}},
		{{Key: "collStats", Value: "c"}, {Key: "scale", Value: int32(1024)}},
		{{Key: "dropDatabase", Value: int32(1)}},
	}
	for _, s := range seeds {
		f.Add(cmdBytes(s), []byte(nil))
	}
	f.Add(cmdBytes(bson.D{{Key: "insert", Value: "c"}}), cmdBytes(bson.D{{Key: "_id", Value: "seq"}}))

	logs := &panicLog{}
	uri, _ := servertest.Start(f, servertest.WithLogger(slog.New(logs)))
	addr := strings.TrimSuffix(strings.TrimPrefix(uri, "mongodb://"), "/?directConnection=true")

	f.Fuzz(func(t *testing.T, body, seq []byte) {
		if bytes.Contains(body, []byte("maxAwaitTimeMS")) {
			return
		}
		if bsoncore.Document(body).Validate() == nil {
			var d bson.D
			if bson.Unmarshal(body, &d) == nil {
				has := false
				for _, e := range d {
					has = has || e.Key == "$db"
				}
				if !has {
					d = append(d, bson.E{Key: "$db", Value: "fuzz"})
					if b, err := bson.Marshal(d); err == nil {
						body = b
					}
				}
			}
		}
		var seqs []wire.Sequence
		if len(seq) > 0 {
			seqs = append(seqs, wire.Sequence{Identifier: "documents", Documents: []bsoncore.Document{seq}})
		}
		reply, err := roundTrip(addr, wire.AppendMsg(nil, 7, 0, 0, body, seqs...))
		if err != nil {
			t.Fatalf("command %x: %v", body, err)
		}
		if reply != nil {
			if reply.Msg == nil {
				t.Fatalf("reply is not an OP_MSG: %v", reply.Header.OpCode)
			}
			var rd bson.D
			if err := bson.Unmarshal(reply.Msg.Body, &rd); err != nil {
				t.Fatalf("reply body is not BSON: %v", err)
			}
			okFound := false
			for _, e := range rd {
				okFound = okFound || e.Key == "ok"
			}
			if !okFound {
				t.Fatalf("reply has no ok field: %v", rd)
			}
		}
		if p := logs.take(); len(p) > 0 {
			t.Fatalf("command %v made a handler panic:\n%s", bson.Raw(body), strings.Join(p, "\n"))
		}
		ping, err := roundTrip(addr, wire.AppendMsg(nil, 8, 0, 0, cmdBytes(bson.D{{Key: "ping", Value: int32(1)}, {Key: "$db", Value: "admin"}})))
		if err != nil || ping == nil || ping.Msg == nil {
			t.Fatalf("server does not answer ping after command %x: %v", body, err)
		}
	})
}

// roundTrip sends one message on a fresh connection and reads the reply.
// A nil message with a nil error means the server closed the connection
// cleanly. The deadline only guards against a hung server.
func roundTrip(addr string, msg []byte) (*wire.Message, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	m, err := wire.ReadMessage(c)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, errors.New("server neither replied nor closed the connection within 60s")
	}
	if err != nil && strings.Contains(err.Error(), "connection reset") {
		return nil, nil
	}
	return m, err
}
