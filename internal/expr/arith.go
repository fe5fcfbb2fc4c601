package expr

import (
	"math"
	"math/big"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// numeric kinds, in widening order.
const (
	kNone = iota
	kInt
	kLong
	kDouble
	kDecimal
)

func numKind(v any) int {
	switch v.(type) {
	case int32:
		return kInt
	case int64, int:
		return kLong
	case float64:
		return kDouble
	case bson.Decimal128:
		return kDecimal
	}
	return kNone
}

func asInt64(v any) int64 {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	return 0
}

func asFloat(v any) float64 {
	f, _ := bsonutil.ToFloat64(v)
	return f
}

// intResult returns i as int32 if wantInt32 and it fits, else int64.
func intResult(i int64, wantInt32 bool) any {
	if wantInt32 && i >= math.MinInt32 && i <= math.MaxInt32 {
		return int32(i)
	}
	return i
}

// addNumbers adds two BSON numbers with MongoDB's widening rules.
func addNumbers(a, b any) any {
	ka, kb := numKind(a), numKind(b)
	k := max(ka, kb)
	switch k {
	case kDecimal:
		return decAdd(toDec(a), toDec(b)).to128()
	case kDouble:
		return asFloat(a) + asFloat(b)
	}
	x, y := asInt64(a), asInt64(b)
	s := x + y
	if (s > x) != (y > 0) {
		return float64(x) + float64(y)
	}
	return intResult(s, k == kInt)
}

func subNumbers(a, b any) any {
	ka, kb := numKind(a), numKind(b)
	k := max(ka, kb)
	switch k {
	case kDecimal:
		return decSub(toDec(a), toDec(b)).to128()
	case kDouble:
		return asFloat(a) - asFloat(b)
	}
	x, y := asInt64(a), asInt64(b)
	s := x - y
	if (s < x) != (y > 0) {
		return float64(x) - float64(y)
	}
	return intResult(s, k == kInt)
}

func mulNumbers(a, b any) any {
	ka, kb := numKind(a), numKind(b)
	k := max(ka, kb)
	switch k {
	case kDecimal:
		return decMul(toDec(a), toDec(b)).to128()
	case kDouble:
		return asFloat(a) * asFloat(b)
	}
	x, y := asInt64(a), asInt64(b)
	p := new(big.Int).Mul(big.NewInt(x), big.NewInt(y))
	if !p.IsInt64() {
		return float64(x) * float64(y)
	}
	return intResult(p.Int64(), k == kInt)
}

// Add adds two values with MongoDB's $add semantics: numbers widen
// int32 -> int64 -> double (on overflow, or when a double is involved) and
// any decimal makes the result a decimal; a date plus a number is a date;
// null or missing operands give null.
func Add(a, b any) (any, error) {
	if nullish(a) || nullish(b) {
		return nil, nil
	}
	da, aDate := a.(bson.DateTime)
	db, bDate := b.(bson.DateTime)
	switch {
	case aDate && bDate:
		return nil, mongoerr.New(16612, "only one date allowed in an $add expression")
	case aDate && bsonutil.IsNumber(b):
		return addToDate(da, b)
	case bDate && bsonutil.IsNumber(a):
		return addToDate(db, a)
	case bsonutil.IsNumber(a) && bsonutil.IsNumber(b):
		return addNumbers(a, b), nil
	}
	bad := a
	if bsonutil.IsNumber(a) || aDate {
		bad = b
	}
	return nil, mongoerr.Newf(16554, "$add only supports numeric or date types, not %s", typeName(bad))
}

func addToDate(d bson.DateTime, n any) (any, error) {
	var ms int64
	switch x := n.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 9.2e18 {
			return nil, mongoerr.New(mongoerr.Overflow, "date overflow in $add")
		}
		ms = int64(math.Round(x))
	case bson.Decimal128:
		q := decQuantize(toDec(x), 0, 'e')
		if q.kind != decFinite || !q.signed().IsInt64() {
			return nil, mongoerr.New(mongoerr.Overflow, "date overflow in $add")
		}
		ms = q.signed().Int64()
	default:
		ms = asInt64(x)
	}
	s := int64(d) + ms
	if (s > int64(d)) != (ms > 0) && ms != 0 {
		return nil, mongoerr.New(mongoerr.Overflow, "date overflow in $add")
	}
	return bson.DateTime(s), nil
}

