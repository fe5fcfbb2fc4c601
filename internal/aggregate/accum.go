package aggregate

import (
	"math"
	"math/big"
	"slices"
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// accumulator is the running state of one accumulator in one group.
type accumulator interface {
	// add processes one input document, sc.doc. It returns the
	// approximate number of bytes the state grew by.
	add(sc *docScope) (int64, error)
	result() (any, error)
}

// docScope is the evaluation scope of one input document. The expression
// scope ($$ROOT and $$CURRENT set to doc) is built only when an
// expression needs one: constants and top-level field paths, the common
// accumulator arguments and group keys, are evaluated without it (see
// argExpr). A stage keeps one docScope per run and resets it for every
// document, so that the per-document path allocates nothing.
type docScope struct {
	base *expr.Vars // the pipeline scope
	doc  bson.D
	vars *expr.Vars // base with doc as $$ROOT; nil until needed
}

func (s *docScope) reset(base *expr.Vars, doc bson.D) {
	s.base, s.doc, s.vars = base, doc, nil
}

// scope returns the expression scope of the document.
func (s *docScope) scope() *expr.Vars {
	if s.vars == nil {
		s.vars = s.base.WithRoot(s.doc)
	}
	return s.vars
}

// argExpr is a compiled expression with fast paths for the shapes that
// need no scope: constants, and "$field" paths without dots, whose value
// is the document's field (Missing when absent), exactly what the field
// path expression gives for a document root.
type argExpr struct {
	e       expr.Expr
	isConst bool
	c       any
	field   string // non-empty for "$field"
}

func newArgExpr(spec any, e expr.Expr) argExpr {
	a := argExpr{e: e}
	if c, ok := expr.IsConstant(e); ok {
		a.isConst, a.c = true, c
	} else if l, ok := e.(literalExpr); ok {
		a.isConst, a.c = true, l.v
	} else if s, ok := spec.(string); ok && expr.IsFieldPath(s) && !strings.Contains(s, ".") {
		a.field = s[1:]
	}
	return a
}

func (a *argExpr) eval(sc *docScope) (any, error) {
	switch {
	case a.isConst:
		return a.c, nil
	case a.field != "":
		return bsonutil.Get(sc.doc, a.field), nil
	}
	return a.e.Eval(sc.scope())
}

// accDef is a compiled accumulator: {field: {$op: arg}}.
type accDef struct {
	field string
	op    string
	// newAcc creates the state for a group with the given key; vars is
	// the pipeline scope.
	newAcc func(key any, vars *expr.Vars) (accumulator, error)
}

// parseAccumulator compiles the accumulator named op with argument arg.
func parseAccumulator(field, op string, arg any) (*accDef, error) {
	def := &accDef{field: field, op: op}
	unary := func(mk func() valueState) error {
		if _, ok := arg.(bson.A); ok {
			return mongoerr.Newf(40237, "The %s accumulator is a unary operator", op)
		}
		e, err := parseExpr(arg)
		if err != nil {
			return err
		}
		a := newArgExpr(arg, e)
		def.newAcc = func(any, *expr.Vars) (accumulator, error) { return &valueAcc{e: a, st: mk()}, nil }
		return nil
	}
	var err error
	switch op {
	case "$sum":
		err = unary(func() valueState { return &sumState{} })
	case "$avg":
		err = unary(func() valueState { return &avgState{} })
	case "$min":
		err = unary(func() valueState { return &minMaxState{sign: -1} })
	case "$max":
		err = unary(func() valueState { return &minMaxState{sign: 1} })
	case "$first":
		err = unary(func() valueState { return &firstState{} })
	case "$last":
		err = unary(func() valueState { return &lastState{} })
	case "$push":
		err = unary(func() valueState { return &pushState{} })
	case "$addToSet":
		err = unary(func() valueState { return &addToSetState{set: newValueSet()} })
	case "$mergeObjects":
		err = unary(func() valueState { return &mergeState{} })
	case "$stdDevPop":
		err = unary(func() valueState { return &stdDevState{} })
	case "$stdDevSamp":
		err = unary(func() valueState { return &stdDevState{sample: true} })
	case "$count":
		if d, ok := arg.(bson.D); !ok || len(d) != 0 {
			return nil, mongoerr.New(40036, "$count takes no arguments, i.e. $count:{}")
		}
		one := newArgExpr(int32(1), mustLiteral(int32(1)))
		def.newAcc = func(any, *expr.Vars) (accumulator, error) { return &valueAcc{e: one, st: &sumState{}}, nil }
	case "$firstN", "$lastN", "$maxN", "$minN":
		err = parseNAccumulator(def, op, arg)
	case "$top", "$bottom", "$topN", "$bottomN":
		err = parseTopBottom(def, op, arg)
	case "$median", "$percentile":
		err = parsePercentile(def, op, arg)
	default:
		return nil, mongoerr.Newf(15952, "unknown group operator '%s'", op)
	}
	if err != nil {
		return nil, err
	}
	return def, nil
}

// valueState is the state of an accumulator that only looks at the value
// of its argument expression.
type valueState interface {
	addValue(v any) (int64, error)
	result() (any, error)
}

type valueAcc struct {
	e  argExpr
	st valueState
}

func (a *valueAcc) add(sc *docScope) (int64, error) {
	v, err := a.e.eval(sc)
	if err != nil {
		return 0, err
	}
	return a.st.addValue(v)
}

func (a *valueAcc) result() (any, error) { return a.st.result() }

// ---- $sum / $avg ----

type sumState struct{ s numSum }

// addValue adds numbers; non-numeric values (arrays included) are ignored.
func (st *sumState) addValue(v any) (int64, error) {
	st.s.add(v)
	return 0, nil
}
func (st *sumState) result() (any, error) { return st.s.result(), nil }

type avgState struct{ s numSum }

func (st *avgState) addValue(v any) (int64, error) { st.s.add(v); return 0, nil }
func (st *avgState) result() (any, error)          { return st.s.avg(), nil }

// ---- $min / $max ----

type minMaxState struct {
	sign int // 1 for $max, -1 for $min
	have bool
	best any
}

func (st *minMaxState) addValue(v any) (int64, error) {
	if bsonutil.IsNullish(v) || bsonutil.IsMissing(v) {
		return 0, nil
	}
	if !st.have || bsonutil.Compare(v, st.best)*st.sign > 0 {
		old := approxSize(st.best)
		st.best, st.have = v, true
		return approxSize(v) - old, nil
	}
	return 0, nil
}

func (st *minMaxState) result() (any, error) {
	if !st.have {
		return nil, nil
	}
	return st.best, nil
}

// ---- $first / $last ----

type firstState struct {
	have bool
	v    any
}

func (st *firstState) addValue(v any) (int64, error) {
	if st.have {
		return 0, nil
	}
	st.have, st.v = true, nullIfMissing(v)
	return approxSize(v), nil
}
func (st *firstState) result() (any, error) { return st.v, nil }

type lastState struct{ v any }

func (st *lastState) addValue(v any) (int64, error) {
	d := approxSize(v) - approxSize(st.v)
	st.v = nullIfMissing(v)
	return d, nil
}
func (st *lastState) result() (any, error) { return st.v, nil }

// ---- $push / $addToSet ----

type pushState struct{ arr bson.A }

func (st *pushState) addValue(v any) (int64, error) {
	if bsonutil.IsMissing(v) {
		return 0, nil
	}
	st.arr = append(st.arr, v)
	return approxSize(v) + 16, nil
}

func (st *pushState) result() (any, error) {
	if st.arr == nil {
		return bson.A{}, nil
	}
	return st.arr, nil
}

type addToSetState struct {
	set *valueSet
	arr bson.A
}

func (st *addToSetState) addValue(v any) (int64, error) {
	if bsonutil.IsMissing(v) {
		return 0, nil
	}
	if !st.set.add(v) {
		return 0, nil
	}
	st.arr = append(st.arr, v)
	return 2*approxSize(v) + 32, nil
}

func (st *addToSetState) result() (any, error) {
	if st.arr == nil {
		return bson.A{}, nil
	}
	return st.arr, nil
}

// ---- $mergeObjects ----

type mergeState struct{ d bson.D }

func (st *mergeState) addValue(v any) (int64, error) {
	if bsonutil.IsNullish(v) || bsonutil.IsMissing(v) {
		return 0, nil
	}
	d, ok := v.(bson.D)
	if !ok {
		return 0, mongoerr.Newf(40400, "$mergeObjects requires object inputs, but input %s is of type %s", fmtValue(v), bsonutil.TypeName(v))
	}
	for _, e := range d {
		st.d = setField(st.d, e.Key, e.Value)
	}
	return approxSize(d), nil
}

func (st *mergeState) result() (any, error) {
	if st.d == nil {
		return bson.D{}, nil
	}
	return st.d, nil
}

// ---- $stdDevPop / $stdDevSamp ----

// stdDevState keeps the count, sum and sum of squares in extended
// precision so that the result is the correctly rounded standard deviation
// for ordinary inputs (matching MongoDB's documented outputs).
type stdDevState struct {
	sample bool
	n      int64
	sum    *big.Float
	sumSq  *big.Float
	nonFin bool // NaN or ±Inf seen: the result is NaN
}

const stdDevPrec = 256

func (st *stdDevState) addValue(v any) (int64, error) {
	if !bsonutil.IsNumber(v) {
		return 0, nil
	}
	x, _ := bsonutil.ToFloat64(v)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		st.nonFin = true
		st.n++
		return 0, nil
	}
	if st.sum == nil {
		st.sum = new(big.Float).SetPrec(stdDevPrec)
		st.sumSq = new(big.Float).SetPrec(stdDevPrec)
	}
	bx := new(big.Float).SetPrec(stdDevPrec).SetFloat64(x)
	st.sum.Add(st.sum, bx)
	st.sumSq.Add(st.sumSq, bx.Mul(bx, bx))
	st.n++
	return 0, nil
}

