package commands

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Inserts whose documents arrive as an OP_MSG document sequence get them
// undecoded (bson.Raw, see server.runMsg). A document that is already in
// its stored form is stored as sent; any other is decoded and takes the
// general path (insertOne).

// storedID returns the decoded _id of raw when raw may be stored byte for
// byte: it is exactly what decoding and re-encoding it would give (what
// catalog.Insert stores), and it needs nothing of what PrepareInsert and
// validateStoredFieldNames do. That is, _id comes first and is a scalar
// that may be an _id; every value, at every depth, is of a type whose
// encoding decoding keeps (binary subtype 2, regular expressions and the
// deprecated types are left to the general path); booleans are 0 or 1;
// array keys are "0", "1", ...; and nesting stays within
// maxNestingDepth. ok is false when the general path must handle raw.
func storedID(raw bson.Raw) (id any, ok bool) {
	if !storableValue(bsoncore.Value{Type: bsoncore.TypeEmbeddedDocument, Data: raw}, 0) {
		return nil, false
	}
	first, _, ok := bsoncore.ReadElement(raw[4:])
	if !ok || string(first.KeyBytes()) != "_id" {
		return nil, false
	}
	// Every storable type may be an _id but documents (whose fields
	// PrepareInsert checks) and arrays (which it refuses).
	v := first.Value()
	if v.Type == bsoncore.TypeEmbeddedDocument || v.Type == bsoncore.TypeArray {
		return nil, false
	}
	if id, err := bsonutil.DecodeValue(v); err == nil {
		return id, true
	}
	return nil, false
}

// storableElems checks the elements of a document or array, given as the
// bytes from its first element through its terminating zero, whose values
// are at nesting level.
func storableElems(elems []byte, array bool, level int) bool {
	for i := 0; ; i++ {
		if len(elems) == 0 {
			return false
		}
		if elems[0] == 0 {
			return len(elems) == 1
		}
		el, rest, ok := bsoncore.ReadElement(elems)
		if !ok {
			return false
		}
		if array {
			var buf [20]byte
			if string(el.KeyBytes()) != string(strconv.AppendInt(buf[:0], int64(i), 10)) {
				return false
			}
		}
		if !storableValue(el.Value(), level) {
			return false
		}
		elems = rest
	}
}

// storableValue checks one value at nesting level (a top-level field's
// value is at level 1).
func storableValue(v bsoncore.Value, level int) bool {
	// Lengths are checked as the decoder checks them: ReadElement trusts
	// length prefixes and terminators.
	prefix := func() int {
		if len(v.Data) < 4 {
			return -1
		}
		return int(int32(binary.LittleEndian.Uint32(v.Data)))
	}
	switch v.Type {
	case bsoncore.TypeDouble, bsoncore.TypeObjectID, bsoncore.TypeDateTime,
		bsoncore.TypeNull, bsoncore.TypeInt32, bsoncore.TypeTimestamp, bsoncore.TypeInt64,
		bsoncore.TypeDecimal128, bsoncore.TypeMinKey, bsoncore.TypeMaxKey:
		return true
	case bsoncore.TypeString:
		n := prefix()
		return n >= 1 && n == len(v.Data)-4 && v.Data[len(v.Data)-1] == 0
	case bsoncore.TypeBoolean:
		return len(v.Data) == 1 && v.Data[0] <= 1
	case bsoncore.TypeBinary:
		return len(v.Data) >= 5 && prefix() == len(v.Data)-5 && v.Data[4] != 0x02
	case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
		// A value at level n is a document nested n+1 deep.
		if level+1 > maxNestingDepth || len(v.Data) < 5 || prefix() != len(v.Data) {
			return false
		}
		return storableElems(v.Data[4:], v.Type == bsoncore.TypeArray, level+1)
	}
	return false
}

// insertDoc is one document of an insert: decoded (d), or as sent in a
// document sequence and storable as it is (raw, with its decoded _id).
type insertDoc struct {
	d   bson.D
	raw bson.Raw
	id  any
}

// insert stores the document; raw says whether the collection takes
// documents in their stored form (no validator, catalog.RawInsertable).
func (x insertDoc) insert(w *catalog.Writer, coll *catalog.Collection, v *docValidator, raw bool) error {
	d := x.d
	if x.raw != nil {
		if raw {
			return w.InsertRaw(coll, x.raw, x.id)
		}
		var err error
		if d, err = bsonutil.Decode(x.raw); err != nil {
			return fmt.Errorf("insert: decode document: %w", err)
		}
	}
	return insertOne(w, coll, d, v)
}

// insertDocsArg reads the insert's documents. Those the server left
// undecoded stay so when storedID allows it and are decoded otherwise (a
// document that does not decode fails the command, as a decoded sequence
// would).
func insertDocsArg(req *Request) ([]insertDoc, error) {
	const field = "documents"
	a, err := arrayArg(req, field)
	if err != nil {
		return nil, err
	}
	out := make([]insertDoc, len(a))
	for i, e := range a {
		switch x := e.(type) {
		case bson.Raw:
			if id, ok := storedID(x); ok {
				out[i].raw, out[i].id = x, id
				continue
			}
			d, err := bsonutil.Decode(x)
			if err != nil {
				return nil, mongoerr.Newf(mongoerr.InvalidBSON, "invalid document in sequence %q: %v", field, err)
			}
			out[i].d = d
		case bson.D:
			out[i].d = x
		default:
			return nil, docTypeErr(req, field, i, e)
		}
	}
	return out, nil
}
