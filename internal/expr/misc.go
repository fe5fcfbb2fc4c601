package expr

import (
	"math"
	"math/rand/v2"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ---- set operators ----

// valueSet is a set of BSON values under bsonutil.Compare equality, kept in
// insertion order.
type valueSet struct{ items bson.A }

func (s *valueSet) has(v any) bool {
	for _, e := range s.items {
		if bsonutil.Compare(e, v) == 0 {
			return true
		}
	}
	return false
}

func (s *valueSet) add(v any) {
	if !s.has(v) {
		s.items = append(s.items, v)
	}
}

func setOf(arr bson.A) *valueSet {
	s := &valueSet{items: bson.A{}}
	for _, e := range arr {
		s.add(e)
	}
	return s
}

func setArgs(name string, vals []any, code mongoerr.Code, nullOK bool) ([]bson.A, bool, error) {
	out := make([]bson.A, len(vals))
	for i, v := range vals {
		if nullOK && nullish(v) {
			return nil, true, nil
		}
		a, ok := asArray(v)
		if !ok {
			return nil, false, mongoerr.Newf(code, "All operands of %s must be arrays. One argument is of type: %s", name, typeName(v))
		}
		out[i] = a
	}
	return out, false, nil
}

func evalSetUnion(name string, vals []any) (any, error) {
	arrs, null, err := setArgs(name, vals, 17043, true)
	if err != nil || null {
		return nil, err
	}
	s := &valueSet{items: bson.A{}}
	for _, a := range arrs {
		for _, e := range a {
			s.add(e)
		}
	}
	return s.items, nil
}

func evalSetIntersection(name string, vals []any) (any, error) {
	arrs, null, err := setArgs(name, vals, 17047, true)
	if err != nil || null {
		return nil, err
	}
	if len(arrs) == 0 {
		return bson.A{}, nil
	}
	s := setOf(arrs[0])
	for _, a := range arrs[1:] {
		other := setOf(a)
		next := &valueSet{items: bson.A{}}
		for _, e := range s.items {
			if other.has(e) {
				next.add(e)
			}
		}
		s = next
	}
	return s.items, nil
}

func evalSetDifference(_ string, vals []any) (any, error) {
	if nullish(vals[0]) || nullish(vals[1]) {
		return nil, nil
	}
	a, ok := asArray(vals[0])
	if !ok {
		return nil, mongoerr.Newf(17048, "both operands of $setDifference must be arrays. First argument is of type: %s", typeName(vals[0]))
	}
	b, ok := asArray(vals[1])
	if !ok {
		return nil, mongoerr.Newf(17049, "both operands of $setDifference must be arrays. Second argument is of type: %s", typeName(vals[1]))
	}
	other := setOf(b)
	out := &valueSet{items: bson.A{}}
	for _, e := range a {
		if !other.has(e) {
			out.add(e)
		}
	}
	return out.items, nil
}

func evalSetEquals(name string, vals []any) (any, error) {
	arrs, _, err := setArgs(name, vals, 17044, false)
	if err != nil {
		return nil, err
	}
	first := setOf(arrs[0])
	for _, a := range arrs[1:] {
		s := setOf(a)
		if len(s.items) != len(first.items) {
			return false, nil
		}
		for _, e := range s.items {
			if !first.has(e) {
				return false, nil
			}
		}
	}
	return true, nil
}

func evalSetIsSubset(_ string, vals []any) (any, error) {
	a, ok := asArray(vals[0])
	if !ok {
		return nil, mongoerr.Newf(17046, "both operands of $setIsSubset must be arrays. First argument is of type: %s", typeName(vals[0]))
	}
	b, ok := asArray(vals[1])
	if !ok {
		return nil, mongoerr.Newf(17042, "both operands of $setIsSubset must be arrays. Second argument is of type: %s", typeName(vals[1]))
	}
	other := setOf(b)
	for _, e := range a {
		if !other.has(e) {
			return false, nil
		}
	}
	return true, nil
}

func elementsTrue(wantAny bool) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		arr, ok := asArray(vals[0])
		if !ok {
			code := mongoerr.Code(17040)
			if wantAny {
				code = 17041
			}
			return nil, mongoerr.Newf(code, "%s's argument must be an array, but is %s", name, typeName(vals[0]))
		}
		for _, e := range arr {
			if bsonutil.IsTruthy(e) == wantAny {
				return wantAny, nil
			}
		}
		return !wantAny, nil
	}
}