func (st *stdDevState) result() (any, error) {
	if st.n == 0 || (st.sample && st.n < 2) {
		return nil, nil
	}
	if st.nonFin {
		return math.NaN(), nil
	}
	n := new(big.Float).SetPrec(stdDevPrec).SetInt64(st.n)
	// variance = (sumSq - sum^2/n) / (n or n-1)
	m := new(big.Float).SetPrec(stdDevPrec).Mul(st.sum, st.sum)
	m.Quo(m, n)
	num := new(big.Float).SetPrec(stdDevPrec).Sub(st.sumSq, m)
	if num.Sign() <= 0 {
		return 0.0, nil
	}
	den := n
	if st.sample {
		den = new(big.Float).SetPrec(stdDevPrec).SetInt64(st.n - 1)
	}
	num.Quo(num, den)
	f, _ := num.Sqrt(num).Float64()
	return f, nil
}

// ---- n-ary accumulators ----

// nArgs parses the argument object of $firstN-style accumulators into its
// named fields.
func nArgs(op string, arg any, allowed ...string) (map[string]any, error) {
	d, ok := arg.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(5787801, "specification must be an object; found %s", fmtValue(arg))
	}
	out := map[string]any{}
	for _, e := range d {
		if !slices.Contains(allowed, e.Key) {
			return nil, mongoerr.Newf(5787901, "Unknown argument for '%s' operator: %s", op, e.Key)
		}
		out[e.Key] = e.Value
	}
	return out, nil
}

