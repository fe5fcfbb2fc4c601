package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

func mustDoc(t testing.TB, d bson.D) bsoncore.Document {
	t.Helper()
	b, err := bson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Header
		wantErr bool
	}{
		{"ok", AppendHeader(nil, Header{Length: 100, RequestID: 7, ResponseTo: 3, OpCode: OpMsg}), Header{100, 7, 3, OpMsg}, false},
		{"min", AppendHeader(nil, Header{Length: 16, OpCode: OpMsg}), Header{16, 0, 0, OpMsg}, false},
		{"max", AppendHeader(nil, Header{Length: MaxMessageSize, OpCode: OpMsg}), Header{MaxMessageSize, 0, 0, OpMsg}, false},
		{"short buffer", []byte{1, 2, 3}, Header{}, true},
		{"length below header", AppendHeader(nil, Header{Length: 15, OpCode: OpMsg}), Header{}, true},
		{"negative length", AppendHeader(nil, Header{Length: -1, OpCode: OpMsg}), Header{}, true},
		{"too large", AppendHeader(nil, Header{Length: MaxMessageSize + 1, OpCode: OpMsg}), Header{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMsgRoundTrip(t *testing.T) {
	body := mustDoc(t, bson.D{{Key: "insert", Value: "c"}, {Key: "$db", Value: "test"}})
	d1 := mustDoc(t, bson.D{{Key: "_id", Value: int32(1)}})
	d2 := mustDoc(t, bson.D{{Key: "_id", Value: int32(2)}, {Key: "x", Value: "y"}})
	seqs := []Sequence{{Identifier: "documents", Documents: []bsoncore.Document{d1, d2}}, {Identifier: "empty"}}
	for _, checksum := range []bool{false, true} {
		frame := AppendMsg(nil, 11, 22, MoreToCome|ExhaustAllowed, body, seqs...)
		if checksum {
			frame = AddChecksum(frame)
		}
		m, err := ReadMessage(bytes.NewReader(frame))
		if err != nil {
			t.Fatalf("checksum=%v: %v", checksum, err)
		}
		if m.Header.RequestID != 11 || m.Header.ResponseTo != 22 || m.Header.OpCode != OpMsg || int(m.Header.Length) != len(frame) {
			t.Errorf("header %+v", m.Header)
		}
		if m.Compressor != CompressorNone {
			t.Errorf("compressor %v", m.Compressor)
		}
		wantFlags := MoreToCome | ExhaustAllowed
		if checksum {
			wantFlags |= ChecksumPresent
		}
		if m.Msg.Flags != wantFlags {
			t.Errorf("flags %#x, want %#x", m.Msg.Flags, wantFlags)
		}
		if !bytes.Equal(m.Msg.Body, body) {
			t.Errorf("body mismatch")
		}
		if len(m.Msg.Sequences) != 2 || m.Msg.Sequences[0].Identifier != "documents" ||
			len(m.Msg.Sequences[0].Documents) != 2 || !bytes.Equal(m.Msg.Sequences[0].Documents[1], d2) ||
			m.Msg.Sequences[1].Identifier != "empty" || len(m.Msg.Sequences[1].Documents) != 0 {
			t.Errorf("sequences %+v", m.Msg.Sequences)
		}
	}
}

// patch returns a copy of b with f applied.
func patch(b []byte, f func([]byte) []byte) []byte {
	return f(append([]byte(nil), b...))
}

func TestMsgMalformed(t *testing.T) {
	body := mustDoc(t, bson.D{{Key: "ping", Value: int32(1)}})
	d1 := mustDoc(t, bson.D{{Key: "a", Value: int32(1)}})
	good := AppendMsg(nil, 1, 0, 0, body)
	withSeq := AppendMsg(nil, 1, 0, 0, body, Sequence{Identifier: "docs", Documents: []bsoncore.Document{d1}})
	seqAt := HeaderLen + 4 + 1 + len(body) // offset of the kind-1 byte
	fixLen := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b, uint32(len(b)))
		return b
	}
	tests := map[string][]byte{
		"no sections":           fixLen(good[:HeaderLen+4]),
		"truncated flags":       fixLen(good[:HeaderLen+2]),
		"two bodies":            fixLen(append(append([]byte(nil), good...), append([]byte{0}, body...)...)),
		"unknown kind":          patch(good, func(b []byte) []byte { b[HeaderLen+4] = 2; return b }),
		"required flag bit":     patch(good, func(b []byte) []byte { b[HeaderLen] = 1 << 3; return b }),
		"bson length short":     patch(good, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[HeaderLen+5:], 4); return b }),
		"bson length long":      patch(good, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[HeaderLen+5:], 1000); return b }),
		"bson bad terminator":   patch(good, func(b []byte) []byte { b[len(b)-1] = 1; return b }),
		"bson bad element type": patch(good, func(b []byte) []byte { b[HeaderLen+9] = 0x7a; return b }),
		"trailing garbage":      fixLen(append(append([]byte(nil), good...), 0)),
		"only sequence":         fixLen(append(good[:HeaderLen+4:HeaderLen+4], withSeq[seqAt:]...)),
		"seq size too big":      patch(withSeq, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[seqAt+1:], 1000); return b }),
		"seq size too small":    patch(withSeq, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[seqAt+1:], 3); return b }),
		"seq unterminated id": patch(withSeq, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[seqAt+1:], 4+3)
			return b[:seqAt+1+4+3]
		}),
		"seq doc overruns": patch(withSeq, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[seqAt+1:], uint32(len(b)-seqAt-1-2))
			return b
		}),
		"checksum missing": fixLen(patch(good, func(b []byte) []byte { b[HeaderLen] = 1; return b })),
		"checksum wrong": patch(AddChecksum(append([]byte(nil), good...)), func(b []byte) []byte {
			b[len(b)-2] ^= 1
			return b
		}),
		"checksum too short": fixLen(patch(good[:HeaderLen+4+2], func(b []byte) []byte { b[HeaderLen] = 1; return b })),
	}
	for name, frame := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := ReadMessage(bytes.NewReader(frame))
			if err == nil {
				t.Fatalf("accepted: %+v", m.Msg)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestUnknownOptionalFlagIgnored(t *testing.T) {
	body := mustDoc(t, bson.D{{Key: "ping", Value: int32(1)}})
	frame := AppendMsg(nil, 1, 0, 1<<20, body)
	m, err := ReadMessage(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	if m.Msg.Flags != 1<<20 {
		t.Fatalf("flags %#x", m.Msg.Flags)
	}
}

func TestReadMessageTruncated(t *testing.T) {
	body := mustDoc(t, bson.D{{Key: "ping", Value: int32(1)}})
	frame := AppendMsg(nil, 1, 0, 0, body)
	if _, err := ReadMessage(bytes.NewReader(frame[:10])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short header: %v", err)
	}
	if _, err := ReadMessage(bytes.NewReader(frame[:len(frame)-1])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short body: %v", err)
	}
	if _, err := ReadMessage(bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
		t.Errorf("empty: %v", err)
	}
}

func TestCompressionRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("cairn "), 50000)
	body := mustDoc(t, bson.D{{Key: "echo", Value: string(big)}, {Key: "$db", Value: "test"}})
	plain := AppendMsg(nil, 9, 4, 0, body)
	for _, c := range []Compressor{CompressorNoop, CompressorSnappy, CompressorZlib, CompressorZstd} {
		t.Run(c.Name(), func(t *testing.T) {
			frame, err := Compress(plain, c)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := ParseHeader(frame)
			if h.OpCode != OpCompressed || h.RequestID != 9 || h.ResponseTo != 4 || int(h.Length) != len(frame) {
				t.Fatalf("compressed header %+v", h)
			}
			if c != CompressorNoop && len(frame) > len(plain)/4 {
				t.Errorf("%s: %d bytes from %d", c.Name(), len(frame), len(plain))
			}
			m, err := ReadMessage(bytes.NewReader(frame))
			if err != nil {
				t.Fatal(err)
			}
			if m.Compressor != c || m.Header.OpCode != OpMsg || int(m.Header.Length) != len(plain) {
				t.Fatalf("decoded compressor %v header %+v", m.Compressor, m.Header)
			}
			if !bytes.Equal(m.Msg.Body, body) {
				t.Fatal("body mismatch")
			}
			if got, ok := CompressorByName(c.Name()); !ok || got != c {
				t.Errorf("CompressorByName(%q) = %v, %v", c.Name(), got, ok)
			}
		})
	}
	if _, ok := CompressorByName("lz4"); ok {
		t.Error("lz4 should be unknown")
	}
	if out, err := Compress(plain, CompressorNone); err != nil || !bytes.Equal(out, plain) {
		t.Error("CompressorNone should return the message unchanged")
	}
}

