package query

import (
	"fmt"
	"math"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/collation"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// isNullValue reports whether v is null or missing; undefined is not null
// for matching purposes (MongoDB 6.0+).
func isNullValue(v any) bool {
	switch v.(type) {
	case nil, bson.Null:
		return true
	}
	return bsonutil.IsMissing(v)
}

func checkComparable(v any) error {
	if _, ok := v.(bson.Undefined); ok {
		return badValue("cannot compare to undefined")
	}
	return nil
}

// valueEquals reports whether a document value v equals the query value
// rhs under MongoDB's equality (same canonical type, equal value; null
// matches null and missing), comparing strings under coll.
func valueEquals(coll *collation.Collation, v, rhs any) bool {
	if isNullValue(rhs) {
		return isNullValue(v)
	}
	if bsonutil.IsMissing(v) {
		return false
	}
	if _, ok := v.(bson.Undefined); ok {
		return false
	}
	if bsonutil.Rank(v) != bsonutil.Rank(rhs) {
		return false
	}
	return collation.Compare(coll, v, rhs) == 0
}

// EqualCollated reports whether a and b are equal under MongoDB's value
// equality with strings compared under c (nil: binary), as distinct and
// $group keys need. Unlike query equality, null and missing are equal
// only to null and missing.
func EqualCollated(c *collation.Collation, a, b any) bool {
	return collation.Compare(c, a, b) == 0
}

// eqTest is implicit equality ({a: v}); a regex value there is a regex
// match and is handled by the caller.
func eqTest(coll *collation.Collation, rhs any) (fieldTest, error) { return eqExactTest(coll, rhs) }

// eqExactTest is $eq: a regex operand matches only an equal regex value.
func eqExactTest(coll *collation.Collation, rhs any) (fieldTest, error) {
	if err := checkComparable(rhs); err != nil {
		return nil, err
	}
	if !collation.HasStrings(rhs) {
		coll = nil // the collation cannot matter
	}
	return &leafTest{mode: modeMatch, pred: func(v any, _ *matchState) bool { return valueEquals(coll, v, rhs) }}, nil
}

// compareOp evaluates one of $gt/$gte/$lt/$lte with type bracketing.
func compareOp(coll *collation.Collation, op string, v, rhs any) bool {
	if bsonutil.IsMissing(v) {
		if isNullValue(rhs) {
			return op == "$gte" || op == "$lte"
		}
		return false
	}
	if _, ok := v.(bson.Undefined); ok {
		return false
	}
	rv, rr := bsonutil.Rank(v), bsonutil.Rank(rhs)
	if rv != rr {
		switch rhs.(type) {
		case bson.MinKey:
			return op == "$gt" || op == "$gte"
		case bson.MaxKey:
			return op == "$lt" || op == "$lte"
		}
		return false
	}
	if rr == bsonutil.RankNumber && (bsonutil.IsNaN(v) || bsonutil.IsNaN(rhs)) {
		both := bsonutil.IsNaN(v) && bsonutil.IsNaN(rhs)
		return both && (op == "$gte" || op == "$lte")
	}
	c := collation.Compare(coll, v, rhs)
	switch op {
	case "$gt":
		return c > 0
	case "$gte":
		return c >= 0
	case "$lt":
		return c < 0
	default:
		return c <= 0
	}
}

func cmpTest(coll *collation.Collation, op string, rhs any) (fieldTest, error) {
	if err := checkComparable(rhs); err != nil {
		return nil, err
	}
	if !collation.HasStrings(rhs) {
		coll = nil // the collation cannot matter
	}
	return &leafTest{mode: modeMatch, pred: func(v any, _ *matchState) bool { return compareOp(coll, op, v, rhs) }}, nil
}

func inTest(coll *collation.Collation, op string, arg any) (fieldTest, error) {
	arr, ok := asArray(arg)
	if !ok {
		return nil, badValue("%s needs an array", op)
	}
	var eqs []any
	var res []*compiledRegex
	hasNull := false
	for _, a := range arr {
		if _, ok := isOperatorDoc(a); ok {
			return nil, badValue("cannot nest $ under %s", op)
		}
		if err := checkComparable(a); err != nil {
			return nil, err
		}
		if re, ok := a.(bson.Regex); ok {
			c, err := compileRegex(re.Pattern, re.Options)
			if err != nil {
				return nil, err
			}
			res = append(res, c)
			continue
		}
		if isNullValue(a) {
			hasNull = true
			continue
		}
		eqs = append(eqs, a)
	}
	return &leafTest{mode: modeMatch, pred: func(v any, _ *matchState) bool {
		if hasNull && isNullValue(v) {
			return true
		}
		for _, e := range eqs {
			if valueEquals(coll, v, e) {
				return true
			}
		}
		for _, re := range res {
			if re.matchValue(v) {
				return true
			}
		}
		return false
	}}, nil
}

func existsTest() fieldTest {
	return &leafTest{mode: modeMatch, pred: func(v any, _ *matchState) bool { return !bsonutil.IsMissing(v) }}
}

var validTypeCodes = map[int]bool{-1: true, 127: true}

func init() {
	for i := 1; i <= 19; i++ {
		validTypeCodes[i] = true
	}
}

// parseTypeSpec turns one $type operand into a type number (-2 = number).
func parseTypeSpec(v any) (int, error) {
	if s, ok := v.(string); ok {
		n, ok := bsonutil.TypeAliases[s]
		if !ok {
			return 0, badValue("Unknown type name alias: %s", s)
		}
		return n, nil
	}
	if bsonutil.IsNumber(v) {
		n, ok := bsonutil.ToInt64(v)
		if !ok || !validTypeCodes[int(n)] {
			return 0, badValue("Invalid numerical type code: %s", fmtValue(v))
		}
		return int(n), nil
	}
	return 0, mongoerr.New(mongoerr.TypeMismatch, "type must be represented as a number or a string")
}

func typeTest(arg any) (fieldTest, error) {
	var types []int
	if arr, ok := asArray(arg); ok {
		for _, a := range arr {
			n, err := parseTypeSpec(a)
			if err != nil {
				return nil, err
			}
			types = append(types, n)
		}
	} else {
		n, err := parseTypeSpec(arg)
		if err != nil {
			return nil, err
		}
		types = []int{n}
	}
	return &leafTest{mode: modeMatch, pred: func(v any, _ *matchState) bool {
		if bsonutil.IsMissing(v) {
			return false
		}
		tn := bsonutil.TypeNumber(v)
		for _, t := range types {
			if t == tn || (t == -2 && bsonutil.IsNumber(v)) {
				return true
			}
		}
		return false
	}}, nil
}

func sizeTest(arg any) (fieldTest, error) {
	if !bsonutil.IsNumber(arg) {
		return nil, badValue("$size needs a number")
	}
	f, _ := bsonutil.ToFloat64(arg)
	if f < 0 {
		return nil, badValue("$size may not be negative")
	}
	n, ok := bsonutil.ToInt64(arg)
	if !ok {
		// A non-integral size can never match (MongoDB behaves the same).
		n = -1
	}
	return &leafTest{mode: modeArray, pred: func(v any, _ *matchState) bool {
		arr, ok := asArray(v)
		return ok && int64(len(arr)) == n
	}}, nil
}

// modOperand converts a $mod divisor or remainder to int64, truncating
// doubles toward zero.
func modOperand(v any, what string) (int64, error) {
	if !bsonutil.IsNumber(v) {
		return 0, badValue("malformed mod, %s not a number", what)
	}
	f, _ := bsonutil.ToFloat64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
		return 0, badValue("malformed mod, %s value is invalid :: caused by :: Unable to coerce NaN/Inf to integral type", what)
	}
	if n, ok := bsonutil.ToInt64(v); ok {
		return n, nil
	}
	return int64(math.Trunc(f)), nil
}

