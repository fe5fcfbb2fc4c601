package aggregate

import (
	"encoding/binary"
	"math"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// appendHashKey appends to b a key that is equal for values that compare
// equal under bsonutil.Compare (numbers of different types with the same
// value, strings and symbols, ...). Different values may share a key (for
// example large integers that round to the same double), so users confirm
// with bsonutil.Compare.
func appendHashKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case int32:
		return appendNumberKey(b, float64(x))
	case float64:
		return appendNumberKey(b, x)
	case string:
		b = append(b, 's')
		b = append(b, x...)
		return append(b, 0)
	case bson.D:
		b = append(b, '{')
		for _, e := range x {
			b = append(b, e.Key...)
			b = append(b, 0)
			b = appendHashKey(b, e.Value)
		}
		return append(b, '}')
	case bson.A:
		b = append(b, '[')
		for _, e := range x {
			b = appendHashKey(b, e)
			b = append(b, ',')
		}
		return append(b, ']')
	case bson.Symbol:
		b = append(b, 's')
		b = append(b, x...)
		return append(b, 0)
	}
	if bsonutil.IsNumber(v) {
		f, _ := bsonutil.ToFloat64(v)
		return appendNumberKey(b, f)
	}
	if bsonutil.IsMissing(v) {
		v = nil
	}
	b = append(b, byte(bsonutil.Rank(v)))
	b = append(b, bsonutil.Format(v)...)
	return append(b, 0)
}

// appendNumberKey appends the key of a number with value f.
func appendNumberKey(b []byte, f float64) []byte {
	if f == 0 {
		f = 0 // -0 == 0
	}
	if math.IsNaN(f) {
		f = math.NaN()
	}
	b = append(b, 'n')
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// keyString returns appendHashKey's key for v as a string.
func keyString(v any) string {
	var buf [16]byte
	return string(appendHashKey(buf[:0], v))
}

// valueSet is a set of values under BSON equality.
type valueSet struct {
	m map[string][]any
}

func newValueSet() *valueSet { return &valueSet{m: map[string][]any{}} }

// add inserts v and reports whether it was new.
func (s *valueSet) add(v any) bool {
	k := keyString(v)
	for _, o := range s.m[k] {
		if bsonutil.Compare(o, v) == 0 {
			return false
		}
	}
	s.m[k] = append(s.m[k], v)
	return true
}
