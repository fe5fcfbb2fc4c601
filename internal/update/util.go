package update

import (
	"bytes"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// fmtValue renders v as MongoDB's server messages show BSON values: like
// bsonutil.Format, except that integral doubles keep a ".0" suffix.
func fmtValue(v any) string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

func writeValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case bson.D:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{ ")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.Key)
			b.WriteString(": ")
			writeValue(b, e.Value)
		}
		b.WriteString(" }")
	case bson.A:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[ ")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, e)
		}
		b.WriteString(" ]")
	case float64:
		b.WriteString(fmtDouble(x))
	default:
		b.WriteString(bsonutil.Format(v))
	}
}

func fmtDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan.0"
	case math.IsInf(f, 1):
		return "inf.0"
	case math.IsInf(f, -1):
		return "-inf.0"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// fmtElem renders a field as MongoDB's messages do: "{key: value}".
func fmtElem(key string, v any) string {
	return "{" + key + ": " + fmtValue(v) + "}"
}

// idDesc renders the _id of doc for error messages: "{_id: 1}".
func idDesc(doc bson.D) string {
	id := bsonutil.Get(doc, "_id")
	if bsonutil.IsMissing(id) {
		return "{}"
	}
	return fmtElem("_id", id)
}

// identical reports whether a and b would encode to the same BSON bytes:
// same types, same field order, same values (doubles compared bitwise).
func identical(a, b any) bool {
	switch x := a.(type) {
	case bson.D:
		y, ok := b.(bson.D)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Key != y[i].Key || !identical(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case bson.A:
		y, ok := b.(bson.A)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !identical(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil, bson.Null:
		switch b.(type) {
		case nil, bson.Null:
			return true
		}
		return false
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case bson.Decimal128:
		y, ok := b.(bson.Decimal128)
		if !ok {
			return false
		}
		xh, xl := x.GetBytes()
		yh, yl := y.GetBytes()
		return xh == yh && xl == yl
	case bson.Binary:
		y, ok := b.(bson.Binary)
		return ok && x.Subtype == y.Subtype && bytes.Equal(x.Data, y.Data)
	case string, int32, int64, bool, bson.ObjectID, bson.DateTime, bson.Timestamp,
		bson.Undefined, bson.MinKey, bson.MaxKey, bson.Symbol, bson.JavaScript, bson.Regex:
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

// asArray returns v as an array if it is one.
func asArray(v any) (bson.A, bool) {
	switch a := v.(type) {
	case bson.A:
		return a, true
	case []any:
		return bson.A(a), true
	}
	return nil, false
}

// arrayIndex reports whether a path component is an array offset: decimal
// digits without a leading zero (except "0" itself).
func arrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// isDigits reports whether s is a non-empty string of decimal digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareComponents orders two path components as MongoDB 5.0+ applies
// update paths: numerically when both are numeric, otherwise bytewise.
func compareComponents(a, b string) int {
	if isDigits(a) && isDigits(b) {
		ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(ta) != len(tb) {
			if len(ta) < len(tb) {
				return -1
			}
			return 1
		}
		if c := strings.Compare(ta, tb); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// comparePaths orders paths component by component; a prefix sorts first.
func comparePaths(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := compareComponents(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// getField returns the index of key in d, or -1.
func getField(d bson.D, key string) int {
	for i := range d {
		if d[i].Key == key {
			return i
		}
	}
	return -1
}