// Divide divides a by b with MongoDB's $divide semantics: the result is a
// double unless a decimal is involved; null or missing gives null.
func Divide(a, b any) (any, error) {
	if nullish(a) || nullish(b) {
		return nil, nil
	}
	if !bsonutil.IsNumber(a) || !bsonutil.IsNumber(b) {
		return nil, mongoerr.Newf(16609, "$divide only supports numeric types, not %s and %s", typeName(a), typeName(b))
	}
	if max(numKind(a), numKind(b)) == kDecimal {
		db := toDec(b)
		if db.isZero() {
			return nil, mongoerr.New(mongoerr.BadValue, "can't $divide by zero")
		}
		return decDiv(toDec(a), db).to128(), nil
	}
	fb := asFloat(b)
	if fb == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "can't $divide by zero")
	}
	return asFloat(a) / fb, nil
}

// Subtract implements $subtract for two values.
func Subtract(a, b any) (any, error) {
	if nullish(a) || nullish(b) {
		return nil, nil
	}
	da, aDate := a.(bson.DateTime)
	db, bDate := b.(bson.DateTime)
	switch {
	case bsonutil.IsNumber(a) && bsonutil.IsNumber(b):
		return subNumbers(a, b), nil
	case aDate && bDate:
		return int64(da) - int64(db), nil
	case aDate && bsonutil.IsNumber(b):
		neg := negate(b)
		return addToDate(da, neg)
	case bDate:
		return nil, mongoerr.Newf(16556, "cant $subtract a %s from a %s", typeName(b), typeName(a))
	}
	return nil, mongoerr.Newf(16556, "cant $subtract a %s from a %s", typeName(b), typeName(a))
}

func negate(v any) any {
	switch x := v.(type) {
	case int32:
		if x == math.MinInt32 {
			return -int64(x)
		}
		return -x
	case int64:
		if x == math.MinInt64 {
			return -float64(x)
		}
		return -x
	case float64:
		return -x
	case bson.Decimal128:
		return decNeg(toDec(x)).to128()
	}
	return v
}

// Multiply implements $multiply for two values.
func Multiply(a, b any) (any, error) {
	if nullish(a) || nullish(b) {
		return nil, nil
	}
	if !bsonutil.IsNumber(a) {
		return nil, mongoerr.Newf(16555, "$multiply only supports numeric types, not %s", typeName(a))
	}
	if !bsonutil.IsNumber(b) {
		return nil, mongoerr.Newf(16555, "$multiply only supports numeric types, not %s", typeName(b))
	}
	return mulNumbers(a, b), nil
}

func evalAdd(_ string, vals []any) (any, error) {
	var sum any = int32(0)
	var date *bson.DateTime
	sawNull := false
	for _, v := range vals {
		switch x := v.(type) {
		case bson.DateTime:
			if date != nil {
				return nil, mongoerr.New(16612, "only one date allowed in an $add expression")
			}
			date = &x
		default:
			if nullish(v) {
				sawNull = true
				continue
			}
			if !bsonutil.IsNumber(v) {
				return nil, mongoerr.Newf(16554, "$add only supports numeric or date types, not %s", typeName(v))
			}
			sum = addNumbers(sum, v)
		}
	}
	if sawNull {
		return nil, nil
	}
	if date != nil {
		return addToDate(*date, sum)
	}
	return sum, nil
}

func evalMultiply(_ string, vals []any) (any, error) {
	var prod any = int32(1)
	sawNull := false
	for _, v := range vals {
		if nullish(v) {
			sawNull = true
			continue
		}
		if !bsonutil.IsNumber(v) {
			return nil, mongoerr.Newf(16555, "$multiply only supports numeric types, not %s", typeName(v))
		}
		prod = mulNumbers(prod, v)
	}
	if sawNull {
		return nil, nil
	}
	return prod, nil
}

func evalMod(_ string, vals []any) (any, error) {
	a, b := vals[0], vals[1]
	if nullish(a) || nullish(b) {
		return nil, nil
	}
	if !bsonutil.IsNumber(a) || !bsonutil.IsNumber(b) {
		return nil, mongoerr.Newf(16611, "$mod only supports numeric types, not %s and %s", typeName(a), typeName(b))
	}
	k := max(numKind(a), numKind(b))
	switch k {
	case kDecimal:
		da, db := toDec(a), toDec(b)
		if db.isZero() {
			return nil, mongoerr.New(16610, "can't $mod by zero")
		}
		q := decQuantize(decDiv(da, db), 0, 't')
		return decSub(da, decMul(q, db)).to128(), nil
	case kDouble:
		fb := asFloat(b)
		if fb == 0 {
			return nil, mongoerr.New(16610, "can't $mod by zero")
		}
		return math.Mod(asFloat(a), fb), nil
	}
	x, y := asInt64(a), asInt64(b)
	if y == 0 {
		return nil, mongoerr.New(16610, "can't $mod by zero")
	}
	if y == -1 {
		return intResult(0, k == kInt), nil
	}
	return intResult(x%y, k == kInt), nil
}

