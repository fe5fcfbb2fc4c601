package wire

import (
	"bytes"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// FuzzReadMessage checks that arbitrary bytes never make ReadMessage panic
// and that every OP_MSG it accepts survives a re-encode/decode round trip.
// The seed corpus is in testdata/fuzz/FuzzReadMessage.
func FuzzReadMessage(f *testing.F) {
	body, _ := bson.Marshal(bson.D{{Key: "ping", Value: int32(1)}, {Key: "$db", Value: "admin"}})
	d1, _ := bson.Marshal(bson.D{{Key: "a", Value: int32(1)}})
	f.Add(AppendMsg(nil, 1, 0, 0, body))
	f.Add(AddChecksum(AppendMsg(nil, 1, 0, 0, body)))
	f.Add(AppendMsg(nil, 1, 0, MoreToCome, body, Sequence{Identifier: "documents", Documents: []bsoncore.Document{d1, d1}}))
	f.Add(AppendQuery(nil, 1, 0, "admin.$cmd", 0, -1, body))
	f.Add(AppendReply(nil, 1, 0, 0, 0, body))
	for _, c := range []Compressor{CompressorNoop, CompressorSnappy, CompressorZlib, CompressorZstd} {
		b, _ := Compress(AppendMsg(nil, 1, 0, 0, body), c)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadMessage(bytes.NewReader(data))
		if err != nil || m.Msg == nil {
			return
		}
		flags := m.Msg.Flags &^ ChecksumPresent
		again := AppendMsg(nil, m.Header.RequestID, m.Header.ResponseTo, flags, m.Msg.Body, m.Msg.Sequences...)
		m2, err := ReadMessage(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("re-encoded message rejected: %v", err)
		}
		if m2.Msg.Flags != flags || !bytes.Equal(m2.Msg.Body, m.Msg.Body) || len(m2.Msg.Sequences) != len(m.Msg.Sequences) {
			t.Fatalf("round trip mismatch")
		}
	})
}
