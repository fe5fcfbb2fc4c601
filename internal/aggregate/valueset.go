package aggregate

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// hashKey writes a string that is equal for values that compare equal
// under bsonutil.Compare (numbers of different types with the same value,
// strings and symbols, ...). Different values may share a key (for
// example large integers that round to the same double), so users confirm
// with bsonutil.Compare.
func hashKey(b *strings.Builder, v any) {
	switch x := v.(type) {
	case bson.D:
		b.WriteByte('{')
		for _, e := range x {
			b.WriteString(e.Key)
			b.WriteByte(0)
			hashKey(b, e.Value)
		}
		b.WriteByte('}')
		return
	case bson.A:
		b.WriteByte('[')
		for _, e := range x {
			hashKey(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
		return
	case string:
		b.WriteByte('s')
		b.WriteString(x)
		b.WriteByte(0)
		return
	case bson.Symbol:
		b.WriteByte('s')
		b.WriteString(string(x))
		b.WriteByte(0)
		return
	}
	if bsonutil.IsNumber(v) {
		f, _ := bsonutil.ToFloat64(v)
		if f == 0 {
			f = 0 // -0 == 0
		}
		if math.IsNaN(f) {
			f = math.NaN()
		}
		var buf [9]byte
		buf[0] = 'n'
		binary.LittleEndian.PutUint64(buf[1:], math.Float64bits(f))
		b.Write(buf[:])
		return
	}
	if bsonutil.IsMissing(v) {
		v = nil
	}
	b.WriteByte(byte(bsonutil.Rank(v)))
	b.WriteString(bsonutil.Format(v))
	b.WriteByte(0)
}

func keyString(v any) string {
	var b strings.Builder
	hashKey(&b, v)
	return b.String()
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
