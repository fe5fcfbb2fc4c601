package expr

import (
	"math"
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func evalArrayElemAt(name string, vals []any) (any, error) {
	if nullish(vals[0]) || nullish(vals[1]) {
		return nil, nil
	}
	arr, ok := asArray(vals[0])
	if !ok {
		return nil, mongoerr.Newf(28689, "%s's first argument must be an array, but is %s", name, typeName(vals[0]))
	}
	if !bsonutil.IsNumber(vals[1]) {
		return nil, mongoerr.Newf(28690, "%s's second argument must be a numeric value, but is %s", name, typeName(vals[1]))
	}
	i, ok := bsonutil.ToInt64(vals[1])
	if !ok || i < math.MinInt32 || i > math.MaxInt32 {
		return nil, mongoerr.Newf(28691, "%s's second argument must be representable as a 32-bit integer, but is %s", name, bsonutil.Format(vals[1]))
	}
	return elemAt(arr, i), nil
}

func elemAt(arr bson.A, i int64) any {
	if i < 0 {
		i += int64(len(arr))
	}
	if i < 0 || i >= int64(len(arr)) {
		return bsonutil.Missing
	}
	return arr[i]
}

func firstLast(last bool) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		if nullish(vals[0]) {
			return nil, nil
		}
		arr, ok := asArray(vals[0])
		if !ok {
			return nil, mongoerr.Newf(28689, "%s's argument must be an array, but is %s", name, typeName(vals[0]))
		}
		if last {
			return elemAt(arr, -1), nil
		}
		return elemAt(arr, 0), nil
	}
}

func evalSize(_ string, vals []any) (any, error) {
	arr, ok := asArray(vals[0])
	if !ok {
		return nil, mongoerr.Newf(17124, "The argument to $size must be an array. Type of argument was: %s", typeName(vals[0]))
	}
	return int32(len(arr)), nil
}

func evalConcatArrays(_ string, vals []any) (any, error) {
	out := bson.A{}
	for _, v := range vals {
		if nullish(v) {
			return nil, nil
		}
		arr, ok := asArray(v)
		if !ok {
			return nil, mongoerr.Newf(28664, "$concatArrays only supports arrays, not %s", typeName(v))
		}
		out = append(out, arr...)
	}
	return out, nil
}

func evalIn(_ string, vals []any) (any, error) {
	arr, ok := asArray(vals[1])
	if !ok {
		return nil, mongoerr.Newf(40081, "$in requires an array as a second argument, found: %s", typeName(vals[1]))
	}
	for _, e := range arr {
		if bsonutil.Compare(e, vals[0]) == 0 {
			return true, nil
		}
	}
	return false, nil
}

func evalIndexOfArray(name string, vals []any) (any, error) {
	if nullish(vals[0]) {
		return nil, nil
	}
	arr, ok := asArray(vals[0])
	if !ok {
		return nil, mongoerr.Newf(40090, "$indexOfArray requires an array as a first argument, found: %s", typeName(vals[0]))
	}
	start, end := int64(0), int64(len(arr))
	for i, idx := range vals[2:] {
		n, ok := intArg(idx)
		if !ok {
			return nil, mongoerr.Newf(40096, "%s requires an integral %s index, found a value of type: %s, with value: %s", name, []string{"starting", "ending"}[i], typeName(idx), bsonutil.Format(idx))
		}
		if n < 0 {
			return nil, mongoerr.Newf(40097, "%s requires a nonnegative %s index, found: %d", name, []string{"start", "end"}[i], n)
		}
		if i == 0 {
			start = n
		} else {
			end = min(n, int64(len(arr)))
		}
	}
	for i := start; i < end; i++ {
		if bsonutil.Compare(arr[i], vals[1]) == 0 {
			return int32(i), nil
		}
	}
	return int32(-1), nil
}

