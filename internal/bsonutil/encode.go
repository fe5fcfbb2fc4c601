package bsonutil

import (
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Marshal encodes d exactly as bson.Marshal does, without reflection for
// the types Cairn's documents are made of (bson.D, bson.A, bson.Raw and
// the BSON scalar types); any other Go value is encoded through
// bson.MarshalValue. Replies full of stored documents (bson.Raw) are
// copied, not re-walked: unlike bson.Marshal, Marshal checks only a
// bson.Raw's length prefix and terminating NUL, not each element.
func Marshal(d bson.D) ([]byte, error) { return AppendDocument(nil, d) }

// docSize estimates d's encoded size, so Marshal allocates once.
func docSize(d bson.D) int {
	n := 5
	for _, e := range d {
		n += len(e.Key) + 2 + valueSize(e.Value)
	}
	return n
}

func valueSize(v any) int {
	switch x := v.(type) {
	case bson.Raw:
		return len(x)
	case string:
		return len(x) + 5
	case bson.D:
		return docSize(x)
	case bson.A:
		n := 5
		for _, e := range x {
			n += 5 + valueSize(e)
		}
		return n
	case bson.Binary:
		return len(x.Data) + 5
	}
	return 16
}

// AppendDocument appends d's encoding to dst, growing dst once to the
// estimated size first.
func AppendDocument(dst []byte, d bson.D) ([]byte, error) {
	return appendDocument(slices.Grow(dst, docSize(d)), d)
}

func appendDocument(dst []byte, d bson.D) ([]byte, error) {
	idx, dst := bsoncore.ReserveLength(dst)
	var err error
	for _, e := range d {
		if dst, err = appendElement(dst, e.Key, e.Value); err != nil {
			return nil, err
		}
	}
	dst = append(dst, 0)
	return bsoncore.UpdateLength(dst, idx, int32(len(dst)-int(idx))), nil
}

func appendArray(dst []byte, a bson.A) ([]byte, error) {
	idx, dst := bsoncore.ReserveLength(dst)
	var err error
	var key [20]byte
	for i, v := range a {
		if dst, err = appendElement(dst, string(itoa(key[:0], i)), v); err != nil {
			return nil, err
		}
	}
	dst = append(dst, 0)
	return bsoncore.UpdateLength(dst, idx, int32(len(dst)-int(idx))), nil
}

func itoa(dst []byte, i int) []byte {
	if i < 10 {
		return append(dst, byte('0'+i))
	}
	var buf [20]byte
	n := len(buf)
	for i > 0 {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
	}
	return append(dst, buf[n:]...)
}

func checkKey(key string) error {
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("bsonutil: encode: key %q contains a NUL byte", key)
	}
	return nil
}

func checkCString(kind, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("bsonutil: encode: %s %q contains a NUL byte", kind, s)
	}
	return nil
}

func appendElement(dst []byte, key string, v any) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return bsoncore.AppendNullElement(dst, key), nil
	case string:
		return bsoncore.AppendStringElement(dst, key, x), nil
	case int32:
		return bsoncore.AppendInt32Element(dst, key, x), nil
	case int64:
		return bsoncore.AppendInt64Element(dst, key, x), nil
	case float64:
		return bsoncore.AppendDoubleElement(dst, key, x), nil
	case bool:
		return bsoncore.AppendBooleanElement(dst, key, x), nil
	case bson.D:
		dst = bsoncore.AppendHeader(dst, bsoncore.TypeEmbeddedDocument, key)
		return appendDocument(dst, x)
	case bson.A:
		dst = bsoncore.AppendHeader(dst, bsoncore.TypeArray, key)
		return appendArray(dst, x)
	case bson.Raw:
		// Only the framing is checked: a bson.Raw here is a stored
		// document or one already parsed from the wire, so walking its
		// elements again (as bson.Marshal does) would find nothing.
		if l, _, ok := bsoncore.ReadLength(x); !ok || int(l) != len(x) || l < 5 || x[len(x)-1] != 0 {
			return nil, fmt.Errorf("bsonutil: encode: field %q: malformed embedded document", key)
		}
		dst = bsoncore.AppendHeader(dst, bsoncore.TypeEmbeddedDocument, key)
		return append(dst, x...), nil
	case bson.ObjectID:
		return bsoncore.AppendObjectIDElement(dst, key, x), nil
	case bson.DateTime:
		return bsoncore.AppendDateTimeElement(dst, key, int64(x)), nil
	case bson.Binary:
		return bsoncore.AppendBinaryElement(dst, key, x.Subtype, x.Data), nil
	case bson.Timestamp:
		return bsoncore.AppendTimestampElement(dst, key, x.T, x.I), nil
	case bson.Decimal128:
		h, l := x.GetBytes()
		return bsoncore.AppendDecimal128Element(dst, key, h, l), nil
	case bson.Regex:
		if err := checkCString("regex pattern", x.Pattern); err != nil {
			return nil, err
		}
		if err := checkCString("regex options", x.Options); err != nil {
			return nil, err
		}
		return bsoncore.AppendRegexElement(dst, key, x.Pattern, sortOptions(x.Options)), nil
	case bson.MinKey:
		return bsoncore.AppendMinKeyElement(dst, key), nil
	case bson.MaxKey:
		return bsoncore.AppendMaxKeyElement(dst, key), nil
	case bson.Undefined:
		return bsoncore.AppendUndefinedElement(dst, key), nil
	case bson.JavaScript:
		return bsoncore.AppendJavaScriptElement(dst, key, string(x)), nil
	case bson.Symbol:
		return bsoncore.AppendSymbolElement(dst, key, string(x)), nil
	}
	t, data, err := bson.MarshalValue(v)
	if err != nil {
		return nil, fmt.Errorf("bsonutil: encode: field %q: %w", key, err)
	}
	dst = bsoncore.AppendHeader(dst, bsoncore.Type(t), key)
	return append(dst, data...), nil
}

// sortOptions orders regex options as the driver's encoder does.
func sortOptions(o string) string {
	if len(o) < 2 {
		return o
	}
	b := []byte(o)
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && b[j] < b[j-1]; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
	return string(b)
}
