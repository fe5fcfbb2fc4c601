package update

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ---- $set, $setOnInsert, $unset ----

type setOp struct{ v any }

func (o setOp) apply(any, *leafCtx) (any, error) { return bsonutil.DeepCopy(o.v), nil }

type unsetOp struct{}

func (unsetOp) apply(old any, _ *leafCtx) (any, error) {
	if bsonutil.IsMissing(old) {
		return keep, nil
	}
	return remove, nil
}

// ---- $inc, $mul ----

type incOp struct {
	name string
	op   arithOp
	v    any
}

func parseArith(name, field string, arg any) (leafOp, error) {
	if !isNumeric(arg) {
		verb := "increment"
		if name == "$mul" {
			verb = "multiply"
		}
		return nil, mongoerr.Newf(mongoerr.TypeMismatch, "Cannot %s with non-numeric argument: {%s: %s}", verb, field, fmtValue(arg))
	}
	o := incOp{name: name, op: opAdd, v: arg}
	if name == "$mul" {
		o.op = opMul
	}
	return o, nil
}

func (o incOp) apply(old any, lc *leafCtx) (any, error) {
	base := old
	if bsonutil.IsMissing(old) {
		base = int32(0)
	} else if !isNumeric(old) {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch,
			"Cannot apply %s to a value of non-numeric type. %s has the field '%s' of non-numeric type %s",
			o.name, idDesc(lc.doc), lc.field, bsonutil.TypeName(old))
	}
	r, ok := arith(o.op, base, o.v)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.BadValue, "Failed to apply %s operations to current value (%s) for document %s",
			o.name, safeNumString(old), idDesc(lc.doc))
	}
	return r, nil
}

// safeNumString renders a number as MongoDB's SafeNum debug string.
func safeNumString(v any) string {
	switch x := v.(type) {
	case int32:
		return fmt.Sprintf("(NumberInt)%d", x)
	case int64:
		return fmt.Sprintf("(NumberLong)%d", x)
	case float64:
		return "(NumberDouble)" + fmtDouble(x)
	case bson.Decimal128:
		return "(NumberDecimal)" + x.String()
	}
	return fmtValue(v)
}

// ---- $min, $max ----

type minMaxOp struct {
	v   any
	max bool
}

func (o minMaxOp) apply(old any, _ *leafCtx) (any, error) {
	if bsonutil.IsMissing(old) {
		return bsonutil.DeepCopy(o.v), nil
	}
	c := bsonutil.Compare(o.v, old)
	if (o.max && c > 0) || (!o.max && c < 0) {
		return bsonutil.DeepCopy(o.v), nil
	}
	return keep, nil
}

// ---- $currentDate ----

type currentDateOp struct{ timestamp bool }

func parseCurrentDate(field string, arg any, _ *Update) (leafOp, error) {
	switch x := arg.(type) {
	case bool:
		return currentDateOp{}, nil
	case bson.D:
		var o currentDateOp
		for _, e := range x {
			if e.Key != "$type" {
				return nil, mongoerr.Newf(mongoerr.BadValue, "Unrecognized $currentDate option: %s", e.Key)
			}
			switch e.Value {
			case "date":
				o.timestamp = false
			case "timestamp":
				o.timestamp = true
			default:
				return nil, mongoerr.New(mongoerr.BadValue,
					"The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}")
			}
		}
		return o, nil
	}
	return nil, mongoerr.Newf(mongoerr.BadValue,
		"%s is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).",
		fmtElem(field, arg))
}

func (o currentDateOp) apply(_ any, lc *leafCtx) (any, error) {
	if o.timestamp {
		return bson.Timestamp{T: uint32(int64(lc.ac.Now) / 1000), I: 1}, nil
	}
	return lc.ac.Now, nil
}

// ---- $push ----

type pushOp struct {
	each     bson.A
	slice    *int64
	position *int64
	sort     *sortSpec
}

// sortSpec is $push's $sort: whole elements (fields nil) or by fields.
type sortSpec struct {
	dir    int
	fields []string
	dirs   []int
}

