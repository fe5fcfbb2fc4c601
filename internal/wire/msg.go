package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// MsgFlags are the OP_MSG flag bits.
type MsgFlags uint32

// OP_MSG flag bits. Bits 0-15 are required: a receiver must reject unknown
// ones. Bits 16-31 are optional and ignored when unknown.
const (
	ChecksumPresent MsgFlags = 1 << 0
	MoreToCome      MsgFlags = 1 << 1
	ExhaustAllowed  MsgFlags = 1 << 16

	requiredBits = MsgFlags(0xFFFF)
	knownBits    = ChecksumPresent | MoreToCome | ExhaustAllowed
)

// Section kinds.
const (
	sectionBody     = 0
	sectionSequence = 1
)

// Msg is a decoded OP_MSG.
type Msg struct {
	Flags MsgFlags
	// Body is the kind-0 section.
	Body bsoncore.Document
	// Sequences are the kind-1 sections in message order.
	Sequences []Sequence
	// Checksum is the CRC-32C trailer when ChecksumPresent is set; it has
	// already been verified.
	Checksum uint32
}

// Sequence is a kind-1 document sequence section.
type Sequence struct {
	Identifier string
	Documents  []bsoncore.Document
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ParseMsg decodes an OP_MSG body (everything after the header). h must be
// the message's header; it is needed to verify a checksum.
func ParseMsg(h Header, body []byte) (*Msg, error) { return parseMsg(h, body) }

func parseMsg(h Header, body []byte) (*Msg, error) {
	r := &reader{b: body}
	f, err := r.int32("OP_MSG flagBits")
	if err != nil {
		return nil, err
	}
	m := &Msg{Flags: MsgFlags(uint32(f))}
	if unknown := m.Flags & requiredBits &^ knownBits; unknown != 0 {
		return nil, malformed("OP_MSG has unknown required flag bits %#x", uint32(unknown))
	}
	end := len(body)
	if m.Flags&ChecksumPresent != 0 {
		if len(body) < 4+4 {
			return nil, malformed("OP_MSG too short for its checksum")
		}
		end = len(body) - 4
		m.Checksum = binary.LittleEndian.Uint32(body[end:])
		crc := crc32.Update(0, castagnoli, AppendHeader(make([]byte, 0, HeaderLen), h))
		crc = crc32.Update(crc, castagnoli, body[:end])
		if crc != m.Checksum {
			return nil, malformed("OP_MSG checksum mismatch")
		}
	}
	r.b = body[:end]
	seenBody := false
	for r.remaining() > 0 {
		kind, _ := r.byte("section kind")
		switch kind {
		case sectionBody:
			if seenBody {
				return nil, malformed("OP_MSG has more than one body section")
			}
			seenBody = true
			doc, err := r.document("OP_MSG body")
			if err != nil {
				return nil, err
			}
			m.Body = doc
		case sectionSequence:
			seq, err := r.sequence()
			if err != nil {
				return nil, err
			}
			m.Sequences = append(m.Sequences, seq)
		default:
			return nil, malformed("OP_MSG has unknown section kind %d", kind)
		}
	}
	if !seenBody {
		return nil, malformed("OP_MSG has no body section")
	}
	return m, nil
}

func (r *reader) sequence() (Sequence, error) {
	start := r.off
	size, err := r.int32("document sequence size")
	if err != nil {
		return Sequence{}, err
	}
	if size < 4+1 || int(size) > r.remaining()+4 {
		return Sequence{}, malformed("document sequence size %d out of range", size)
	}
	sub := &reader{b: r.b[:start+int(size)], off: r.off, seq: true}
	id, err := sub.cstring("document sequence identifier")
	if err != nil {
		return Sequence{}, err
	}
	seq := Sequence{Identifier: id}
	for sub.remaining() > 0 {
		doc, err := sub.document("document sequence " + id)
		if err != nil {
			return Sequence{}, err
		}
		seq.Documents = append(seq.Documents, doc)
	}
	r.off = start + int(size)
	return seq, nil
}

// document reads and validates one BSON document.
func (r *reader) document(what string) (bsoncore.Document, error) {
	if r.remaining() < 5 {
		if r.seq {
			return nil, fmt.Errorf("%w: %w: truncated %s", ErrMalformed, ErrInvalidBSON, what)
		}
		return nil, malformed("truncated %s", what)
	}
	n := int32(binary.LittleEndian.Uint32(r.b[r.off:]))
	if n < 5 || int(n) > r.remaining() {
		if r.seq {
			// Inside a document sequence the sequence's own size bounds
			// the damage: report the document, not the frame.
			return nil, fmt.Errorf("%w: %w: %s has bad length %d", ErrMalformed, ErrInvalidBSON, what, n)
		}
		return nil, malformed("%s has bad length %d", what, n)
	}
	doc := bsoncore.Document(r.b[r.off : r.off+int(n)])
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w: %s: %v", ErrMalformed, ErrInvalidBSON, what, err)
	}
	if err := checkUTF8(doc); err != nil {
		return nil, fmt.Errorf("%w: %w: %s: %v", ErrMalformed, ErrInvalidBSON, what, err)
	}
	r.off += int(n)
	return doc, nil
}