func evalSlice(_ string, vals []any) (any, error) {
	for _, v := range vals {
		if nullish(v) {
			return nil, nil
		}
	}
	arr, ok := asArray(vals[0])
	if !ok {
		return nil, mongoerr.Newf(28724, "First argument to $slice must be an array, but is of type: %s", typeName(vals[0]))
	}
	second, ok := intArg(vals[1])
	if !ok {
		return nil, mongoerr.Newf(28725, "Second argument to $slice must be a numeric value, but is of type: %s", typeName(vals[1]))
	}
	n64 := int64(len(arr))
	if len(vals) == 2 {
		if second >= 0 {
			return append(bson.A{}, arr[:min(second, n64)]...), nil
		}
		return append(bson.A{}, arr[max(n64+second, 0):]...), nil
	}
	count, ok := intArg(vals[2])
	if !ok {
		return nil, mongoerr.Newf(28726, "Third argument to $slice must be numeric, but is of type: %s", typeName(vals[2]))
	}
	if count <= 0 {
		return nil, mongoerr.Newf(28729, "Third argument to $slice must be positive: %s", bsonutil.Format(vals[2]))
	}
	start := second
	if start < 0 {
		start = max(n64+start, 0)
	}
	if start >= n64 {
		return bson.A{}, nil
	}
	return append(bson.A{}, arr[start:min(start+count, n64)]...), nil
}

func evalReverseArray(_ string, vals []any) (any, error) {
	if nullish(vals[0]) {
		return nil, nil
	}
	arr, ok := asArray(vals[0])
	if !ok {
		return nil, mongoerr.Newf(34435, "The argument to $reverseArray must be an array, but was of type: %s", typeName(vals[0]))
	}
	out := make(bson.A, len(arr))
	for i, e := range arr {
		out[len(arr)-1-i] = e
	}
	return out, nil
}

func evalRange(_ string, vals []any) (any, error) {
	codes := [][2]mongoerr.Code{{34443, 34444}, {34445, 34446}, {34447, 34448}}
	names := []string{"starting value", "ending value", "step value"}
	nums := []int64{0, 0, 1}
	for i, v := range vals {
		if !bsonutil.IsNumber(v) {
			return nil, mongoerr.Newf(codes[i][0], "$range requires a numeric %s, found value of type: %s", names[i], typeName(v))
		}
		n, ok := bsonutil.ToInt64(v)
		if !ok || n < math.MinInt32 || n > math.MaxInt32 {
			return nil, mongoerr.Newf(codes[i][1], "$range requires a %s that can be represented as a 32-bit integer, found value: %s", names[i], bsonutil.Format(v))
		}
		nums[i] = n
	}
	start, end, step := nums[0], nums[1], nums[2]
	if step == 0 {
		return nil, mongoerr.New(34449, "$range requires a non-zero step value")
	}
	out := bson.A{}
	for i := start; (step > 0 && i < end) || (step < 0 && i > end); i += step {
		if len(out) >= 10_000_000 {
			return nil, mongoerr.New(mongoerr.ExceededMemoryLimit, "$range would use too much memory")
		}
		out = append(out, int32(i))
	}
	return out, nil
}

// ---- $filter, $map, $reduce ----

func parseVarName(op string, v any, code mongoerr.Code) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", mongoerr.Newf(code, "%s 'as' must be a string", op)
	}
	if err := validateVarName(s, false); err != nil {
		return "", err
	}
	return s, nil
}