// ---- object operators ----

func evalMergeObjects(_ string, vals []any) (any, error) {
	out := bson.D{}
	for _, v := range vals {
		if nullish(v) {
			continue
		}
		d, ok := asDoc(v)
		if !ok {
			return nil, mongoerr.Newf(40400, "$mergeObjects requires object inputs, but input %s is of type %s", bsonutil.Format(v), typeName(v))
		}
		for _, e := range d {
			out = setKey(out, e.Key, e.Value)
		}
	}
	return out, nil
}

// setKey sets key in d (in place if present, else appended); a Missing
// value removes the key.
func setKey(d bson.D, key string, v any) bson.D {
	for i := range d {
		if d[i].Key == key {
			if bsonutil.IsMissing(v) {
				return append(d[:i:i], d[i+1:]...)
			}
			d[i].Value = v
			return d
		}
	}
	if bsonutil.IsMissing(v) {
		return d
	}
	return append(d, bson.E{Key: key, Value: v})
}

type fieldOpExpr struct {
	name         string
	field        Expr
	input, value Expr // value nil for $getField; Missing literal for $unsetField
}

func (f fieldOpExpr) Eval(v *Vars) (any, error) {
	fv, err := f.field.Eval(v)
	if err != nil {
		return nil, err
	}
	field, ok := fv.(string)
	if !ok {
		return nil, mongoerr.Newf(3041704, "%s requires 'field' to evaluate to type String, but got %s", f.name, typeName(fv))
	}
	var in any
	if f.input == nil {
		in = v.Current()
	} else if in, err = f.input.Eval(v); err != nil {
		return nil, err
	}
	if f.value == nil { // $getField
		if bsonutil.IsMissing(in) {
			return bsonutil.Missing, nil
		}
		if nullish(in) {
			return nil, nil
		}
		d, ok := asDoc(in)
		if !ok {
			return nil, mongoerr.Newf(3041705, "$getField requires 'input' to evaluate to type Object, but got %s", typeName(in))
		}
		return bsonutil.Get(d, field), nil
	}
	val, err := f.value.Eval(v)
	if err != nil {
		return nil, err
	}
	if nullish(in) {
		return nil, nil
	}
	d, ok := asDoc(in)
	if !ok {
		return nil, mongoerr.Newf(4161105, "%s requires 'input' to evaluate to type Object", f.name)
	}
	return setKey(append(bson.D{}, d...), field, val), nil
}

func parseFieldOp(name string, arg any) (Expr, error) {
	if name == "$getField" {
		if _, ok := asDoc(arg); !ok {
			// Shorthand: {$getField: "name"} reads from $$CURRENT.
			x, err := Parse(arg)
			if err != nil {
				return nil, err
			}
			if _, ok := x.(literal); !ok {
				return nil, mongoerr.New(5654602, "$getField requires 'field' to evaluate to a constant, but got a non-constant argument")
			}
			return fieldOpExpr{name: name, field: x}, nil
		}
	}
	var a map[string]Expr
	var err error
	switch name {
	case "$getField":
		a, err = namedArgs(name, arg, []string{"field"}, []string{"input"})
	case "$setField":
		a, err = namedArgs(name, arg, []string{"field", "input", "value"}, nil)
	default:
		a, err = namedArgs(name, arg, []string{"field", "input"}, nil)
	}
	if err != nil {
		return nil, withCode(err, 3041701)
	}
	lit, ok := a["field"].(literal)
	if !ok {
		// Allow {$literal: "..."} and constant expressions only.
		return nil, mongoerr.Newf(4161106, "%s requires 'field' to evaluate to a constant, but got a non-constant argument", name)
	}
	if _, isStr := lit.v.(string); !isStr {
		return nil, mongoerr.Newf(4161107, "%s requires 'field' to evaluate to type String, but got %s", name, typeName(lit.v))
	}
	e := fieldOpExpr{name: name, field: a["field"], input: a["input"], value: a["value"]}
	if name == "$unsetField" {
		e.value = literal{bsonutil.Missing}
	}
	return e, nil
}

// ---- $sum, $avg, $max, $min, $stdDevPop, $stdDevSamp (expression forms) ----

// statInputs returns the values a stats operator works on: the elements of
// its single array argument, or its arguments.
func statInputs(vals []any) []any {
	if len(vals) == 1 {
		if a, ok := asArray(vals[0]); ok {
			return a
		}
	}
	return vals
}

