package bsonutil

import (
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TypeName returns the $type alias of v ("double", "string", "object", ...),
// or "missing" for Missing.
func TypeName(v any) string {
	switch v.(type) {
	case float64:
		return "double"
	case string:
		return "string"
	case bson.D, bson.M, bson.Raw:
		return "object"
	case bson.A, []any:
		return "array"
	case bson.Binary:
		return "binData"
	case bson.Undefined:
		return "undefined"
	case bson.ObjectID:
		return "objectId"
	case bool:
		return "bool"
	case bson.DateTime:
		return "date"
	case nil, bson.Null:
		return "null"
	case bson.Regex:
		return "regex"
	case bson.DBPointer:
		return "dbPointer"
	case bson.JavaScript:
		return "javascript"
	case bson.Symbol:
		return "symbol"
	case bson.CodeWithScope:
		return "javascriptWithScope"
	case int32:
		return "int"
	case bson.Timestamp:
		return "timestamp"
	case int64, int:
		return "long"
	case bson.Decimal128:
		return "decimal"
	case bson.MinKey:
		return "minKey"
	case bson.MaxKey:
		return "maxKey"
	case missingType:
		return "missing"
	}
	return "unknown"
}

// TypeNumber returns v's BSON type number (1 double ... 19 decimal, -1
// minKey, 127 maxKey), or 0 for Missing.
func TypeNumber(v any) int {
	switch v.(type) {
	case float64:
		return 1
	case string:
		return 2
	case bson.D, bson.M, bson.Raw:
		return 3
	case bson.A, []any:
		return 4
	case bson.Binary:
		return 5
	case bson.Undefined:
		return 6
	case bson.ObjectID:
		return 7
	case bool:
		return 8
	case bson.DateTime:
		return 9
	case nil, bson.Null:
		return 10
	case bson.Regex:
		return 11
	case bson.DBPointer:
		return 12
	case bson.JavaScript:
		return 13
	case bson.Symbol:
		return 14
	case bson.CodeWithScope:
		return 15
	case int32:
		return 16
	case bson.Timestamp:
		return 17
	case int64, int:
		return 18
	case bson.Decimal128:
		return 19
	case bson.MinKey:
		return -1
	case bson.MaxKey:
		return 127
	}
	return 0
}

// TypeAliases maps every $type alias to its type number ("number" is -2,
// matching any numeric type).
var TypeAliases = map[string]int{
	"double": 1, "string": 2, "object": 3, "array": 4, "binData": 5,
	"undefined": 6, "objectId": 7, "bool": 8, "date": 9, "null": 10,
	"regex": 11, "dbPointer": 12, "javascript": 13, "symbol": 14,
	"javascriptWithScope": 15, "int": 16, "timestamp": 17, "long": 18,
	"decimal": 19, "minKey": -1, "maxKey": 127, "number": -2,
}

// ToFloat64 converts a numeric value to float64 (ok is false for
// non-numbers).
func ToFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case bson.Decimal128:
		if x.IsNaN() {
			return math.NaN(), true
		}
		switch x.IsInf() {
		case 1:
			return math.Inf(1), true
		case -1:
			return math.Inf(-1), true
		}
		c := classify(x)
		f, _ := c.rat.Float64()
		return f, true
	}
	return 0, false
}

// ToInt64 converts a numeric value to int64 if it holds an integral value
// that fits (ok is false otherwise).
func ToInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x != math.Trunc(x) || x < -9.223372036854775808e18 || x >= 9.223372036854775807e18 {
			return 0, false
		}
		return int64(x), true
	case bson.Decimal128:
		c := classify(x)
		if c.kind != finite || !c.rat.IsInt() || !c.rat.Num().IsInt64() {
			return 0, false
		}
		return c.rat.Num().Int64(), true
	}
	return 0, false
}

// IsTruthy reports whether v is true in MongoDB's expression sense: false,
// null, undefined, missing and numeric zero are false; everything else is
// true.
func IsTruthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case nil, bson.Null, bson.Undefined, missingType:
		return false
	case int32:
		return x != 0
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case bson.Decimal128:
		f, _ := ToFloat64(x)
		return f != 0
	}
	return true
}

// IsNullish reports whether v is null, undefined or Missing.
func IsNullish(v any) bool { return Rank(v) == RankNull && TypeNumber(v) != -1 }

// Get returns the value of the top-level field key in d, or Missing.
func Get(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return Missing
}

// DeepCopy returns a copy of v in which every nested bson.D and bson.A is
// fresh, so that the copy can be mutated without touching v.
func DeepCopy(v any) any {
	switch x := v.(type) {
	case bson.D:
		return CopyD(x)
	case bson.A:
		out := make(bson.A, len(x))
		for i, e := range x {
			out[i] = DeepCopy(e)
		}
		return out
	case []any:
		out := make(bson.A, len(x))
		for i, e := range x {
			out[i] = DeepCopy(e)
		}
		return out
	}
	return v
}

// CopyD returns a deep copy of d.
func CopyD(d bson.D) bson.D {
	if d == nil {
		return nil
	}
	out := make(bson.D, len(d))
	for i, e := range d {
		out[i] = bson.E{Key: e.Key, Value: DeepCopy(e.Value)}
	}
	return out
}

// IsNaN reports whether v is a double or Decimal128 NaN.
func IsNaN(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case bson.Decimal128:
		return x.IsNaN()
	}
	return false
}