// AppendMsg appends a complete OP_MSG with one body section and the given
// document sequences to dst.
func AppendMsg(dst []byte, requestID, responseTo int32, flags MsgFlags, body []byte, seqs ...Sequence) []byte {
	flags &^= ChecksumPresent
	start := len(dst)
	dst = AppendHeader(dst, Header{RequestID: requestID, ResponseTo: responseTo, OpCode: OpMsg})
	dst = binary.LittleEndian.AppendUint32(dst, uint32(flags))
	dst = append(dst, sectionBody)
	dst = append(dst, body...)
	for _, s := range seqs {
		dst = append(dst, sectionSequence)
		sizeAt := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		dst = append(dst, s.Identifier...)
		dst = append(dst, 0)
		for _, d := range s.Documents {
			dst = append(dst, d...)
		}
		binary.LittleEndian.PutUint32(dst[sizeAt:], uint32(len(dst)-sizeAt))
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// AppendMsgBody appends an OP_MSG with a single body section that
// appendBody writes straight into dst, so a reply is encoded once, in
// place, instead of being built apart and copied in. On error dst is
// returned as it was.
func AppendMsgBody(dst []byte, requestID, responseTo int32, flags MsgFlags, appendBody func([]byte) ([]byte, error)) ([]byte, error) {
	flags &^= ChecksumPresent
	start := len(dst)
	dst = AppendHeader(dst, Header{RequestID: requestID, ResponseTo: responseTo, OpCode: OpMsg})
	dst = binary.LittleEndian.AppendUint32(dst, uint32(flags))
	dst = append(dst, sectionBody)
	out, err := appendBody(dst)
	if err != nil {
		return dst[:start], err
	}
	binary.LittleEndian.PutUint32(out[start:], uint32(len(out)-start))
	return out, nil
}

// AddChecksum sets ChecksumPresent on a complete OP_MSG in msg and appends
// its CRC-32C, fixing up the message length.
func AddChecksum(msg []byte) []byte {
	if len(msg) < HeaderLen+4 {
		return msg
	}
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)+4))
	f := binary.LittleEndian.Uint32(msg[HeaderLen:])
	binary.LittleEndian.PutUint32(msg[HeaderLen:], f|uint32(ChecksumPresent))
	return binary.LittleEndian.AppendUint32(msg, crc32.Checksum(msg, castagnoli))
}

// checkUTF8 reports an error if a key or a string value (also inside
// nested documents, code and symbols) of a validated document is not
// valid UTF-8. It reads the elements in place, without allocating.
func checkUTF8(doc bsoncore.Document) error {
	if len(doc) < 5 {
		return errors.New("document too short")
	}
	rem := doc[4 : len(doc)-1]
	for len(rem) > 0 {
		e, rest, ok := bsoncore.ReadElement(rem)
		if !ok {
			return errors.New("malformed element")
		}
		rem = rest
		if !utf8.Valid(e.KeyBytes()) {
			return fmt.Errorf("field name is not valid UTF-8")
		}
		v := e.Value()
		switch v.Type {
		case bsoncore.TypeString, bsoncore.TypeSymbol, bsoncore.TypeJavaScript:
			// int32 length, the bytes, NUL.
			if len(v.Data) < 5 || !utf8.Valid(v.Data[4:len(v.Data)-1]) {
				return fmt.Errorf("%s in field %q is not valid UTF-8", utf8Kind(v.Type), e.Key())
			}
		case bsoncore.TypeDBPointer:
			if ns, _, ok := v.DBPointerOK(); ok && !utf8.ValidString(ns) {
				return fmt.Errorf("DBPointer namespace in field %q is not valid UTF-8", e.Key())
			}
		case bsoncore.TypeCodeWithScope:
			if code, scope, ok := v.CodeWithScopeOK(); ok {
				if !utf8.ValidString(code) {
					return fmt.Errorf("code in field %q is not valid UTF-8", e.Key())
				}
				if err := checkUTF8(scope); err != nil {
					return err
				}
			}
		case bsoncore.TypeRegex:
			if p, o, ok := v.RegexOK(); ok && (!utf8.ValidString(p) || !utf8.ValidString(o)) {
				return fmt.Errorf("regex in field %q is not valid UTF-8", e.Key())
			}
		case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
			if err := checkUTF8(bsoncore.Document(v.Data)); err != nil {
				return err
			}
		}
	}
	return nil
}

func utf8Kind(t bsoncore.Type) string {
	switch t {
	case bsoncore.TypeSymbol:
		return "symbol"
	case bsoncore.TypeJavaScript:
		return "code"
	}
	return "string"
}