func parseFilter(name string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(28646, "$filter only supports an object as its argument")
	}
	var input, cond, limit Expr
	as := "this"
	for _, e := range d {
		switch e.Key {
		case "as":
			s, err := parseVarName(name, e.Value, 28649)
			if err != nil {
				return nil, err
			}
			as = s
			continue
		case "input", "cond", "limit":
		default:
			return nil, mongoerr.Newf(28647, "Unrecognized parameter to $filter: %s", e.Key)
		}
		x, err := Parse(e.Value)
		if err != nil {
			return nil, err
		}
		switch e.Key {
		case "input":
			input = x
		case "cond":
			cond = x
		case "limit":
			limit = x
		}
	}
	if input == nil {
		return nil, mongoerr.New(28648, "Missing 'input' parameter to $filter")
	}
	if cond == nil {
		return nil, mongoerr.New(28650, "Missing 'cond' parameter to $filter")
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		in, err := input.Eval(v)
		if err != nil {
			return nil, err
		}
		lim := int64(-1)
		if limit != nil {
			lv, err := limit.Eval(v)
			if err != nil {
				return nil, err
			}
			if !nullish(lv) {
				n, ok := intArg(lv)
				if !ok || n > math.MaxInt32 {
					return nil, mongoerr.Newf(327391, "$filter: limit must be represented as a 32-bit integral value: %s", bsonutil.Format(lv))
				}
				if n < 1 {
					return nil, mongoerr.Newf(327392, "$filter: limit must be greater than 0: %d", n)
				}
				lim = n
			}
		}
		if nullish(in) {
			return nil, nil
		}
		arr, ok := asArray(in)
		if !ok {
			return nil, mongoerr.Newf(28651, "input to $filter must be an array not %s", typeName(in))
		}
		out := bson.A{}
		for _, e := range arr {
			if lim >= 0 && int64(len(out)) >= lim {
				break
			}
			b, err := EvalToBool(cond, v.With(as, e))
			if err != nil {
				return nil, err
			}
			if b {
				out = append(out, e)
			}
		}
		return out, nil
	}}, nil
}

func parseMap(name string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(16878, "$map only supports an object as its argument")
	}
	var input, in Expr
	as := "this"
	for _, e := range d {
		switch e.Key {
		case "as":
			s, err := parseVarName(name, e.Value, 16881)
			if err != nil {
				return nil, err
			}
			as = s
			continue
		case "input", "in":
		default:
			return nil, mongoerr.Newf(16879, "Unrecognized parameter to $map: %s", e.Key)
		}
		x, err := Parse(e.Value)
		if err != nil {
			return nil, err
		}
		if e.Key == "input" {
			input = x
		} else {
			in = x
		}
	}
	if input == nil {
		return nil, mongoerr.New(16880, "Missing 'input' parameter to $map")
	}
	if in == nil {
		return nil, mongoerr.New(16882, "Missing 'in' parameter to $map")
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		iv, err := input.Eval(v)
		if err != nil {
			return nil, err
		}
		if nullish(iv) {
			return nil, nil
		}
		arr, ok := asArray(iv)
		if !ok {
			return nil, mongoerr.Newf(16883, "input to $map must be an array not %s", typeName(iv))
		}
		out := make(bson.A, len(arr))
		for i, e := range arr {
			r, err := in.Eval(v.With(as, e))
			if err != nil {
				return nil, err
			}
			if bsonutil.IsMissing(r) {
				r = nil
			}
			out[i] = r
		}
		return out, nil
	}}, nil
}

func parseReduce(_ string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(40075, "$reduce only supports an object as its argument, found: %s", typeName(arg))
	}
	var input, initial, in Expr
	for _, e := range d {
		x, err := Parse(e.Value)
		if err != nil {
			return nil, err
		}
		switch e.Key {
		case "input":
			input = x
		case "initialValue":
			initial = x
		case "in":
			in = x
		default:
			return nil, mongoerr.Newf(40076, "$reduce found an unknown argument: %s", e.Key)
		}
	}
	switch {
	case input == nil:
		return nil, mongoerr.New(40077, "$reduce requires 'input' to be specified")
	case initial == nil:
		return nil, mongoerr.New(40078, "$reduce requires 'initialValue' to be specified")
	case in == nil:
		return nil, mongoerr.New(40079, "$reduce requires 'in' to be specified")
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		iv, err := input.Eval(v)
		if err != nil {
			return nil, err
		}
		if nullish(iv) {
			return nil, nil
		}
		arr, ok := asArray(iv)
		if !ok {
			return nil, mongoerr.Newf(40080, "$reduce requires that 'input' be an array, found: %s", bsonutil.Format(iv))
		}
		acc, err := initial.Eval(v)
		if err != nil {
			return nil, err
		}
		for _, e := range arr {
			acc, err = in.Eval(v.With("value", acc).With("this", e))
			if err != nil {
				return nil, err
			}
		}
		return acc, nil
	}}, nil
}