func modTest(arg any) (fieldTest, error) {
	arr, ok := asArray(arg)
	if !ok {
		return nil, badValue("malformed mod, needs to be an array")
	}
	if len(arr) < 2 {
		return nil, badValue("malformed mod, not enough elements")
	}
	if len(arr) > 2 {
		return nil, badValue("malformed mod, too many elements")
	}
	d, err := modOperand(arr[0], "divisor")
	if err != nil {
		return nil, err
	}
	r, err := modOperand(arr[1], "remainder")
	if err != nil {
		return nil, err
	}
	if d == 0 {
		return nil, badValue("divisor cannot be 0")
	}
	return &leafTest{mode: modeMatch, pred: func(v any, _ *matchState) bool {
		if !bsonutil.IsNumber(v) {
			return false
		}
		var x int64
		if n, ok := bsonutil.ToInt64(v); ok {
			x = n
		} else {
			f, _ := bsonutil.ToFloat64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
				return false
			}
			x = int64(math.Trunc(f))
		}
		return x%d == r
	}}, nil
}

// ---- bitwise operators ----

func bitsTest(op string, arg any) (fieldTest, error) {
	var positions []int
	switch x := arg.(type) {
	case bson.Binary:
		for i, b := range x.Data {
			for j := 0; j < 8; j++ {
				if b&(1<<j) != 0 {
					positions = append(positions, i*8+j)
				}
			}
		}
	case bson.A, []any:
		arr, _ := asArray(x)
		for _, a := range arr {
			if !bsonutil.IsNumber(a) {
				return nil, badValue("bit positions must be an integer but got: %s", fmtValue(a))
			}
			n, ok := bsonutil.ToInt64(a)
			if !ok {
				return nil, badValue("bit positions must be an integer but got: %s", fmtValue(a))
			}
			if n < 0 {
				return nil, badValue("bit positions must be >= 0 but got: %s", fmtValue(a))
			}
			if n > math.MaxInt32 {
				return nil, badValue("bit positions cannot be represented as a 32-bit signed integer: %s", fmtValue(a))
			}
			positions = append(positions, int(n))
		}
	default:
		if !bsonutil.IsNumber(arg) {
			return nil, badValue("%s takes an Array, a number, or a BinData but received: %s", op, fmtValue(arg))
		}
		n, ok := bsonutil.ToInt64(arg)
		if !ok {
			return nil, badValue("%s cannot represent value as a 64-bit integer: %s", op, fmtValue(arg))
		}
		if n < 0 {
			return nil, badValue("%s cannot take a negative number: %s", op, fmtValue(arg))
		}
		for i := 0; i < 63; i++ {
			if n&(1<<i) != 0 {
				positions = append(positions, i)
			}
		}
	}
	return &leafTest{mode: modeMatch, pred: func(v any, _ *matchState) bool {
		var bit func(p int) bool
		switch x := v.(type) {
		case bson.Binary:
			data := x.Data
			bit = func(p int) bool { return p/8 < len(data) && data[p/8]&(1<<(p%8)) != 0 }
		default:
			if !bsonutil.IsNumber(v) {
				return false
			}
			n, ok := bsonutil.ToInt64(v)
			if !ok {
				return false
			}
			bit = func(p int) bool {
				if p >= 64 {
					return n < 0
				}
				return uint64(n)&(1<<p) != 0
			}
		}
		switch op {
		case "$bitsAllSet":
			for _, p := range positions {
				if !bit(p) {
					return false
				}
			}
			return true
		case "$bitsAnySet":
			for _, p := range positions {
				if bit(p) {
					return true
				}
			}
			return false
		case "$bitsAllClear":
			for _, p := range positions {
				if bit(p) {
					return false
				}
			}
			return true
		default: // $bitsAnyClear
			for _, p := range positions {
				if !bit(p) {
					return true
				}
			}
			return false
		}
	}}, nil
}

// fmtValue renders a value for error messages.
func fmtValue(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) && math.Abs(x) < 1e15 {
			return fmt.Sprintf("%.1f", x)
		}
		return fmt.Sprint(x)
	case bson.D, bson.A:
		if b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: x}}, false, false); err == nil {
			s := string(b)
			return s[len(`{"v":`) : len(s)-1]
		}
	}
	return fmt.Sprint(v)
}
