package bsonutil

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Decode converts a BSON document to a bson.D exactly as bson.Unmarshal
// into a bson.D does (nested documents as bson.D, arrays as bson.A, null as
// nil), without reflection. It checks lengths as it goes and returns an
// error (never panics) on malformed input, including strings without
// their NUL terminator and booleans other than 0 and 1, as bson.Unmarshal
// does; it does not validate UTF-8 (neither does Unmarshal). Byte slices in the result
// (binary data) alias raw, so raw must not be modified while the result is
// in use.
func Decode(raw []byte) (bson.D, error) {
	return decodeDoc(bsoncore.Document(raw))
}

func decodeDoc(doc bsoncore.Document) (bson.D, error) {
	length, rem, ok := bsoncore.ReadLength(doc)
	if !ok || int(length) != len(doc) || length < 5 || doc[length-1] != 0 {
		return nil, fmt.Errorf("bsonutil: decode: bad document length")
	}
	rem = rem[:length-4-1]
	out := make(bson.D, 0, 8)
	for len(rem) > 0 {
		elem, r, ok := bsoncore.ReadElement(rem)
		if !ok {
			return nil, fmt.Errorf("bsonutil: decode: malformed element")
		}
		rem = r
		v, err := DecodeValue(elem.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, bson.E{Key: elem.Key(), Value: v})
	}
	return out, nil
}

func decodeArray(arr bsoncore.Document) (bson.A, error) {
	d, err := decodeDoc(arr)
	if err != nil {
		return nil, err
	}
	out := make(bson.A, len(d))
	for i, e := range d {
		out[i] = e.Value
	}
	return out, nil
}

var errMalformed = fmt.Errorf("bsonutil: decode: malformed value")

// DecodeValue converts one BSON value (its type and exactly its bytes) as
// Decode converts the values of a document's elements.
func DecodeValue(v bsoncore.Value) (any, error) {
	switch v.Type {
	case bsoncore.TypeDouble:
		if x, ok := v.DoubleOK(); ok {
			return x, nil
		}
	case bsoncore.TypeString:
		if x, ok := v.StringValueOK(); ok && strTerminated(v.Data) {
			return x, nil
		}
	case bsoncore.TypeEmbeddedDocument:
		if x, ok := v.DocumentOK(); ok {
			return decodeDoc(x)
		}
	case bsoncore.TypeArray:
		if x, ok := v.ArrayOK(); ok {
			return decodeArray(bsoncore.Document(x))
		}
	case bsoncore.TypeBinary:
		if st, data, ok := readBinary(v.Data); ok {
			return bson.Binary{Subtype: st, Data: data}, nil
		}
	case bsoncore.TypeUndefined:
		return bson.Undefined{}, nil
	case bsoncore.TypeObjectID:
		if x, ok := v.ObjectIDOK(); ok {
			return bson.ObjectID(x), nil
		}
	case bsoncore.TypeBoolean:
		if x, ok := v.BooleanOK(); ok && v.Data[0] <= 1 {
			return x, nil
		}
	case bsoncore.TypeDateTime:
		if x, ok := v.DateTimeOK(); ok {
			return bson.DateTime(x), nil
		}
	case bsoncore.TypeNull:
		return nil, nil
	case bsoncore.TypeRegex:
		if p, o, ok := v.RegexOK(); ok {
			return bson.Regex{Pattern: p, Options: o}, nil
		}
	case bsoncore.TypeDBPointer:
		if ns, ptr, ok := v.DBPointerOK(); ok && strTerminated(v.Data) {
			return bson.DBPointer{DB: ns, Pointer: bson.ObjectID(ptr)}, nil
		}
	case bsoncore.TypeJavaScript:
		if x, ok := v.JavaScriptOK(); ok && strTerminated(v.Data) {
			return bson.JavaScript(x), nil
		}
	case bsoncore.TypeSymbol:
		if x, ok := v.SymbolOK(); ok && strTerminated(v.Data) {
			return bson.Symbol(x), nil
		}
	case bsoncore.TypeCodeWithScope:
		// The total length must be exactly its parts' (as Unmarshal and
		// mongod require): no bytes hidden after the scope.
		if code, scope, ok := v.CodeWithScopeOK(); ok && len(v.Data) > 4 && strTerminated(v.Data[4:]) &&
			len(v.Data) == 4+4+len(code)+1+len(scope) {
			sd, err := decodeDoc(scope)
			if err != nil {
				return nil, err
			}
			return bson.CodeWithScope{Code: bson.JavaScript(code), Scope: sd}, nil
		}
	case bsoncore.TypeInt32:
		if x, ok := v.Int32OK(); ok {
			return x, nil
		}
	case bsoncore.TypeTimestamp:
		if t, i, ok := v.TimestampOK(); ok {
			return bson.Timestamp{T: t, I: i}, nil
		}
	case bsoncore.TypeInt64:
		if x, ok := v.Int64OK(); ok {
			return x, nil
		}
	case bsoncore.TypeDecimal128:
		if h, l, ok := v.Decimal128OK(); ok {
			return bson.NewDecimal128(h, l), nil
		}
	case bsoncore.TypeMinKey:
		return bson.MinKey{}, nil
	case bsoncore.TypeMaxKey:
		return bson.MaxKey{}, nil
	default:
		return nil, fmt.Errorf("bsonutil: decode: unknown BSON type 0x%02x", byte(v.Type))
	}
	return nil, errMalformed
}

// readBinary reads a binary value as bson.Unmarshal does. The old binary
// subtype 0x02 carries a second length inside the data; a value too short
// to hold one (outer length 4 or less) is read as plain bytes, and one whose
// inner length disagrees with the outer length is malformed.
func readBinary(b []byte) (byte, []byte, bool) {
	length, rem, ok := bsoncore.ReadLength(b)
	if !ok || length < 0 || len(rem) < 1+int(length) {
		return 0, nil, false
	}
	st, data := rem[0], rem[1:1+int(length)]
	if st == bson.TypeBinaryBinaryOld && length > 4 {
		inner, r, ok := bsoncore.ReadLength(data)
		if !ok || int(inner) != len(r) {
			return 0, nil, false
		}
		data = r
	}
	return st, data, true
}

// strTerminated reports whether b starts with a length-prefixed BSON
// string whose last byte is the NUL terminator the format requires
// (bsoncore's readers take the length on trust).
func strTerminated(b []byte) bool {
	l, rem, ok := bsoncore.ReadLength(b)
	return ok && l >= 1 && int(l) <= len(rem) && rem[l-1] == 0
}