// parseN compiles the 'n' argument.
func parseN(op string, args map[string]any) (expr.Expr, error) {
	nv, ok := args["n"]
	if !ok {
		return nil, mongoerr.Newf(5787906, "Missing value for 'n'")
	}
	return parseExpr(nv)
}

// evalN evaluates n for the group with the given key.
func evalN(op string, e expr.Expr, key any, vars *expr.Vars) (int, error) {
	v, err := e.Eval(vars.WithRoot(bson.D{{Key: "_id", Value: key}}))
	if err != nil {
		return 0, err
	}
	n, ok := toInt64Arg(v)
	if !ok {
		return 0, mongoerr.Newf(5787902, "Value for 'n' must be of integral type, but found %s", fmtValue(v))
	}
	if n <= 0 {
		return 0, mongoerr.Newf(5787908, "'n' must be greater than 0, found: %d", n)
	}
	if n > 1<<31 {
		n = 1 << 31
	}
	return int(n), nil
}

func parseNAccumulator(def *accDef, op string, arg any) error {
	args, err := nArgs(op, arg, "input", "n")
	if err != nil {
		return err
	}
	ne, err := parseN(op, args)
	if err != nil {
		return err
	}
	in, ok := args["input"]
	if !ok {
		return mongoerr.Newf(5787907, "Missing value for 'input'")
	}
	ie, err := parseExpr(in)
	if err != nil {
		return err
	}
	def.newAcc = func(key any, vars *expr.Vars) (accumulator, error) {
		n, err := evalN(op, ne, key, vars)
		if err != nil {
			return nil, err
		}
		var st valueState
		switch op {
		case "$firstN":
			st = &firstNState{n: n}
		case "$lastN":
			st = &lastNState{n: n}
		case "$maxN":
			st = &minMaxNState{n: n, sign: 1}
		default:
			st = &minMaxNState{n: n, sign: -1}
		}
		return &valueAcc{e: newArgExpr(in, ie), st: st}, nil
	}
	return nil
}