// numArg validates a single numeric argument of a math operator: it
// returns (value, isNull, error).
func numArg(name string, v any) (any, bool, error) {
	if nullish(v) {
		return nil, true, nil
	}
	if !bsonutil.IsNumber(v) {
		return nil, false, mongoerr.Newf(28765, "%s only supports numeric types, not %s", name, typeName(v))
	}
	return v, false, nil
}

func evalAbs(name string, vals []any) (any, error) {
	v, null, err := numArg(name, vals[0])
	if err != nil || null {
		return nil, err
	}
	switch x := v.(type) {
	case int32:
		if x == math.MinInt32 {
			return -int64(x), nil
		}
		if x < 0 {
			return -x, nil
		}
		return x, nil
	case int64:
		if x == math.MinInt64 {
			return nil, mongoerr.New(28680, "can't take $abs of long long min")
		}
		if x < 0 {
			return -x, nil
		}
		return x, nil
	case float64:
		return math.Abs(x), nil
	case bson.Decimal128:
		d := toDec(x)
		switch d.kind {
		case decNegInf:
			d.kind = decPosInf
		case decFinite:
			d.neg = false
		}
		return d.to128(), nil
	}
	return v, nil
}

func ceilFloor(mode byte) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		v, null, err := numArg(name, vals[0])
		if err != nil || null {
			return nil, err
		}
		switch x := v.(type) {
		case float64:
			if mode == 'c' {
				return math.Ceil(x), nil
			}
			return math.Floor(x), nil
		case bson.Decimal128:
			return decQuantize(toDec(x), 0, mode).to128(), nil
		}
		return v, nil
	}
}

// roundTrunc implements $round (mode 'e') and $trunc (mode 't').
func roundTrunc(mode byte) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		places := int64(0)
		if len(vals) > 1 {
			p := vals[1]
			if nullish(p) {
				return nil, nil
			}
			n, ok := bsonutil.ToInt64(p)
			if !bsonutil.IsNumber(p) {
				return nil, mongoerr.Newf(51081, "%s requires \"place\" argument to be an integer between -20 and 100, but got %s", name, bsonutil.Format(p))
			}
			if !ok || n < -20 || n > 100 {
				return nil, mongoerr.Newf(51083, "%s requires \"place\" to be an integer between -20 and 100, but got %s", name, bsonutil.Format(p))
			}
			places = n
		}
		v, null, err := numArg(name, vals[0])
		if err != nil || null {
			return nil, err
		}
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return x, nil
			}
			return decQuantize(decFromFloat(x), int(places), mode).float(), nil
		case bson.Decimal128:
			return decQuantize(toDec(x), int(places), mode).to128(), nil
		case int32, int64:
			if places >= 0 {
				return v, nil
			}
			q := decQuantize(toDec(v), int(places), mode)
			r := q.signed()
			if !r.IsInt64() {
				return nil, mongoerr.Newf(51080, "invalid conversion from Decimal128 result in %s resulting from arguments: [%s, %d]", name, bsonutil.Format(v), places)
			}
			if _, ok := v.(int32); ok {
				if r.Int64() >= math.MinInt32 && r.Int64() <= math.MaxInt32 {
					return int32(r.Int64()), nil
				}
			}
			return r.Int64(), nil
		}
		return v, nil
	}
}

// floatFn implements a unary function computed in float64; decimals are
// converted and the result converted back.
func floatFn(name string, v any, f func(float64) float64) any {
	if d, ok := v.(bson.Decimal128); ok {
		return decFromFloatShort(f(toDec(d).float())).to128()
	}
	return f(asFloat(v))
}

func evalSqrt(name string, vals []any) (any, error) {
	v, null, err := numArg(name, vals[0])
	if err != nil || null {
		return nil, err
	}
	if f := asFloat(v); f < 0 {
		return nil, mongoerr.New(28714, "$sqrt's argument must be greater than or equal to 0")
	}
	return floatFn(name, v, math.Sqrt), nil
}

func evalExp(name string, vals []any) (any, error) {
	v, null, err := numArg(name, vals[0])
	if err != nil || null {
		return nil, err
	}
	return floatFn(name, v, math.Exp), nil
}

func evalLn(name string, vals []any) (any, error) {
	v, null, err := numArg(name, vals[0])
	if err != nil || null {
		return nil, err
	}
	if f := asFloat(v); !(f > 0) && !math.IsNaN(f) {
		return nil, mongoerr.Newf(28766, "$ln's argument must be a positive number, but is %s", bsonutil.Format(v))
	}
	return floatFn(name, v, math.Log), nil
}