func parsePush(field string, arg any, _ *Update) (leafOp, error) {
	d, ok := arg.(bson.D)
	if !ok || getField(d, "$each") < 0 {
		return pushOp{each: bson.A{arg}}, nil
	}
	var o pushOp
	for _, e := range d {
		switch e.Key {
		case "$each":
			arr, ok := asArray(e.Value)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.BadValue,
					"The argument to $each in $push must be an array but it was of type: %s", bsonutil.TypeName(e.Value))
			}
			o.each = arr
		case "$slice":
			n, ok := integral(e.Value)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.BadValue,
					"The value for $slice must be an integer value but was given type: %s", bsonutil.TypeName(e.Value))
			}
			o.slice = &n
		case "$position":
			n, ok := integral(e.Value)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.BadValue,
					"The value for $position must be an integer value, not of type: %s", bsonutil.TypeName(e.Value))
			}
			o.position = &n
		case "$sort":
			s, err := parseSortSpec(e.Value)
			if err != nil {
				return nil, err
			}
			o.sort = s
		default:
			return nil, mongoerr.Newf(mongoerr.BadValue, "Unrecognized clause in $push: %s", e.Key)
		}
	}
	return o, nil
}

// integral returns v as an integer if it is a number with an integral value.
func integral(v any) (int64, bool) {
	if !isNumeric(v) {
		return 0, false
	}
	return bsonutil.ToInt64(v)
}

func sortDir(v any) (int, bool) {
	if !isNumeric(v) {
		return 0, false
	}
	f, _ := bsonutil.ToFloat64(v)
	switch f {
	case 1:
		return 1, true
	case -1:
		return -1, true
	}
	return 0, false
}

func parseSortSpec(v any) (*sortSpec, error) {
	invalid := mongoerr.New(mongoerr.BadValue,
		"The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields")
	if d, ok := v.(bson.D); ok {
		if len(d) == 0 {
			return nil, mongoerr.New(mongoerr.BadValue, "The $sort pattern is empty when it should be a set of fields.")
		}
		s := &sortSpec{}
		for _, e := range d {
			dir, ok := sortDir(e.Value)
			if !ok {
				return nil, mongoerr.New(mongoerr.BadValue, "The $sort element value must be either 1 or -1")
			}
			if e.Key == "" || strings.HasPrefix(e.Key, "$") || strings.Contains(e.Key, "..") ||
				strings.HasPrefix(e.Key, ".") || strings.HasSuffix(e.Key, ".") {
				return nil, mongoerr.Newf(mongoerr.BadValue, "The $sort field is a dotted field but has an empty part: %s", e.Key)
			}
			s.fields = append(s.fields, e.Key)
			s.dirs = append(s.dirs, dir)
		}
		return s, nil
	}
	dir, ok := sortDir(v)
	if !ok {
		return nil, invalid
	}
	return &sortSpec{dir: dir}, nil
}

// pathValue returns the value at a dotted path inside v, or Missing.
func pathValue(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case bson.D:
			v = bsonutil.Get(x, p)
		case bson.A:
			i, ok := arrayIndex(p)
			if !ok || i >= len(x) {
				return bsonutil.Missing
			}
			v = x[i]
		default:
			return bsonutil.Missing
		}
	}
	return v
}

func (s *sortSpec) less(a, b any) bool {
	if s.fields == nil {
		return bsonutil.Compare(a, b)*s.dir < 0
	}
	for i, f := range s.fields {
		c := bsonutil.Compare(pathValue(a, f), pathValue(b, f))
		if c != 0 {
			return c*s.dirs[i] < 0
		}
	}
	return false
}

func (o pushOp) apply(old any, lc *leafCtx) (any, error) {
	var cur bson.A
	if !bsonutil.IsMissing(old) {
		arr, ok := asArray(old)
		if !ok {
			return nil, mongoerr.Newf(mongoerr.BadValue, "The field '%s' must be an array but is of type %s in document %s",
				lc.field, bsonutil.TypeName(old), idDesc(lc.doc))
		}
		cur = arr
	}
	pos := int64(len(cur))
	if o.position != nil {
		pos = *o.position
		if pos < 0 {
			pos = max(int64(len(cur))+pos, 0)
		}
		pos = min(pos, int64(len(cur)))
	}
	out := make(bson.A, 0, len(cur)+len(o.each))
	out = append(out, cur[:pos]...)
	for _, e := range o.each {
		out = append(out, bsonutil.DeepCopy(e))
	}
	out = append(out, cur[pos:]...)
	if o.sort != nil {
		sort.SliceStable(out, func(i, j int) bool { return o.sort.less(out[i], out[j]) })
	}
	if o.slice != nil {
		n := *o.slice
		switch {
		case n >= 0 && n < int64(len(out)):
			out = out[:n]
		case n < 0 && -n < int64(len(out)):
			out = out[int64(len(out))+n:]
		}
	}
	return out, nil
}