func TestCompressedMalformed(t *testing.T) {
	body := mustDoc(t, bson.D{{Key: "ping", Value: int32(1)}})
	plain := AppendMsg(nil, 1, 0, 0, body)
	const sizeAt, idAt, dataAt = HeaderLen + 4, HeaderLen + 8, HeaderLen + 9
	snappyFrame, _ := Compress(plain, CompressorSnappy)
	zlibFrame, _ := Compress(plain, CompressorZlib)
	zstdFrame, _ := Compress(plain, CompressorZstd)
	noopFrame, _ := Compress(plain, CompressorNoop)
	fixLen := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b, uint32(len(b)))
		return b
	}
	tests := map[string][]byte{
		"truncated prefix": fixLen(append([]byte(nil), snappyFrame[:HeaderLen+6]...)),
		"unknown id":       patch(snappyFrame, func(b []byte) []byte { b[idAt] = 4; return b }),
		"size mismatch snappy": patch(snappyFrame, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[sizeAt:], 5)
			return b
		}),
		"size mismatch zlib": patch(zlibFrame, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[sizeAt:], 5)
			return b
		}),
		"size mismatch zstd": patch(zstdFrame, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[sizeAt:], 1000)
			return b
		}),
		"size mismatch noop": patch(noopFrame, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[sizeAt:], 1000)
			return b
		}),
		"negative size": patch(noopFrame, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[sizeAt:], 0xffffffff)
			return b
		}),
		"huge size": patch(zlibFrame, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[sizeAt:], MaxMessageSize)
			return b
		}),
		"corrupt snappy": patch(snappyFrame, func(b []byte) []byte { b[dataAt+1] ^= 0xff; return b }),
		"corrupt zlib":   patch(zlibFrame, func(b []byte) []byte { b[dataAt] ^= 0xff; return b }),
		"corrupt zstd":   patch(zstdFrame, func(b []byte) []byte { b[dataAt] ^= 0xff; return b }),
		"nested": func() []byte {
			b, _ := Compress(noopFrame, CompressorNoop)
			return b
		}(),
		"inner malformed": func() []byte {
			bad := patch(plain, func(b []byte) []byte { b[HeaderLen+4] = 9; return b })
			b, _ := Compress(bad, CompressorSnappy)
			return b
		}(),
	}
	for name, frame := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadMessage(bytes.NewReader(frame)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestQueryRoundTrip(t *testing.T) {
	q := mustDoc(t, bson.D{{Key: "isMaster", Value: int32(1)}})
	frame := AppendQuery(nil, 3, 4, "admin.$cmd", 0, -1, q)
	m, err := ReadMessage(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	got := m.Query
	if got == nil || got.Flags != 4 || got.FullCollectionName != "admin.$cmd" || got.NumberToSkip != 0 ||
		got.NumberToReturn != -1 || !bytes.Equal(got.Query, q) || got.ReturnFieldsSelector != nil {
		t.Fatalf("query %+v", got)
	}
	sel := mustDoc(t, bson.D{{Key: "a", Value: int32(1)}})
	withSel := append(append([]byte(nil), frame...), sel...)
	binary.LittleEndian.PutUint32(withSel, uint32(len(withSel)))
	m, err = ReadMessage(bytes.NewReader(withSel))
	if err != nil || !bytes.Equal(m.Query.ReturnFieldsSelector, sel) {
		t.Fatalf("selector: %v %+v", err, m)
	}
	bad := append(append([]byte(nil), withSel...), 1, 2)
	binary.LittleEndian.PutUint32(bad, uint32(len(bad)))
	if _, err := ReadMessage(bytes.NewReader(bad)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing bytes: %v", err)
	}
	noNul := AppendQuery(nil, 3, 0, "admin.$cmd", 0, -1, nil)
	noNul = noNul[:HeaderLen+4+3]
	binary.LittleEndian.PutUint32(noNul, uint32(len(noNul)))
	if _, err := ReadMessage(bytes.NewReader(noNul)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unterminated name: %v", err)
	}
}

func TestReplyRoundTrip(t *testing.T) {
	d1 := mustDoc(t, bson.D{{Key: "ok", Value: 1.0}})
	d2 := mustDoc(t, bson.D{{Key: "n", Value: int32(2)}})
	frame := AppendReply(nil, 5, 6, ReplyAwaitCapable, 77, d1, d2)
	m, err := ReadMessage(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Reply
	if r.Flags != ReplyAwaitCapable || r.CursorID != 77 || r.NumberReturned != 2 || len(r.Documents) != 2 || !bytes.Equal(r.Documents[1], d2) {
		t.Fatalf("reply %+v", r)
	}
	bad := patch(frame, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[HeaderLen+16:], 3); return b })
	if _, err := ReadMessage(bytes.NewReader(bad)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("count mismatch: %v", err)
	}
}

func TestOtherOpCodesKeepRaw(t *testing.T) {
	frame := AppendHeader(nil, Header{Length: HeaderLen + 3, RequestID: 1, OpCode: OpInsert})
	frame = append(frame, 1, 2, 3)
	m, err := ReadMessage(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.OpCode != OpInsert || !bytes.Equal(m.Raw, []byte{1, 2, 3}) || m.Msg != nil || m.Query != nil {
		t.Fatalf("message %+v", m)
	}
	if OpInsert.String() != "OP_INSERT" || OpCode(99).String() != "opcode(99)" {
		t.Error("OpCode.String")
	}
}

// TestAppendMsgBody: a body written in place gives AppendMsg's bytes, after
// whatever dst held; a failing body leaves dst as it was.
func TestAppendMsgBody(t *testing.T) {
	body, _ := bson.Marshal(bson.D{{Key: "ok", Value: 1.0}})
	want := AppendMsg([]byte("prefix"), 7, 9, 0, body)
	got, err := AppendMsgBody([]byte("prefix"), 7, 9, 0, func(b []byte) ([]byte, error) { return append(b, body...), nil })
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("AppendMsgBody = %x, %v; want %x", got, err, want)
	}
	boom := errors.New("boom")
	got, err = AppendMsgBody([]byte("prefix"), 7, 9, 0, func(b []byte) ([]byte, error) { return append(b, 1, 2), boom })
	if !errors.Is(err, boom) || string(got) != "prefix" {
		t.Fatalf("failing body: %q, %v; want the prefix back and the error", got, err)
	}
}

// TestInvalidUTF8 checks that a message is refused when any key or string
// in its documents, at any depth, is not valid UTF-8, and accepted when
// the same places hold valid UTF-8 (MongoDB refuses invalid UTF-8 in
// client documents).
func TestInvalidUTF8(t *testing.T) {
	docWith := func(s string) []byte {
		return bsoncore.NewDocumentBuilder().AppendString("s", s).Build()
	}
	build := map[string]func(s string) []byte{
		"key":    func(s string) []byte { return bsoncore.NewDocumentBuilder().AppendInt32(s, 1).Build() },
		"string": docWith,
		"symbol": func(s string) []byte { return bsoncore.NewDocumentBuilder().AppendSymbol("s", s).Build() },
		"code":   func(s string) []byte { return bsoncore.NewDocumentBuilder().AppendJavaScript("s", s).Build() },
		"nested": func(s string) []byte { return bsoncore.NewDocumentBuilder().AppendDocument("d", docWith(s)).Build() },
		"array": func(s string) []byte {
			return bsoncore.NewDocumentBuilder().AppendArray("a", bsoncore.NewArrayBuilder().AppendString(s).Build()).Build()
		},
		"regex pattern": func(s string) []byte { return bsoncore.NewDocumentBuilder().AppendRegex("r", s, "i").Build() },
		"code with scope": func(s string) []byte {
			return bsoncore.NewDocumentBuilder().AppendCodeWithScope("c", "x", docWith(s)).Build()
		},
		"dbpointer": func(s string) []byte {
			return bsoncore.BuildDocumentFromElements(nil, bsoncore.AppendDBPointerElement(nil, "p", s, bson.NewObjectID()))
		},
	}
	for name, f := range build {
		t.Run(name, func(t *testing.T) {
			good := AppendMsg(nil, 1, 0, 0, f("é ok"))
			if _, err := ReadMessage(bytes.NewReader(good)); err != nil {
				t.Fatalf("valid UTF-8 refused: %v", err)
			}
			bad := AppendMsg(nil, 1, 0, 0, f("bad \xff byte"))
			_, err := ReadMessage(bytes.NewReader(bad))
			if !errors.Is(err, ErrInvalidBSON) {
				t.Fatalf("invalid UTF-8: got %v, want ErrInvalidBSON", err)
			}
		})
	}
}