func evalLog10(name string, vals []any) (any, error) {
	v, null, err := numArg(name, vals[0])
	if err != nil || null {
		return nil, err
	}
	if f := asFloat(v); !(f > 0) && !math.IsNaN(f) {
		return nil, mongoerr.Newf(28761, "$log10's argument must be a positive number, but is %s", bsonutil.Format(v))
	}
	return floatFn(name, v, math.Log10), nil
}

func evalLog(name string, vals []any) (any, error) {
	a, b := vals[0], vals[1]
	if nullish(a) || nullish(b) {
		return nil, nil
	}
	if !bsonutil.IsNumber(a) {
		return nil, mongoerr.Newf(28756, "$log's argument must be numeric, not %s", typeName(a))
	}
	if !bsonutil.IsNumber(b) {
		return nil, mongoerr.Newf(28757, "$log's base must be numeric, not %s", typeName(b))
	}
	fa, fb := asFloat(a), asFloat(b)
	if !(fa > 0) && !math.IsNaN(fa) {
		return nil, mongoerr.Newf(28758, "$log's argument must be a positive number, but is %s", bsonutil.Format(a))
	}
	if (!(fb > 0) || fb == 1) && !math.IsNaN(fb) {
		return nil, mongoerr.Newf(28759, "$log's base must be a positive number not equal to 1, but is %s", bsonutil.Format(b))
	}
	r := math.Log(fa) / math.Log(fb)
	if numKind(a) == kDecimal || numKind(b) == kDecimal {
		return decFromFloatShort(r).to128(), nil
	}
	return r, nil
}

func evalPow(name string, vals []any) (any, error) {
	a, b := vals[0], vals[1]
	if nullish(a) || nullish(b) {
		return nil, nil
	}
	if !bsonutil.IsNumber(a) {
		return nil, mongoerr.Newf(28762, "$pow's base must be numeric, not %s", typeName(a))
	}
	if !bsonutil.IsNumber(b) {
		return nil, mongoerr.Newf(28763, "$pow's exponent must be numeric, not %s", typeName(b))
	}
	fa, fb := asFloat(a), asFloat(b)
	if fa == 0 && fb < 0 {
		return nil, mongoerr.New(28764, "$pow cannot take a base of 0 and a negative exponent")
	}
	k := max(numKind(a), numKind(b))
	switch k {
	case kDecimal:
		da, db := toDec(a), toDec(b)
		if e, ok := bsonutil.ToInt64(b); ok && e >= 0 && e <= 1000 {
			r := decFromInt(1)
			for i := int64(0); i < e; i++ {
				r = decMul(r, da)
			}
			return r.to128(), nil
		}
		return decFromFloatShort(math.Pow(da.float(), db.float())).to128(), nil
	case kDouble:
		return math.Pow(fa, fb), nil
	}
	base, exp := asInt64(a), asInt64(b)
	if exp < 0 {
		switch base {
		case 1:
			return intResult(1, k == kInt), nil
		case -1:
			if exp%2 == 0 {
				return intResult(1, k == kInt), nil
			}
			return intResult(-1, k == kInt), nil
		}
		return math.Pow(fa, fb), nil
	}
	r := new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil)
	if !r.IsInt64() {
		return math.Pow(fa, fb), nil
	}
	return intResult(r.Int64(), k == kInt), nil
}

func init() {
	register("$add", fixed(0, -1, evalAdd))
	register("$multiply", fixed(0, -1, evalMultiply))
	register("$subtract", fixed(2, 2, func(_ string, v []any) (any, error) { return Subtract(v[0], v[1]) }))
	register("$divide", fixed(2, 2, func(_ string, v []any) (any, error) { return Divide(v[0], v[1]) }))
	register("$mod", fixed(2, 2, evalMod))
	register("$abs", fixed(1, 1, evalAbs))
	register("$ceil", fixed(1, 1, ceilFloor('c')))
	register("$floor", fixed(1, 1, ceilFloor('f')))
	register("$round", fixed(1, 2, roundTrunc('e')))
	register("$trunc", fixed(1, 2, roundTrunc('t')))
	register("$sqrt", fixed(1, 1, evalSqrt))
	register("$exp", fixed(1, 1, evalExp))
	register("$ln", fixed(1, 1, evalLn))
	register("$log10", fixed(1, 1, evalLog10))
	register("$log", fixed(2, 2, evalLog))
	register("$pow", fixed(2, 2, evalPow))
}