// ---- $zip, $sortArray, $arrayToObject, $objectToArray ----

func parseZip(_ string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(34460, "$zip only supports an object as an argument, found %s", typeName(arg))
	}
	var inputs, defaults []Expr
	haveInputs, haveDefaults, longest := false, false, false
	for _, e := range d {
		switch e.Key {
		case "inputs", "defaults":
			arr, ok := asArray(e.Value)
			if !ok {
				return nil, mongoerr.Newf(34461, "%s must be an array of expressions, found %s", e.Key, typeName(e.Value))
			}
			xs, err := parseAll(arr)
			if err != nil {
				return nil, err
			}
			if e.Key == "inputs" {
				inputs, haveInputs = xs, true
			} else {
				defaults, haveDefaults = xs, true
			}
		case "useLongestLength":
			b, ok := e.Value.(bool)
			if !ok {
				return nil, mongoerr.Newf(34463, "useLongestLength must be a bool, found %s", typeName(e.Value))
			}
			longest = b
		default:
			return nil, mongoerr.Newf(34464, "$zip found an unknown argument: %s", e.Key)
		}
	}
	if !haveInputs {
		return nil, mongoerr.New(34465, "$zip requires at least one input array")
	}
	if haveDefaults && !longest {
		return nil, mongoerr.New(34466, "cannot specify defaults unless useLongestLength is true")
	}
	if haveDefaults && len(defaults) != len(inputs) {
		return nil, mongoerr.New(34467, "defaults and inputs must have the same length")
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		arrs := make([]bson.A, len(inputs))
		null := false
		for i, in := range inputs {
			r, err := in.Eval(v)
			if err != nil {
				return nil, err
			}
			if nullish(r) {
				null = true
				continue
			}
			a, ok := asArray(r)
			if !ok {
				return nil, mongoerr.Newf(34468, "$zip found a non-array expression in input: %s", bsonutil.Format(r))
			}
			arrs[i] = a
		}
		if null {
			return nil, nil
		}
		defs := make([]any, len(inputs))
		for i, dx := range defaults {
			r, err := dx.Eval(v)
			if err != nil {
				return nil, err
			}
			defs[i] = r
		}
		n := -1
		for _, a := range arrs {
			if n < 0 || (longest && len(a) > n) || (!longest && len(a) < n) {
				n = len(a)
			}
		}
		out := bson.A{}
		for i := 0; i < n; i++ {
			row := make(bson.A, len(arrs))
			for j, a := range arrs {
				if i < len(a) {
					row[j] = a[i]
				} else {
					row[j] = defs[j]
					if bsonutil.IsMissing(row[j]) {
						row[j] = nil
					}
				}
			}
			out = append(out, row)
		}
		return out, nil
	}}, nil
}

// sortSpec is a $sortArray sortBy: either a direction for whole values or
// a list of field paths with directions.
type sortSpec struct {
	whole  int
	fields [][]string
	dirs   []int
}

func parseSortBy(v any) (sortSpec, error) {
	if n, ok := intArg(v); ok && (n == 1 || n == -1) {
		return sortSpec{whole: int(n)}, nil
	}
	d, ok := asDoc(v)
	if !ok || len(d) == 0 {
		return sortSpec{}, mongoerr.New(2942503, "$sortArray requires sortBy to be 1, -1, or a non-empty sort pattern")
	}
	var s sortSpec
	for _, e := range d {
		n, ok := intArg(e.Value)
		if !ok || (n != 1 && n != -1) {
			return s, mongoerr.New(15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)")
		}
		s.fields = append(s.fields, strings.Split(e.Key, "."))
		s.dirs = append(s.dirs, int(n))
	}
	return s, nil
}

// sortKey extracts a sort key by a dotted path in an element (documents
// only; arrays along the path are not traversed).
func sortKey(v any, path []string) any {
	for _, p := range path {
		d, ok := asDoc(v)
		if !ok {
			return bsonutil.Missing
		}
		v = bsonutil.Get(d, p)
	}
	return v
}