type firstNState struct {
	n   int
	arr bson.A
}

func (st *firstNState) addValue(v any) (int64, error) {
	if len(st.arr) >= st.n {
		return 0, nil
	}
	st.arr = append(st.arr, nullIfMissing(v))
	return approxSize(v) + 16, nil
}
func (st *firstNState) result() (any, error) { return nonNilArray(st.arr), nil }

type lastNState struct {
	n   int
	arr bson.A
}

func (st *lastNState) addValue(v any) (int64, error) {
	st.arr = append(st.arr, nullIfMissing(v))
	grow := approxSize(v) + 16
	if len(st.arr) > st.n {
		grow -= approxSize(st.arr[0]) + 16
		st.arr = append(st.arr[:0:0], st.arr[1:]...)
	}
	return grow, nil
}
func (st *lastNState) result() (any, error) { return nonNilArray(st.arr), nil }

// minMaxNState keeps the n largest (sign 1) or smallest (sign -1) values,
// ordered best first.
type minMaxNState struct {
	n    int
	sign int
	arr  bson.A
}

func (st *minMaxNState) addValue(v any) (int64, error) {
	if bsonutil.IsNullish(v) || bsonutil.IsMissing(v) {
		return 0, nil
	}
	// Position after every element at least as good as v.
	i := sort.Search(len(st.arr), func(i int) bool { return bsonutil.Compare(st.arr[i], v)*st.sign < 0 })
	if i >= st.n {
		return 0, nil
	}
	st.arr = slices.Insert(st.arr, i, v)
	grow := approxSize(v) + 16
	if len(st.arr) > st.n {
		grow -= approxSize(st.arr[st.n]) + 16
		st.arr = st.arr[:st.n]
	}
	return grow, nil
}
func (st *minMaxNState) result() (any, error) { return nonNilArray(st.arr), nil }

func nonNilArray(a bson.A) bson.A {
	if a == nil {
		return bson.A{}
	}
	return a
}

// ---- $top / $bottom / $topN / $bottomN ----

func parseTopBottom(def *accDef, op string, arg any) error {
	multi := op == "$topN" || op == "$bottomN"
	allowed := []string{"sortBy", "output"}
	if multi {
		allowed = append(allowed, "n")
	}
	args, err := nArgs(op, arg, allowed...)
	if err != nil {
		return err
	}
	var ne expr.Expr
	if multi {
		if ne, err = parseN(op, args); err != nil {
			return err
		}
	}
	out, ok := args["output"]
	if !ok {
		return mongoerr.Newf(5788004, "Missing value for 'output'")
	}
	oe, err := parseExpr(out)
	if err != nil {
		return err
	}
	sb, ok := args["sortBy"]
	if !ok {
		return mongoerr.Newf(5788005, "Missing value for 'sortBy'")
	}
	sd, ok := sb.(bson.D)
	if !ok {
		return mongoerr.Newf(5788003, "expected an object for 'sortBy', found %s", bsonutil.TypeName(sb))
	}
	srt, err := query.NewSort(sd)
	if err != nil {
		return err
	}
	bottom := op == "$bottom" || op == "$bottomN"
	def.newAcc = func(key any, vars *expr.Vars) (accumulator, error) {
		n := 1
		if multi {
			if n, err = evalN(op, ne, key, vars); err != nil {
				return nil, err
			}
		}
		return &topState{n: n, multi: multi, bottom: bottom, sort: srt, out: oe}, nil
	}
	return nil
}

type topItem struct {
	key query.SortKey
	v   any
}

// topState keeps the first n (top) or last n (bottom) outputs in sortBy
// order, ties in input order.
type topState struct {
	n      int
	multi  bool
	bottom bool
	sort   *query.Sort
	out    expr.Expr
	items  []topItem
}

func (st *topState) add(sc *docScope) (int64, error) {
	k := st.sort.Key(sc.doc)
	// Insert after every item that sorts at or before k (stable).
	i := sort.Search(len(st.items), func(i int) bool { return st.sort.CompareKeys(st.items[i].key, k) > 0 })
	if !st.bottom && i >= st.n {
		return 0, nil
	}
	v, err := st.out.Eval(sc.scope())
	if err != nil {
		return 0, err
	}
	v = nullIfMissing(v)
	st.items = slices.Insert(st.items, i, topItem{k, v})
	grow := approxSize(v) + approxSize(bson.A(k)) + 16
	if len(st.items) > st.n {
		var drop topItem
		if st.bottom {
			drop = st.items[0]
			st.items = append(st.items[:0:0], st.items[1:]...)
		} else {
			drop = st.items[st.n]
			st.items = st.items[:st.n]
		}
		grow -= approxSize(drop.v) + approxSize(bson.A(drop.key)) + 16
	}
	return grow, nil
}