func evalSum(_ string, vals []any) (any, error) {
	var sum any = int32(0)
	for _, v := range statInputs(vals) {
		if bsonutil.IsNumber(v) {
			sum = addNumbers(sum, v)
		}
	}
	return sum, nil
}

func evalAvg(_ string, vals []any) (any, error) {
	var sum any = int32(0)
	n := 0
	for _, v := range statInputs(vals) {
		if bsonutil.IsNumber(v) {
			sum = addNumbers(sum, v)
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	return Divide(sum, int64(n))
}

func minMax(wantMax bool) func(string, []any) (any, error) {
	return func(_ string, vals []any) (any, error) {
		var best any
		found := false
		for _, v := range statInputs(vals) {
			if nullish(v) {
				continue
			}
			if !found {
				best, found = v, true
				continue
			}
			c := bsonutil.Compare(v, best)
			if (wantMax && c > 0) || (!wantMax && c < 0) {
				best = v
			}
		}
		if !found {
			return nil, nil
		}
		return best, nil
	}
}

func stdDev(sample bool) func(string, []any) (any, error) {
	return func(_ string, vals []any) (any, error) {
		var xs []float64
		for _, v := range statInputs(vals) {
			if bsonutil.IsNumber(v) {
				xs = append(xs, asFloat(v))
			}
		}
		n := float64(len(xs))
		if n == 0 || (sample && n < 2) {
			return nil, nil
		}
		mean := 0.0
		for _, x := range xs {
			mean += x
		}
		mean /= n
		ss := 0.0
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		if sample {
			return math.Sqrt(ss / (n - 1)), nil
		}
		return math.Sqrt(ss / n), nil
	}
}

// ---- trigonometry ----

// trig implements a unary trigonometric operator; valid reports whether
// the (non-NaN) input is in the function's domain, with a description of
// the domain for the error message.
func trig(f func(float64) float64, valid func(float64) bool, domain string) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		v, null, err := numArg(name, vals[0])
		if err != nil || null {
			return nil, err
		}
		x := asFloat(v)
		if !math.IsNaN(x) && valid != nil && !valid(x) {
			return nil, mongoerr.Newf(50989, "cannot apply %s to %s, value must be in %s", name, bsonutil.Format(v), domain)
		}
		return floatFn(name, v, f), nil
	}
}

func finite(x float64) bool { return !math.IsInf(x, 0) }

func evalAtan2(name string, vals []any) (any, error) {
	a, b := vals[0], vals[1]
	if nullish(a) || nullish(b) {
		return nil, nil
	}
	if !bsonutil.IsNumber(a) {
		return nil, mongoerr.Newf(51044, "$atan2 only supports numeric types, not %s", typeName(a))
	}
	if !bsonutil.IsNumber(b) {
		return nil, mongoerr.Newf(51045, "$atan2 only supports numeric types, not %s", typeName(b))
	}
	r := math.Atan2(asFloat(a), asFloat(b))
	if numKind(a) == kDecimal || numKind(b) == kDecimal {
		return decFromFloatShort(r).to128(), nil
	}
	return r, nil
}

// ---- bitwise ----

func bitOp(name string, vals []any) (any, error) {
	var acc int64
	wantLong := false
	switch name {
	case "$bitAnd":
		acc = -1
	}
	for _, v := range vals {
		if nullish(v) {
			return nil, nil
		}
		switch v.(type) {
		case int32:
		case int64:
			wantLong = true
		default:
			return nil, mongoerr.Newf(28765, "%s only supports int and long operands.", name)
		}
		x := asInt64(v)
		switch name {
		case "$bitAnd":
			acc &= x
		case "$bitOr":
			acc |= x
		case "$bitXor":
			acc ^= x
		case "$bitNot":
			acc = ^x
		}
	}
	if wantLong {
		return acc, nil
	}
	return int32(acc), nil
}

// ---- misc ----

func parseRand(_ string, arg any) (Expr, error) {
	if d, ok := asDoc(arg); !ok || len(d) != 0 {
		return nil, mongoerr.New(10065, "invalid parameter: expected an object ($rand)")
	}
	return lazyNode{fn: func(*Vars, []Expr) (any, error) { return rand.Float64(), nil }}, nil
}

