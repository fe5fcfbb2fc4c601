package bsonutil

import (
	"bytes"
	"math"
	"math/big"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
)

type missingType struct{}

// Missing stands for an absent field. It sorts and compares like null.
var Missing any = missingType{}

// IsMissing reports whether v is Missing.
func IsMissing(v any) bool { _, ok := v.(missingType); return ok }

// Canonical type ranks, in MongoDB's sort order.
const (
	RankMinKey    = 1
	RankNull      = 5 // also undefined and missing
	RankNumber    = 10
	RankString    = 15 // also symbol
	RankObject    = 20
	RankArray     = 25
	RankBinary    = 30
	RankObjectID  = 35
	RankBool      = 40
	RankDate      = 45
	RankTimestamp = 47
	RankRegex     = 50
	RankDBPointer = 55
	RankCode      = 60
	RankCodeScope = 65
	RankMaxKey    = 127
)

// Rank returns v's canonical type rank.
func Rank(v any) int {
	switch v.(type) {
	case bson.MinKey:
		return RankMinKey
	case nil, bson.Null, bson.Undefined, missingType:
		return RankNull
	case int32, int64, float64, bson.Decimal128, int:
		return RankNumber
	case string, bson.Symbol:
		return RankString
	case bson.D, bson.M, bson.Raw:
		return RankObject
	case bson.A, []any:
		return RankArray
	case bson.Binary:
		return RankBinary
	case bson.ObjectID:
		return RankObjectID
	case bool:
		return RankBool
	case bson.DateTime:
		return RankDate
	case bson.Timestamp:
		return RankTimestamp
	case bson.Regex:
		return RankRegex
	case bson.DBPointer:
		return RankDBPointer
	case bson.JavaScript:
		return RankCode
	case bson.CodeWithScope:
		return RankCodeScope
	case bson.MaxKey:
		return RankMaxKey
	}
	return RankNull
}

// IsNumber reports whether v is a BSON number (int32, int64, double, decimal).
func IsNumber(v any) bool {
	switch v.(type) {
	case int32, int64, float64, bson.Decimal128, int:
		return true
	}
	return false
}

// IsBoolOrNumber reports whether v is a boolean or a number, the values
// MongoDB takes for an on/off flag (projection inclusion, write concern
// j and fsync).
func IsBoolOrNumber(v any) bool {
	_, b := v.(bool)
	return b || IsNumber(v)
}

// Compare compares two BSON values in MongoDB's order and returns -1, 0 or 1.
// Values of different canonical types order by type; numbers compare by
// value across their types; documents compare field by field (type rank,
// then name, then value); arrays compare element by element.
func Compare(a, b any) int { return CompareStrings(a, b, cmpString) }

// CompareStrings is Compare with string and symbol values (also inside
// documents and arrays) ordered by strcmp instead of byte order; field
// names stay binary. Collations use it.
func CompareStrings(a, b any, strcmp func(x, y string) int) int {
	ra, rb := Rank(a), Rank(b)
	if ra != rb {
		return cmpInt(ra, rb)
	}
	switch ra {
	case RankMinKey, RankMaxKey, RankNull:
		return 0
	case RankNumber:
		return CompareNumbers(a, b)
	case RankString:
		return strcmp(stringOf(a), stringOf(b))
	case RankObject:
		return compareDocs(ToD(a), ToD(b), strcmp)
	case RankArray:
		return compareArrays(ToA(a), ToA(b), strcmp)
	case RankBinary:
		x, y := a.(bson.Binary), b.(bson.Binary)
		if len(x.Data) != len(y.Data) {
			return cmpInt(len(x.Data), len(y.Data))
		}
		if x.Subtype != y.Subtype {
			return cmpInt(int(x.Subtype), int(y.Subtype))
		}
		return bytes.Compare(x.Data, y.Data)
	case RankObjectID:
		x, y := a.(bson.ObjectID), b.(bson.ObjectID)
		return bytes.Compare(x[:], y[:])
	case RankBool:
		x, y := a.(bool), b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case RankDate:
		return cmpInt64(int64(a.(bson.DateTime)), int64(b.(bson.DateTime)))
	case RankTimestamp:
		x, y := a.(bson.Timestamp), b.(bson.Timestamp)
		if x.T != y.T {
			return cmpUint(x.T, y.T)
		}
		return cmpUint(x.I, y.I)
	case RankRegex:
		x, y := a.(bson.Regex), b.(bson.Regex)
		if c := cmpString(x.Pattern, y.Pattern); c != 0 {
			return c
		}
		return cmpString(x.Options, y.Options)
	case RankDBPointer:
		x, y := a.(bson.DBPointer), b.(bson.DBPointer)
		if len(x.DB) != len(y.DB) {
			return cmpInt(len(x.DB), len(y.DB))
		}
		if c := cmpString(x.DB, y.DB); c != 0 {
			return c
		}
		return bytes.Compare(x.Pointer[:], y.Pointer[:])
	case RankCode:
		return cmpString(string(a.(bson.JavaScript)), string(b.(bson.JavaScript)))
	case RankCodeScope:
		x, y := a.(bson.CodeWithScope), b.(bson.CodeWithScope)
		if c := cmpString(string(x.Code), string(y.Code)); c != 0 {
			return c
		}
		return CompareStrings(x.Scope, y.Scope, strcmp)
	}
	return 0
}