func (s sortSpec) less(a, b any) bool {
	if s.whole != 0 {
		return bsonutil.Compare(a, b)*s.whole < 0
	}
	for i, f := range s.fields {
		if c := bsonutil.Compare(sortKey(a, f), sortKey(b, f)) * s.dirs[i]; c != 0 {
			return c < 0
		}
	}
	return false
}

func parseSortArray(name string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(2942500, "$sortArray requires an object as an argument, found: %s", typeName(arg))
	}
	var input Expr
	var spec *sortSpec
	for _, e := range d {
		switch e.Key {
		case "input":
			x, err := Parse(e.Value)
			if err != nil {
				return nil, err
			}
			input = x
		case "sortBy":
			s, err := parseSortBy(e.Value)
			if err != nil {
				return nil, err
			}
			spec = &s
		default:
			return nil, mongoerr.Newf(2942501, "$sortArray found an unknown argument: %s", e.Key)
		}
	}
	if input == nil {
		return nil, mongoerr.New(2942502, "$sortArray requires 'input' to be specified")
	}
	if spec == nil {
		return nil, mongoerr.New(2942503, "$sortArray requires 'sortBy' to be specified")
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		iv, err := input.Eval(v)
		if err != nil {
			return nil, err
		}
		if nullish(iv) {
			return nil, nil
		}
		arr, ok := asArray(iv)
		if !ok {
			return nil, mongoerr.Newf(2942504, "The input argument to $sortArray must be an array, but was of type: %s", typeName(iv))
		}
		out := append(bson.A{}, arr...)
		sort.SliceStable(out, func(i, j int) bool { return spec.less(out[i], out[j]) })
		return out, nil
	}}, nil
}

