package wire

import (
	"encoding/binary"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Query is a decoded legacy OP_QUERY.
type Query struct {
	Flags              int32
	FullCollectionName string
	NumberToSkip       int32
	NumberToReturn     int32
	Query              bsoncore.Document
	// ReturnFieldsSelector is nil when absent.
	ReturnFieldsSelector bsoncore.Document
}

// ParseQuery decodes an OP_QUERY body (everything after the header).
func ParseQuery(body []byte) (*Query, error) { return parseQuery(body) }

func parseQuery(body []byte) (*Query, error) {
	r := &reader{b: body}
	var q Query
	var err error
	if q.Flags, err = r.int32("OP_QUERY flags"); err != nil {
		return nil, err
	}
	if q.FullCollectionName, err = r.cstring("OP_QUERY fullCollectionName"); err != nil {
		return nil, err
	}
	if q.NumberToSkip, err = r.int32("OP_QUERY numberToSkip"); err != nil {
		return nil, err
	}
	if q.NumberToReturn, err = r.int32("OP_QUERY numberToReturn"); err != nil {
		return nil, err
	}
	if q.Query, err = r.document("OP_QUERY query"); err != nil {
		return nil, err
	}
	if r.remaining() > 0 {
		if q.ReturnFieldsSelector, err = r.document("OP_QUERY returnFieldsSelector"); err != nil {
			return nil, err
		}
	}
	if r.remaining() != 0 {
		return nil, malformed("%d trailing bytes after OP_QUERY", r.remaining())
	}
	return &q, nil
}

// OP_REPLY response flags.
const (
	ReplyCursorNotFound int32 = 1 << 0
	ReplyQueryFailure   int32 = 1 << 1
	ReplyAwaitCapable   int32 = 1 << 3
)

// Reply is a decoded OP_REPLY.
type Reply struct {
	Flags          int32
	CursorID       int64
	StartingFrom   int32
	NumberReturned int32
	Documents      []bsoncore.Document
}

func parseReply(body []byte) (*Reply, error) {
	r := &reader{b: body}
	var rp Reply
	var err error
	if rp.Flags, err = r.int32("OP_REPLY responseFlags"); err != nil {
		return nil, err
	}
	if rp.CursorID, err = r.int64("OP_REPLY cursorID"); err != nil {
		return nil, err
	}
	if rp.StartingFrom, err = r.int32("OP_REPLY startingFrom"); err != nil {
		return nil, err
	}
	if rp.NumberReturned, err = r.int32("OP_REPLY numberReturned"); err != nil {
		return nil, err
	}
	if rp.NumberReturned < 0 {
		return nil, malformed("OP_REPLY numberReturned %d is negative", rp.NumberReturned)
	}
	for r.remaining() > 0 {
		d, err := r.document("OP_REPLY document")
		if err != nil {
			return nil, err
		}
		rp.Documents = append(rp.Documents, d)
	}
	if int(rp.NumberReturned) != len(rp.Documents) {
		return nil, malformed("OP_REPLY numberReturned %d but %d documents", rp.NumberReturned, len(rp.Documents))
	}
	return &rp, nil
}

// AppendReply appends a complete OP_REPLY carrying docs to dst.
func AppendReply(dst []byte, requestID, responseTo int32, flags int32, cursorID int64, docs ...[]byte) []byte {
	start := len(dst)
	dst = AppendHeader(dst, Header{RequestID: requestID, ResponseTo: responseTo, OpCode: OpReply})
	dst = binary.LittleEndian.AppendUint32(dst, uint32(flags))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(cursorID))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(docs)))
	for _, d := range docs {
		dst = append(dst, d...)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// AppendQuery appends a complete OP_QUERY to dst (used by tests and tools).
func AppendQuery(dst []byte, requestID int32, flags int32, fullCollectionName string, skip, limit int32, query []byte) []byte {
	start := len(dst)
	dst = AppendHeader(dst, Header{RequestID: requestID, OpCode: OpQuery})
	dst = binary.LittleEndian.AppendUint32(dst, uint32(flags))
	dst = append(dst, fullCollectionName...)
	dst = append(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(skip))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(limit))
	dst = append(dst, query...)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}
