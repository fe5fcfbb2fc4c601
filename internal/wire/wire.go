package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// OpCode identifies a wire protocol message type.
type OpCode int32

// Op codes Cairn knows about.
const (
	OpReply       OpCode = 1
	OpUpdate      OpCode = 2001
	OpInsert      OpCode = 2002
	OpQuery       OpCode = 2004
	OpGetMore     OpCode = 2005
	OpDelete      OpCode = 2006
	OpKillCursors OpCode = 2007
	OpCompressed  OpCode = 2012
	OpMsg         OpCode = 2013
)

func (o OpCode) String() string {
	switch o {
	case OpReply:
		return "OP_REPLY"
	case OpUpdate:
		return "OP_UPDATE"
	case OpInsert:
		return "OP_INSERT"
	case OpQuery:
		return "OP_QUERY"
	case OpGetMore:
		return "OP_GET_MORE"
	case OpDelete:
		return "OP_DELETE"
	case OpKillCursors:
		return "OP_KILL_CURSORS"
	case OpCompressed:
		return "OP_COMPRESSED"
	case OpMsg:
		return "OP_MSG"
	}
	return fmt.Sprintf("opcode(%d)", int32(o))
}

// Size limits.
const (
	// HeaderLen is the length of the standard message header.
	HeaderLen = 16
	// MaxMessageSize is the largest message (header included) accepted or
	// produced, as mongod's maxMessageSizeBytes.
	MaxMessageSize = 48_000_000
	// MaxBSONObjectSize is the largest user document (maxBsonObjectSize).
	MaxBSONObjectSize = 16 * 1024 * 1024
	// MaxCommandSize is the largest command body accepted: 16 MiB plus
	// 16 KiB of command overhead, as mongod allows.
	MaxCommandSize = MaxBSONObjectSize + 16*1024
)

// ErrMalformed is wrapped by every error about a frame that does not follow
// the protocol.
var ErrMalformed = errors.New("wire: malformed message")

// ErrInvalidBSON is wrapped (together with ErrMalformed) by errors about a
// well-framed OP_MSG whose BSON content does not validate. The server
// answers those with an InvalidBSON error and keeps the connection.
var ErrInvalidBSON = errors.New("wire: invalid BSON")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Header is the standard message header.
type Header struct {
	// Length is the total message length including the header.
	Length     int32
	RequestID  int32
	ResponseTo int32
	OpCode     OpCode
}

// ParseHeader decodes and validates a header from the first HeaderLen
// bytes of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, malformed("header needs %d bytes, have %d", HeaderLen, len(b))
	}
	h := Header{
		Length:     int32(binary.LittleEndian.Uint32(b[0:])),
		RequestID:  int32(binary.LittleEndian.Uint32(b[4:])),
		ResponseTo: int32(binary.LittleEndian.Uint32(b[8:])),
		OpCode:     OpCode(binary.LittleEndian.Uint32(b[12:])),
	}
	if h.Length < HeaderLen {
		return Header{}, malformed("message length %d is shorter than the header", h.Length)
	}
	if h.Length > MaxMessageSize {
		return Header{}, malformed("message length %d exceeds the maximum of %d bytes", h.Length, MaxMessageSize)
	}
	return h, nil
}

// AppendHeader appends h to dst.
func AppendHeader(dst []byte, h Header) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.Length))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.RequestID))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.ResponseTo))
	return binary.LittleEndian.AppendUint32(dst, uint32(h.OpCode))
}

// Message is one decoded message. Exactly one of Msg, Query and Reply is
// set for the op codes Cairn decodes; for other op codes only Header and
// Raw are set.
type Message struct {
	// Header is the header of the message as decoded; for a compressed
	// message it carries the original op code and uncompressed length.
	Header Header
	// Compressor is the compressor the message arrived with, or
	// CompressorNone if it was not compressed.
	Compressor Compressor
	Msg        *Msg
	Query      *Query
	Reply      *Reply
	// Raw is the (decompressed) message body after the header.
	Raw []byte
}

// ReadMessage reads one full message from r and decodes it.
func ReadMessage(r io.Reader) (*Message, error) {
	var hb [HeaderLen]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return nil, err
	}
	h, err := ParseHeader(hb[:])
	if err != nil {
		return nil, err
	}
	body, err := ReadBody(r, h)
	if err != nil {
		return nil, err
	}
	return Decode(h, body)
}

// ReadBody reads the h.Length-HeaderLen bytes following a header.
func ReadBody(r io.Reader, h Header) ([]byte, error) {
	n := int(h.Length) - HeaderLen
	if n < 0 || h.Length > MaxMessageSize {
		return nil, malformed("bad message length %d", h.Length)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("wire: reading %d-byte message body: %w", n, err)
	}
	return body, nil
}

// Decode decodes the body of a message (everything after the header). A
// compressed message is decompressed and the inner message decoded.
func Decode(h Header, body []byte) (*Message, error) {
	if int(h.Length) != len(body)+HeaderLen {
		return nil, malformed("header length %d does not match body length %d", h.Length, len(body))
	}
	m := &Message{Header: h, Compressor: CompressorNone}
	if h.OpCode == OpCompressed {
		inner, c, err := decompress(body)
		if err != nil {
			return nil, err
		}
		m.Header.OpCode = inner.op
		m.Header.Length = int32(len(inner.body) + HeaderLen)
		m.Compressor = c
		body = inner.body
	}
	m.Raw = body
	var err error
	switch m.Header.OpCode {
	case OpMsg:
		m.Msg, err = parseMsg(h, body)
	case OpQuery:
		m.Query, err = parseQuery(body)
	case OpReply:
		m.Reply, err = parseReply(body)
	case OpCompressed:
		err = malformed("OP_COMPRESSED may not wrap another OP_COMPRESSED")
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// reader is a bounds-checked little-endian cursor over a byte slice.
type reader struct {
	b   []byte
	off int
	// seq is set inside an OP_MSG document sequence.
	seq bool
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) int32(what string) (int32, error) {
	if r.remaining() < 4 {
		return 0, malformed("truncated %s", what)
	}
	v := int32(binary.LittleEndian.Uint32(r.b[r.off:]))
	r.off += 4
	return v, nil
}

func (r *reader) int64(what string) (int64, error) {
	if r.remaining() < 8 {
		return 0, malformed("truncated %s", what)
	}
	v := int64(binary.LittleEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v, nil
}

func (r *reader) byte(what string) (byte, error) {
	if r.remaining() < 1 {
		return 0, malformed("truncated %s", what)
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

func (r *reader) cstring(what string) (string, error) {
	for i := r.off; i < len(r.b); i++ {
		if r.b[i] == 0 {
			s := string(r.b[r.off:i])
			r.off = i + 1
			return s, nil
		}
	}
	return "", malformed("unterminated %s", what)
}