// ---- $addToSet ----

type addToSetOp struct{ each bson.A }

func parseAddToSet(_ string, arg any, _ *Update) (leafOp, error) {
	d, ok := arg.(bson.D)
	if !ok || len(d) == 0 || d[0].Key != "$each" {
		return addToSetOp{each: bson.A{arg}}, nil
	}
	if len(d) > 1 {
		return nil, mongoerr.Newf(mongoerr.BadValue, "Found unexpected fields after $each in $addToSet: %s", fmtValue(d))
	}
	arr, ok := asArray(d[0].Value)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch,
			"The argument to $each in $addToSet must be an array but it was of type %s", bsonutil.TypeName(d[0].Value))
	}
	return addToSetOp{each: arr}, nil
}

func (o addToSetOp) apply(old any, lc *leafCtx) (any, error) {
	var cur bson.A
	if !bsonutil.IsMissing(old) {
		arr, ok := asArray(old)
		if !ok {
			return nil, mongoerr.Newf(mongoerr.BadValue,
				"Cannot apply $addToSet to non-array field. Field named '%s' has non-array type %s", lc.field, bsonutil.TypeName(old))
		}
		cur = arr
	}
	out := append(bson.A{}, cur...)
	added := false
	for _, e := range o.each {
		dup := false
		for _, x := range out {
			if bsonutil.Compare(x, e) == 0 {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, bsonutil.DeepCopy(e))
			added = true
		}
	}
	if !added && !bsonutil.IsMissing(old) {
		return keep, nil
	}
	return out, nil
}

// ---- $pop ----

type popOp struct{ first bool }

func parsePop(field string, arg any, _ *Update) (leafOp, error) {
	if !isNumeric(arg) {
		return nil, mongoerr.Newf(mongoerr.FailedToParse, "Expected a number in: %s: %s", field, fmtValue(arg))
	}
	f, _ := bsonutil.ToFloat64(arg)
	switch f {
	case 1:
		return popOp{}, nil
	case -1:
		return popOp{first: true}, nil
	}
	return nil, mongoerr.Newf(mongoerr.FailedToParse, "$pop expects 1 or -1, found: %s", fmtValue(arg))
}

func (o popOp) apply(old any, lc *leafCtx) (any, error) {
	if bsonutil.IsMissing(old) {
		return keep, nil
	}
	arr, ok := asArray(old)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch, "Path '%s' contains an element of non-array type '%s'",
			lc.path, bsonutil.TypeName(old))
	}
	if len(arr) == 0 {
		return keep, nil
	}
	if o.first {
		return append(bson.A{}, arr[1:]...), nil
	}
	return append(bson.A{}, arr[:len(arr)-1]...), nil
}

// ---- $pull, $pullAll ----

// elemMatcher decides which array elements $pull removes.
type elemMatcher interface {
	match(e any) (bool, error)
}

type eqMatcher struct{ v any }

func (m eqMatcher) match(e any) (bool, error) { return bsonutil.Compare(e, m.v) == 0, nil }

type anyOfMatcher struct{ vs bson.A }

func (m anyOfMatcher) match(e any) (bool, error) {
	for _, v := range m.vs {
		if bsonutil.Compare(e, v) == 0 {
			return true, nil
		}
	}
	return false, nil
}

// objMatcher matches document elements against a query.
type objMatcher struct{ m *query.Matcher }

func (m objMatcher) match(e any) (bool, error) {
	d, ok := e.(bson.D)
	if !ok {
		return false, nil
	}
	return m.m.Match(d)
}

// wrappedMatcher matches any element against operator conditions by
// wrapping it as {"": element}.
type wrappedMatcher struct{ m *query.Matcher }

func (m wrappedMatcher) match(e any) (bool, error) {
	return m.m.Match(bson.D{{Key: "", Value: e}})
}

// queryFieldOps are the query operators that apply to a field's value; a
// $pull condition starting with one of them applies to each element as a
// value, otherwise it is a query on document elements.
var queryFieldOps = map[string]bool{
	"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true,
	"$in": true, "$nin": true, "$exists": true, "$type": true, "$mod": true,
	"$regex": true, "$options": true, "$size": true, "$all": true, "$elemMatch": true,
	"$not": true, "$bitsAllSet": true, "$bitsAnySet": true, "$bitsAllClear": true, "$bitsAnyClear": true,
	"$near": true, "$nearSphere": true, "$geoWithin": true, "$geoIntersects": true, "$within": true,
}