// Equal reports whether Compare(a, b) == 0.
func Equal(a, b any) bool { return Compare(a, b) == 0 }

func stringOf(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case bson.Symbol:
		return string(s)
	}
	return ""
}

// ToD converts a document value (bson.D, bson.M or bson.Raw) to bson.D.
func ToD(v any) bson.D {
	switch d := v.(type) {
	case bson.D:
		return d
	case bson.M:
		out := make(bson.D, 0, len(d))
		for k, v := range d {
			out = append(out, bson.E{Key: k, Value: v})
		}
		return out
	case bson.Raw:
		var out bson.D
		_ = bson.Unmarshal(d, &out)
		return out
	}
	return nil
}

// ToA converts an array value (bson.A or []any) to bson.A.
func ToA(v any) bson.A {
	switch a := v.(type) {
	case bson.A:
		return a
	case []any:
		return bson.A(a)
	}
	return nil
}

func compareDocs(x, y bson.D, strcmp func(x, y string) int) int {
	for i := 0; i < len(x) && i < len(y); i++ {
		if c := cmpInt(Rank(x[i].Value), Rank(y[i].Value)); c != 0 {
			return c
		}
		if c := cmpString(x[i].Key, y[i].Key); c != 0 {
			return c
		}
		if c := CompareStrings(x[i].Value, y[i].Value, strcmp); c != 0 {
			return c
		}
	}
	return cmpInt(len(x), len(y))
}

func compareArrays(x, y bson.A, strcmp func(x, y string) int) int {
	for i := 0; i < len(x) && i < len(y); i++ {
		if c := CompareStrings(x[i], y[i], strcmp); c != 0 {
			return c
		}
	}
	return cmpInt(len(x), len(y))
}

// CompareNumbers compares two numeric values of any BSON numeric type.
// NaN sorts before every other number and equals NaN.
func CompareNumbers(a, b any) int {
	// Fast paths.
	switch x := a.(type) {
	case int32:
		switch y := b.(type) {
		case int32:
			return cmpInt64(int64(x), int64(y))
		case int64:
			return cmpInt64(int64(x), y)
		case float64:
			return cmpIntFloat(int64(x), y)
		}
	case int64:
		switch y := b.(type) {
		case int32:
			return cmpInt64(x, int64(y))
		case int64:
			return cmpInt64(x, y)
		case float64:
			return cmpIntFloat(x, y)
		}
	case int:
		return CompareNumbers(int64(x), b)
	case float64:
		switch y := b.(type) {
		case int32:
			return -cmpIntFloat(int64(y), x)
		case int64:
			return -cmpIntFloat(y, x)
		case float64:
			return cmpFloat(x, y)
		}
	}
	if y, ok := b.(int); ok {
		return CompareNumbers(a, int64(y))
	}
	// Decimal involved.
	na, nb := classify(a), classify(b)
	if na.kind != nb.kind || na.kind != finite {
		return cmpInt(na.kind, nb.kind) // nan < -inf < finite < +inf
	}
	return na.rat.Cmp(nb.rat)
}

const (
	nan = iota
	negInf
	finite
	posInf
)

type numClass struct {
	kind int
	rat  *big.Rat
}

func classify(v any) numClass {
	switch x := v.(type) {
	case int32:
		return numClass{finite, new(big.Rat).SetInt64(int64(x))}
	case int64:
		return numClass{finite, new(big.Rat).SetInt64(x)}
	case int:
		return numClass{finite, new(big.Rat).SetInt64(int64(x))}
	case float64:
		switch {
		case math.IsNaN(x):
			return numClass{kind: nan}
		case math.IsInf(x, 1):
			return numClass{kind: posInf}
		case math.IsInf(x, -1):
			return numClass{kind: negInf}
		}
		r := new(big.Rat)
		r.SetFloat64(x)
		return numClass{finite, r}
	case bson.Decimal128:
		if x.IsNaN() {
			return numClass{kind: nan}
		}
		switch x.IsInf() {
		case 1:
			return numClass{kind: posInf}
		case -1:
			return numClass{kind: negInf}
		}
		bi, exp, err := x.BigInt()
		if err != nil {
			return numClass{kind: nan}
		}
		r := new(big.Rat).SetInt(bi)
		if exp > 0 {
			r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
		} else if exp < 0 {
			r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-exp)), nil)))
		}
		return numClass{finite, r}
	}
	return numClass{kind: nan}
}

func cmpFloat(x, y float64) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return -1
	case yn:
		return 1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cmpIntFloat compares an int64 with a float64 exactly.
func cmpIntFloat(i int64, f float64) int {
	if math.IsNaN(f) {
		return 1
	}
	if f >= 9.223372036854775807e18 {
		return -1
	}
	if f < -9.223372036854775808e18 {
		return 1
	}
	t := math.Trunc(f)
	ti := int64(t)
	if i != ti {
		return cmpInt64(i, ti)
	}
	// Integer parts equal; the fraction decides.
	frac := f - t
	switch {
	case frac > 0:
		return -1
	case frac < 0:
		return 1
	}
	return 0
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpUint(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ArrayIndexKey returns the document key for array index i ("0", "1", ...).
func ArrayIndexKey(i int) string { return strconv.Itoa(i) }