func evalArrayToObject(_ string, vals []any) (any, error) {
	if nullish(vals[0]) {
		return nil, nil
	}
	arr, ok := asArray(vals[0])
	if !ok {
		return nil, mongoerr.Newf(40386, "$arrayToObject requires an array input, found: %s", typeName(vals[0]))
	}
	out := bson.D{}
	set := func(k string, v any) error {
		if strings.ContainsRune(k, 0) {
			return mongoerr.New(4940401, "Key field cannot contain an embedded null byte")
		}
		for i := range out {
			if out[i].Key == k {
				out[i].Value = v
				return nil
			}
		}
		out = append(out, bson.E{Key: k, Value: v})
		return nil
	}
	if len(arr) == 0 {
		return out, nil
	}
	_, pairForm := asArray(arr[0])
	for _, e := range arr {
		if pairForm {
			pair, ok := asArray(e)
			if !ok {
				return nil, mongoerr.Newf(40391, "$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Array was detected, now found: %s", typeName(e))
			}
			if len(pair) != 2 {
				return nil, mongoerr.Newf(40396, "$arrayToObject requires an array of size 2 arrays,found array of size: %d", len(pair))
			}
			k, ok := pair[0].(string)
			if !ok {
				return nil, mongoerr.Newf(40395, "$arrayToObject requires an array of key-value pairs, where the key must be of type string. Found key type: %s", typeName(pair[0]))
			}
			if err := set(k, pair[1]); err != nil {
				return nil, err
			}
			continue
		}
		doc, ok := asDoc(e)
		if !ok {
			if _, isArr := asArray(e); isArr {
				return nil, mongoerr.Newf(40391, "$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Object was detected, now found: %s", typeName(e))
			}
			return nil, mongoerr.Newf(40398, "Unrecognised input type format for $arrayToObject: %s", typeName(e))
		}
		if len(doc) != 2 {
			return nil, mongoerr.Newf(40392, "$arrayToObject requires an object keys of 'k' and 'v'. Found incorrect number of keys:%d", len(doc))
		}
		kv, vv := bsonutil.Get(doc, "k"), bsonutil.Get(doc, "v")
		if bsonutil.IsMissing(kv) || bsonutil.IsMissing(vv) {
			return nil, mongoerr.Newf(40393, "$arrayToObject requires an object with keys 'k' and 'v'. Missing either or both keys from: %s", bsonutil.Format(doc))
		}
		k, ok := kv.(string)
		if !ok {
			return nil, mongoerr.Newf(40394, "$arrayToObject requires an object with keys 'k' and 'v', where the value of 'k' must be of type string. Found type: %s", typeName(kv))
		}
		if err := set(k, vv); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func evalObjectToArray(_ string, vals []any) (any, error) {
	if nullish(vals[0]) {
		return nil, nil
	}
	d, ok := asDoc(vals[0])
	if !ok {
		return nil, mongoerr.Newf(40390, "$objectToArray requires a document input, found: %s", typeName(vals[0]))
	}
	out := make(bson.A, len(d))
	for i, e := range d {
		out[i] = bson.D{{Key: "k", Value: e.Key}, {Key: "v", Value: e.Value}}
	}
	return out, nil
}

// ---- $firstN, $lastN, $maxN, $minN (array forms) ----

func parseNOp(name string, arg any) (Expr, error) {
	a, err := namedArgs(name, arg, []string{"input", "n"}, nil)
	if err != nil {
		return nil, withCode(err, 5787901)
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		nv, err := a["n"].Eval(v)
		if err != nil {
			return nil, err
		}
		iv, err := a["input"].Eval(v)
		if err != nil {
			return nil, err
		}
		if !bsonutil.IsNumber(nv) {
			return nil, mongoerr.Newf(5787902, "Value for 'n' must be of integral type, but found %s", bsonutil.Format(nv))
		}
		n, ok := bsonutil.ToInt64(nv)
		if !ok {
			return nil, mongoerr.Newf(5787903, "Value for 'n' must be of integral type, but found %s", bsonutil.Format(nv))
		}
		if n <= 0 {
			return nil, mongoerr.Newf(5787908, "Value for 'n' must be greater than 0, but found %d", n)
		}
		if nullish(iv) {
			return nil, nil
		}
		arr, ok := asArray(iv)
		if !ok {
			return nil, mongoerr.Newf(5788200, "Input to %s must be an array, but found %s", name, typeName(iv))
		}
		switch name {
		case "$firstN":
			return append(bson.A{}, arr[:min(n, int64(len(arr)))]...), nil
		case "$lastN":
			return append(bson.A{}, arr[max(int64(len(arr))-n, 0):]...), nil
		}
		vals := bson.A{}
		for _, e := range arr {
			if !nullish(e) {
				vals = append(vals, e)
			}
		}
		desc := name == "$maxN"
		sort.SliceStable(vals, func(i, j int) bool {
			c := bsonutil.Compare(vals[i], vals[j])
			if desc {
				return c > 0
			}
			return c < 0
		})
		return vals[:min(n, int64(len(vals)))], nil
	}}, nil
}

func init() {
	register("$arrayElemAt", fixed(2, 2, evalArrayElemAt))
	register("$first", fixed(1, 1, firstLast(false)))
	register("$last", fixed(1, 1, firstLast(true)))
	register("$size", fixed(1, 1, evalSize))
	register("$concatArrays", fixed(0, -1, evalConcatArrays))
	register("$in", fixed(2, 2, evalIn))
	register("$indexOfArray", fixed(2, 4, evalIndexOfArray))
	register("$slice", fixed(2, 3, evalSlice))
	register("$reverseArray", fixed(1, 1, evalReverseArray))
	register("$range", fixed(2, 3, evalRange))
	register("$filter", parseFilter)
	register("$map", parseMap)
	register("$reduce", parseReduce)
	register("$zip", parseZip)
	register("$sortArray", parseSortArray)
	register("$arrayToObject", fixed(1, 1, evalArrayToObject))
	register("$objectToArray", fixed(1, 1, evalObjectToArray))
	register("$firstN", parseNOp)
	register("$lastN", parseNOp)
	register("$maxN", parseNOp)
	register("$minN", parseNOp)
}