func evalBinarySize(_ string, vals []any) (any, error) {
	switch x := vals[0].(type) {
	case string:
		return int32(len(x)), nil
	case bson.Binary:
		return int32(len(x.Data)), nil
	}
	if nullish(vals[0]) {
		return nil, nil
	}
	return nil, mongoerr.Newf(51276, "$binarySize requires a string or BinData argument, found: %s", typeName(vals[0]))
}

func evalBsonSize(_ string, vals []any) (any, error) {
	if nullish(vals[0]) {
		return nil, nil
	}
	d, ok := asDoc(vals[0])
	if !ok {
		return nil, mongoerr.Newf(31393, "$bsonSize requires a document input, found: %s", typeName(vals[0]))
	}
	b, err := bson.Marshal(d)
	if err != nil {
		return nil, mongoerr.Newf(mongoerr.BadValue, "$bsonSize: %v", err)
	}
	return int32(len(b)), nil
}

func tsPart(inc bool) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		if nullish(vals[0]) {
			return nil, nil
		}
		ts, ok := vals[0].(bson.Timestamp)
		if !ok {
			return nil, mongoerr.Newf(5687301, "Argument to %s must be a timestamp, but is %s", name, typeName(vals[0]))
		}
		if inc {
			return int64(ts.I), nil
		}
		return int64(ts.T), nil
	}
}

func init() {
	register("$setUnion", fixed(0, -1, evalSetUnion))
	register("$setIntersection", fixed(0, -1, evalSetIntersection))
	register("$setDifference", fixed(2, 2, evalSetDifference))
	register("$setEquals", fixed(2, -1, evalSetEquals))
	register("$setIsSubset", fixed(2, 2, evalSetIsSubset))
	register("$anyElementTrue", fixed(1, 1, elementsTrue(true)))
	register("$allElementsTrue", fixed(1, 1, elementsTrue(false)))

	register("$mergeObjects", fixed(0, -1, evalMergeObjects))
	register("$getField", parseFieldOp)
	register("$setField", parseFieldOp)
	register("$unsetField", parseFieldOp)

	register("$sum", fixed(0, -1, evalSum))
	register("$avg", fixed(0, -1, evalAvg))
	register("$max", fixed(0, -1, minMax(true)))
	register("$min", fixed(0, -1, minMax(false)))
	register("$stdDevPop", fixed(0, -1, stdDev(false)))
	register("$stdDevSamp", fixed(0, -1, stdDev(true)))

	unit := func(x float64) bool { return x >= -1 && x <= 1 }
	register("$sin", fixed(1, 1, trig(math.Sin, finite, "(-inf,inf)")))
	register("$cos", fixed(1, 1, trig(math.Cos, finite, "(-inf,inf)")))
	register("$tan", fixed(1, 1, trig(math.Tan, finite, "(-inf,inf)")))
	register("$asin", fixed(1, 1, trig(math.Asin, unit, "[-1,1]")))
	register("$acos", fixed(1, 1, trig(math.Acos, unit, "[-1,1]")))
	register("$atan", fixed(1, 1, trig(math.Atan, nil, "")))
	register("$sinh", fixed(1, 1, trig(math.Sinh, nil, "")))
	register("$cosh", fixed(1, 1, trig(math.Cosh, nil, "")))
	register("$tanh", fixed(1, 1, trig(math.Tanh, nil, "")))
	register("$asinh", fixed(1, 1, trig(math.Asinh, nil, "")))
	register("$acosh", fixed(1, 1, trig(math.Acosh, func(x float64) bool { return x >= 1 }, "[1,inf]")))
	register("$atanh", fixed(1, 1, trig(math.Atanh, unit, "[-1,1]")))
	register("$atan2", fixed(2, 2, evalAtan2))
	register("$degreesToRadians", fixed(1, 1, trig(func(x float64) float64 { return x * math.Pi / 180 }, nil, "")))
	register("$radiansToDegrees", fixed(1, 1, trig(func(x float64) float64 { return x * 180 / math.Pi }, nil, "")))

	register("$bitAnd", fixed(0, -1, bitOp))
	register("$bitOr", fixed(0, -1, bitOp))
	register("$bitXor", fixed(0, -1, bitOp))
	register("$bitNot", fixed(1, 1, bitOp))
	register("$rand", parseRand)
	register("$binarySize", fixed(1, 1, evalBinarySize))
	register("$bsonSize", fixed(1, 1, evalBsonSize))
	register("$tsSecond", fixed(1, 1, tsPart(false)))
	register("$tsIncrement", fixed(1, 1, tsPart(true)))
}