func (st *topState) result() (any, error) {
	if !st.multi {
		if len(st.items) == 0 {
			return nil, nil
		}
		return st.items[0].v, nil
	}
	out := make(bson.A, len(st.items))
	for i, it := range st.items {
		out[i] = it.v
	}
	return out, nil
}

// ---- $median / $percentile ----

func parsePercentile(def *accDef, op string, arg any) error {
	allowed := []string{"input", "method"}
	if op == "$percentile" {
		allowed = append(allowed, "p")
	}
	d, ok := arg.(bson.D)
	if !ok {
		return mongoerr.Newf(7436200, "specification must be an object; found %s", fmtValue(arg))
	}
	args := map[string]any{}
	for _, e := range d {
		if !slices.Contains(allowed, e.Key) {
			return mongoerr.Newf(40415, "BSON field '%s.%s' is an unknown field.", op, e.Key)
		}
		args[e.Key] = e.Value
	}
	for _, f := range allowed {
		if _, ok := args[f]; !ok {
			return mongoerr.Newf(40414, "BSON field '%s.%s' is missing but a required field", op, f)
		}
	}
	method, ok := args["method"].(string)
	if !ok {
		return mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.method' is the wrong type '%s', expected type 'string'", op, bsonutil.TypeName(args["method"]))
	}
	switch method {
	case "approximate", "discrete", "continuous":
	default:
		return mongoerr.Newf(mongoerr.BadValue, "Currently only 'approximate', 'discrete' and 'continuous' can be used as percentile 'method'")
	}
	ps := []float64{0.5}
	if op == "$percentile" {
		arr, ok := args["p"].(bson.A)
		if !ok || len(arr) == 0 {
			return mongoerr.Newf(7750301, "The 'p' field must be an array of numbers from [0.0, 1.0], but found: %s", fmtValue(args["p"]))
		}
		ps = ps[:0]
		for _, x := range arr {
			f, ok := bsonutil.ToFloat64(x)
			if !ok || !(f >= 0 && f <= 1) {
				return mongoerr.Newf(7750301, "The 'p' field must be an array of numbers from [0.0, 1.0], but found: %s", fmtValue(x))
			}
			ps = append(ps, f)
		}
	}
	ie, err := parseExpr(args["input"])
	if err != nil {
		return err
	}
	def.newAcc = func(any, *expr.Vars) (accumulator, error) {
		return &valueAcc{e: newArgExpr(args["input"], ie), st: &percentileState{ps: ps, median: op == "$median", continuous: method == "continuous"}}, nil
	}
	return nil
}

type percentileState struct {
	ps         []float64
	median     bool
	continuous bool
	vals       []float64
}

func (st *percentileState) addValue(v any) (int64, error) {
	if !bsonutil.IsNumber(v) {
		return 0, nil
	}
	f, _ := bsonutil.ToFloat64(v)
	if math.IsNaN(f) {
		return 0, nil
	}
	st.vals = append(st.vals, f)
	return 8, nil
}

func (st *percentileState) result() (any, error) {
	if len(st.vals) == 0 {
		if st.median {
			return nil, nil
		}
		out := make(bson.A, len(st.ps))
		return out, nil // nulls
	}
	slices.Sort(st.vals)
	out := make(bson.A, len(st.ps))
	for i, p := range st.ps {
		out[i] = percentileOf(st.vals, p, st.continuous)
	}
	if st.median {
		return out[0], nil
	}
	return out, nil
}

// percentileOf returns the p-th percentile of sorted vals: the discrete
// rule picks the value at rank ceil(p*n) (1-based); the continuous rule
// interpolates linearly.
func percentileOf(vals []float64, p float64, continuous bool) float64 {
	n := len(vals)
	if continuous {
		r := p * float64(n-1)
		lo := int(math.Floor(r))
		hi := int(math.Ceil(r))
		if lo == hi {
			return vals[lo]
		}
		return vals[lo] + (r-float64(lo))*(vals[hi]-vals[lo])
	}
	i := int(math.Ceil(p*float64(n))) - 1
	if i < 0 {
		i = 0
	}
	if i >= n {
		i = n - 1
	}
	return vals[i]
}