type pullOp struct{ m elemMatcher }

func parsePull(_ string, arg any, u *Update) (leafOp, error) {
	qopts := &query.Options{Vars: u.vars}
	switch x := arg.(type) {
	case bson.D:
		if len(x) > 0 && queryFieldOps[x[0].Key] {
			m, err := query.NewMatcher(bson.D{{Key: "", Value: x}}, qopts)
			if err != nil {
				return nil, err
			}
			return pullOp{wrappedMatcher{m}}, nil
		}
		m, err := query.NewMatcher(x, qopts)
		if err != nil {
			return nil, err
		}
		return pullOp{objMatcher{m}}, nil
	case bson.Regex:
		m, err := query.NewMatcher(bson.D{{Key: "", Value: x}}, qopts)
		if err != nil {
			return nil, err
		}
		return pullOp{wrappedMatcher{m}}, nil
	}
	return pullOp{eqMatcher{arg}}, nil
}

func parsePullAll(_ string, arg any, _ *Update) (leafOp, error) {
	arr, ok := asArray(arg)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.BadValue, "$pullAll requires an array argument but was given a %s", bsonutil.TypeName(arg))
	}
	return pullOp{anyOfMatcher{arr}}, nil
}

func (o pullOp) apply(old any, _ *leafCtx) (any, error) {
	if bsonutil.IsMissing(old) {
		return keep, nil
	}
	arr, ok := asArray(old)
	if !ok {
		return nil, mongoerr.New(mongoerr.BadValue, "Cannot apply $pull to a non-array value")
	}
	out := make(bson.A, 0, len(arr))
	for _, e := range arr {
		hit, err := o.m.match(e)
		if err != nil {
			return nil, err
		}
		if !hit {
			out = append(out, e)
		}
	}
	if len(out) == len(arr) {
		return keep, nil
	}
	return out, nil
}

// ---- $bit ----

type bitStep struct {
	op string // "and", "or", "xor"
	v  any    // int32 or int64
}

type bitOp struct{ steps []bitStep }

func parseBit(field string, arg any, _ *Update) (leafOp, error) {
	d, ok := arg.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.BadValue,
			"The $bit modifier is not compatible with a %s. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}",
			bsonutil.TypeName(arg))
	}
	if len(d) == 0 {
		return nil, mongoerr.Newf(mongoerr.BadValue,
			"You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}")
	}
	var o bitOp
	for _, e := range d {
		switch e.Key {
		case "and", "or", "xor":
		default:
			return nil, mongoerr.Newf(mongoerr.BadValue,
				"The $bit modifier only supports 'and', 'or', and 'xor', not '%s' which is an unknown operator: %s",
				e.Key, fmtElem(e.Key, e.Value))
		}
		switch e.Value.(type) {
		case int32, int64:
		default:
			return nil, mongoerr.Newf(mongoerr.BadValue,
				"The $bit modifier field must be an Integer(32/64 bit); a '%s' is not supported here: %s",
				bsonutil.TypeName(e.Value), fmtElem(e.Key, e.Value))
		}
		o.steps = append(o.steps, bitStep{op: e.Key, v: e.Value})
	}
	return o, nil
}

func (o bitOp) apply(old any, lc *leafCtx) (any, error) {
	cur := old
	if bsonutil.IsMissing(old) {
		cur = int32(0)
	}
	switch cur.(type) {
	case int32, int64:
	default:
		return nil, mongoerr.Newf(mongoerr.BadValue,
			"Cannot apply $bit to a value of non-integral type.%s has the field %s of non-integer type %s",
			idDesc(lc.doc), lc.field, bsonutil.TypeName(old))
	}
	for _, s := range o.steps {
		_, l1 := cur.(int64)
		_, l2 := s.v.(int64)
		x, y := toI(cur), toI(s.v)
		var r int64
		switch s.op {
		case "and":
			r = x & y
		case "or":
			r = x | y
		default:
			r = x ^ y
		}
		if l1 || l2 {
			cur = r
		} else {
			cur = int32(r)
		}
	}
	return cur, nil
}
