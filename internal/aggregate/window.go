package aggregate

import (
	"context"
	"io"
	"math"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// $setWindowFields: documents are sorted by (partition key, sortBy)
// through the external sort and each partition in turn is materialized;
// every output field is then computed over the partition from the input
// documents (outputs of the same stage do not see each other).

type boundKind int

const (
	boundUnbounded boundKind = iota
	boundCurrent
	boundValue
)

type windowBound struct {
	kind boundKind
	n    int64 // documents offset
	v    any   // range offset (a number)
}

type windowBounds struct {
	docs   bool // documents window; otherwise range
	lo, hi windowBound
	unit   string // range unit for date sortBy values
}

type windowOut struct {
	path []string
	op   string
	acc  *accDef // accumulator-style functions
	// function arguments
	input, input2 expr.Expr
	by            int64
	def           expr.Expr
	alpha         float64
	unit          string
	bounds        *windowBounds // nil: whole partition
}

type windowStage struct {
	baseStage
	pc        *parseCtx
	partition expr.Expr
	sortSpec  bson.D
	sort      *query.Sort
	outs      []*windowOut
}

// window functions that are accumulators ($group's).
var windowAccumulators = map[string]bool{
	"$sum": true, "$avg": true, "$min": true, "$max": true, "$push": true, "$addToSet": true,
	"$first": true, "$last": true, "$stdDevPop": true, "$stdDevSamp": true, "$count": true,
	"$mergeObjects": true, "$firstN": true, "$lastN": true, "$minN": true, "$maxN": true,
	"$top": true, "$bottom": true, "$topN": true, "$bottomN": true, "$median": true, "$percentile": true,
}

func parseSetWindowFields(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.FailedToParse, "the $setWindowFields stage specification must be an object, found %s", bsonutil.TypeName(spec))
	}
	st := &windowStage{baseStage: baseStage{name, spec}, pc: pc}
	var output bson.D
	hasOutput := false
	for _, e := range d {
		switch e.Key {
		case "partitionBy":
			if _, isObj := e.Value.(bson.D); !isObj {
				if _, isStr := e.Value.(string); !isStr {
					if _, isArr := e.Value.(bson.A); isArr {
						return nil, mongoerr.New(mongoerr.TypeMismatch, "An expression used to partition cannot evaluate to value of type array")
					}
				}
			}
			p, err := parseExpr(e.Value)
			if err != nil {
				return nil, err
			}
			st.partition = p
		case "sortBy":
			sd, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$setWindowFields.sortBy' is the wrong type '%s', expected type 'object'", bsonutil.TypeName(e.Value))
			}
			s, err := query.NewSort(sd)
			if err != nil {
				return nil, err
			}
			st.sortSpec, st.sort = sd, s
		case "output":
			od, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$setWindowFields.output' is the wrong type '%s', expected type 'object'", bsonutil.TypeName(e.Value))
			}
			output, hasOutput = od, true
		default:
			return nil, mongoerr.Newf(40415, "BSON field '$setWindowFields.%s' is an unknown field.", e.Key)
		}
	}
	if !hasOutput {
		return nil, mongoerr.New(40414, "BSON field '$setWindowFields.output' is missing but a required field")
	}
	for _, o := range output {
		wo, err := st.parseOutput(o.Key, o.Value)
		if err != nil {
			return nil, err
		}
		st.outs = append(st.outs, wo)
	}
	return st, nil
}

func (st *windowStage) parseOutput(field string, v any) (*windowOut, error) {
	if err := checkFieldPath(field); err != nil {
		return nil, err
	}
	d, ok := v.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.FailedToParse, "Window function specification for '%s' must be an object, found %s", field, bsonutil.TypeName(v))
	}
	wo := &windowOut{path: strings.Split(field, ".")}
	var fnArg any
	haveFn := false
	var winSpec bson.D
	haveWin := false
	for _, e := range d {
		if e.Key == "window" {
			w, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.New(mongoerr.FailedToParse, "'window' field must be an object")
			}
			winSpec, haveWin = w, true
			continue
		}
		if !strings.HasPrefix(e.Key, "$") {
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "'%s' is not a valid window function specification field", e.Key)
		}
		if haveFn {
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "Window function specification for '%s' may only contain one window function, found %s and %s", field, wo.op, e.Key)
		}
		wo.op, fnArg, haveFn = e.Key, e.Value, true
	}
	if !haveFn {
		return nil, mongoerr.Newf(mongoerr.FailedToParse, "Window function specification for '%s' must contain a window function", field)
	}
	sortFields := len(st.sortSpec)
	needSort := func(exactlyOne bool) error {
		if sortFields == 0 || (exactlyOne && sortFields != 1) {
			return mongoerr.Newf(5371602, "%s must be specified with a top level sortBy expression with exactly one element", wo.op)
		}
		return nil
	}
	noWindow := func() error {
		if haveWin {
			return mongoerr.Newf(mongoerr.FailedToParse, "%s does not accept a 'window' field", wo.op)
		}
		return nil
	}
	var err error
	switch {
	case windowAccumulators[wo.op]:
		if wo.acc, err = parseAccumulator(field, wo.op, fnArg); err != nil {
			if me := mongoerr.As(err); me != nil && me.Code == 15952 {
				return nil, mongoerr.Newf(5397900, "Unrecognized window function, %s", wo.op)
			}
			return nil, err
		}
	case wo.op == "$rank" || wo.op == "$denseRank" || wo.op == "$documentNumber":
		if ad, ok := fnArg.(bson.D); !ok || len(ad) != 0 {
			return nil, mongoerr.Newf(5371603, "%s must be specified with an empty object", wo.op)
		}
		if err := noWindow(); err != nil {
			return nil, err
		}
		if err := needSort(wo.op != "$documentNumber"); err != nil {
			return nil, err
		}
	case wo.op == "$shift":
		if err := noWindow(); err != nil {
			return nil, err
		}
		if err := needSort(false); err != nil {
			return nil, err
		}
		args, ok := fnArg.(bson.D)
		if !ok {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Argument to $shift must be an object")
		}
		haveBy := false
		for _, a := range args {
			switch a.Key {
			case "output":
				if wo.input, err = parseExpr(a.Value); err != nil {
					return nil, err
				}
			case "by":
				n, ok := toInt64Arg(a.Value)
				if !ok || n > math.MaxInt32 || n < math.MinInt32 {
					return nil, mongoerr.New(mongoerr.FailedToParse, "'$shift:by' field must be an integer, but found "+fmtValue(a.Value))
				}
				wo.by, haveBy = n, true
			case "default":
				if wo.def, err = parseExpr(a.Value); err != nil {
					return nil, err
				}
				if _, isConst := expr.IsConstant(wo.def); !isConst {
					return nil, mongoerr.New(mongoerr.FailedToParse, "'$shift:default' expression must yield a constant value.")
				}
			default:
				return nil, mongoerr.Newf(mongoerr.FailedToParse, "Unknown argument in $shift: %s", a.Key)
			}
		}
		if wo.input == nil {
			return nil, mongoerr.New(mongoerr.FailedToParse, "$shift requires an 'output' expression.")
		}
		if !haveBy {
			return nil, mongoerr.New(mongoerr.FailedToParse, "$shift requires 'by' as an integer value.")
		}
	case wo.op == "$locf":
		if err := noWindow(); err != nil {
			return nil, err
		}
		if wo.input, err = parseExpr(fnArg); err != nil {
			return nil, err
		}
	case wo.op == "$linearFill":
		if err := noWindow(); err != nil {
			return nil, err
		}
		if err := needSort(true); err != nil {
			return nil, err
		}
		if wo.input, err = parseExpr(fnArg); err != nil {
			return nil, err
		}
	case wo.op == "$expMovingAvg":
		if err := noWindow(); err != nil {
			return nil, err
		}
		if err := needSort(false); err != nil {
			return nil, err
		}
		if err := wo.parseExpMovingAvg(fnArg); err != nil {
			return nil, err
		}
	case wo.op == "$derivative" || wo.op == "$integral":
		if err := needSort(true); err != nil {
			return nil, err
		}
		if err := wo.parseInputUnit(fnArg); err != nil {
			return nil, err
		}
		if wo.op == "$derivative" && !haveWin {
			return nil, mongoerr.New(5624900, "$derivative requires explicit window bounds")
		}
	case wo.op == "$covariancePop" || wo.op == "$covarianceSamp":
		arr, ok := fnArg.(bson.A)
		if !ok || len(arr) != 2 {
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "%s requires an array of two expressions", wo.op)
		}
		if wo.input, err = parseExpr(arr[0]); err != nil {
			return nil, err
		}
		if wo.input2, err = parseExpr(arr[1]); err != nil {
			return nil, err
		}
	default:
		return nil, mongoerr.Newf(5397900, "Unrecognized window function, %s", wo.op)
	}
	if haveWin {
		b, err := parseWindowBounds(winSpec, sortFields)
		if err != nil {
			return nil, err
		}
		wo.bounds = b
	}
	return wo, nil
}

func (wo *windowOut) parseExpMovingAvg(arg any) error {
	d, ok := arg.(bson.D)
	if !ok {
		return mongoerr.New(mongoerr.FailedToParse, "$expMovingAvg must have exactly one of 'N' or 'alpha' and an 'input'")
	}
	haveN, haveAlpha := false, false
	for _, e := range d {
		switch e.Key {
		case "input":
			x, err := parseExpr(e.Value)
			if err != nil {
				return err
			}
			wo.input = x
		case "N":
			n, ok := toInt64Arg(e.Value)
			if !ok || n <= 0 {
				return mongoerr.New(mongoerr.FailedToParse, "'N' field must be an integer, but found type "+bsonutil.TypeName(e.Value))
			}
			wo.alpha, haveN = 2/(float64(n)+1), true
		case "alpha":
			a, ok := bsonutil.ToFloat64(e.Value)
			if !ok || a <= 0 || a >= 1 {
				return mongoerr.New(mongoerr.FailedToParse, "'alpha' must be between 0 and 1 (exclusive), found "+fmtValue(e.Value))
			}
			wo.alpha, haveAlpha = a, true
		default:
			return mongoerr.Newf(mongoerr.FailedToParse, "Got unrecognized field in $expMovingAvg: %s", e.Key)
		}
	}
	if wo.input == nil || haveN == haveAlpha {
		return mongoerr.New(mongoerr.FailedToParse, "$expMovingAvg must have exactly one of 'N' or 'alpha' and an 'input'")
	}
	return nil
}

func (wo *windowOut) parseInputUnit(arg any) error {
	d, ok := arg.(bson.D)
	if !ok {
		return mongoerr.Newf(mongoerr.FailedToParse, "%s expects an object with 'input' and optional 'unit'", wo.op)
	}
	for _, e := range d {
		switch e.Key {
		case "input":
			x, err := parseExpr(e.Value)
			if err != nil {
				return err
			}
			wo.input = x
		case "unit":
			u, ok := e.Value.(string)
			if !ok || unitMillis(u) == 0 {
				return mongoerr.Newf(5490704, "%s 'unit' must be a fixed time unit (week, day, hour, minute, second, millisecond), found %s", wo.op, fmtValue(e.Value))
			}
			wo.unit = u
		default:
			return mongoerr.Newf(mongoerr.FailedToParse, "%s got unexpected argument: %s", wo.op, e.Key)
		}
	}
	if wo.input == nil {
		return mongoerr.Newf(mongoerr.FailedToParse, "%s requires an 'input' expression", wo.op)
	}
	return nil
}

// unitMillis returns the length of a fixed time unit, 0 for others.
func unitMillis(u string) float64 {
	switch u {
	case "week":
		return 7 * 24 * 3600e3
	case "day":
		return 24 * 3600e3
	case "hour":
		return 3600e3
	case "minute":
		return 60e3
	case "second":
		return 1e3
	case "millisecond":
		return 1
	}
	return 0
}

var timeUnits = map[string]bool{"year": true, "quarter": true, "month": true, "week": true, "day": true,
	"hour": true, "minute": true, "second": true, "millisecond": true}

func parseWindowBounds(d bson.D, sortFields int) (*windowBounds, error) {
	b := &windowBounds{}
	var spec any
	haveDocs, haveRange := false, false
	for _, e := range d {
		switch e.Key {
		case "documents":
			spec, haveDocs, b.docs = e.Value, true, true
		case "range":
			spec, haveRange = e.Value, true
		case "unit":
			u, ok := e.Value.(string)
			if !ok || !timeUnits[u] {
				return nil, mongoerr.Newf(mongoerr.FailedToParse, "unknown time unit value: %s", fmtValue(e.Value))
			}
			b.unit = u
		default:
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "'window' field can only contain 'documents' as the only argument or 'range' with an optional 'unit' field, found %s", e.Key)
		}
	}
	if haveDocs == haveRange {
		return nil, mongoerr.New(mongoerr.FailedToParse, "'window' field must contain exactly one of 'documents' or 'range'")
	}
	if b.docs && b.unit != "" {
		return nil, mongoerr.New(mongoerr.FailedToParse, "'unit' is only valid with a 'range' window")
	}
	arr, ok := spec.(bson.A)
	if !ok || len(arr) != 2 {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Window bounds must be a 2-element array")
	}
	parse := func(v any) (windowBound, error) {
		if s, ok := v.(string); ok {
			switch s {
			case "unbounded":
				return windowBound{kind: boundUnbounded}, nil
			case "current":
				return windowBound{kind: boundCurrent}, nil
			}
			return windowBound{}, mongoerr.Newf(mongoerr.FailedToParse, "Window bounds must be 'unbounded', 'current', or a number, found %s", fmtValue(v))
		}
		if b.docs {
			n, ok := toInt64Arg(v)
			if !ok {
				return windowBound{}, mongoerr.Newf(mongoerr.FailedToParse, "Numeric document-based bounds must be an integer, found %s", fmtValue(v))
			}
			return windowBound{kind: boundValue, n: n}, nil
		}
		if !bsonutil.IsNumber(v) {
			return windowBound{}, mongoerr.Newf(mongoerr.FailedToParse, "Range-based bounds expression must be a number, found %s", fmtValue(v))
		}
		if b.unit != "" {
			if _, ok := toInt64Arg(v); !ok {
				return windowBound{}, mongoerr.New(5490703, "With 'unit', range-based bounds must be an integer")
			}
		}
		return windowBound{kind: boundValue, v: v}, nil
	}
	var err error
	if b.lo, err = parse(arr[0]); err != nil {
		return nil, err
	}
	if b.hi, err = parse(arr[1]); err != nil {
		return nil, err
	}
	// Lower bound must not exceed the upper bound.
	lo, hi := boundOrder(b, b.lo), boundOrder(b, b.hi)
	if b.hi.kind == boundUnbounded {
		hi = math.Inf(1)
	}
	if lo > hi {
		return nil, mongoerr.New(5339900, "Lower bound must not exceed upper bound")
	}
	if !b.docs && sortFields != 1 {
		return nil, mongoerr.New(5339902, "Range-based window requires sortBy a single field")
	}
	if b.docs && (b.lo.kind != boundUnbounded || b.hi.kind != boundUnbounded) && sortFields == 0 {
		return nil, mongoerr.New(5339901, "Document-based bounds require a sortBy")
	}
	return b, nil
}

func boundOrder(b *windowBounds, w windowBound) float64 {
	switch w.kind {
	case boundCurrent:
		return 0
	case boundValue:
		if b.docs {
			return float64(w.n)
		}
		f, _ := bsonutil.ToFloat64(w.v)
		return f
	}
	return math.Inf(-1)
}

// ---- running ----

type windowRow struct {
	doc  bson.D
	part any
	key  query.SortKey
}

// open returns the stage's output as a stream. On the first Next the
// input goes through the external sort by (partition key, sortBy), so
// past the memory limit it fails with 292, or spills sorted runs with
// AllowDiskUse. The sorted documents are then read one partition at a
// time: only the current partition's rows and outputs are held besides
// the sort (a partition larger than the limit is still held whole).
func (st *windowStage) open(ctx context.Context, in Source) (Source, error) {
	r := &windowRun{st: st, in: in}
	return &funcSource{next: r.next, close: r.close}, nil
}

// windowRun is the per-run state of a $setWindowFields.
type windowRun struct {
	st      *windowStage
	in      Source
	sorted  Source     // keyedRecords {k: partition key, d: doc}; nil before the first Next
	pending *windowRow // first row of the next partition
	out     []bson.D   // the current partition's results not yet handed out
	n       int        // records read from sorted
	done    bool       // sorted is exhausted
	err     error      // the error that ended the run
}

func (r *windowRun) close() error { return closeSorted(r.sorted, r.in) }

func (r *windowRun) next(ctx context.Context) (bson.D, error) {
	if r.err != nil {
		return nil, r.err
	}
	for len(r.out) == 0 {
		if r.done {
			return nil, io.EOF
		}
		if err := r.fill(ctx); err != nil {
			r.err = err
			return nil, err
		}
	}
	d := r.out[0]
	r.out[0] = nil
	r.out = r.out[1:]
	return d, nil
}

// fill computes the next partition's results into r.out.
func (r *windowRun) fill(ctx context.Context) error {
	st := r.st
	if r.sorted == nil {
		mem := newMemTracker("$setWindowFields", st.pc.opts)
		src, _, err := sortByValue(ctx, r.in, mem, recordOrder{then: st.sort}, st.partitionKey)
		if err != nil {
			return err
		}
		r.sorted = src
	}
	var rows []windowRow
	if r.pending != nil {
		rows = append(rows, *r.pending)
		r.pending = nil
	}
	for {
		if r.n&1023 == 0 {
			if err := checkCtx(ctx); err != nil {
				return err
			}
		}
		rec, err := r.sorted.Next(ctx)
		if err == io.EOF {
			r.done = true
			break
		}
		if err != nil {
			return err
		}
		r.n++
		part, doc, ok := recordParts(rec)
		if !ok {
			return errBadRecord
		}
		row := windowRow{doc: doc, part: part}
		if st.sort != nil {
			row.key = st.sort.Key(doc)
		}
		if len(rows) > 0 && bsonutil.Compare(part, rows[0].part) != 0 {
			r.pending = &row
			break
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil
	}
	out, err := st.partitionResults(rows)
	if err != nil {
		return err
	}
	r.out = out
	return nil
}

// partitionKey evaluates partitionBy for doc (null without one).
func (st *windowStage) partitionKey(doc bson.D) (any, error) {
	if st.partition == nil {
		return nil, nil
	}
	v, err := evalDoc(st.partition, st.pc.vars, doc)
	if err != nil {
		return nil, err
	}
	if _, isArr := v.(bson.A); isArr {
		return nil, mongoerr.New(mongoerr.TypeMismatch, "An expression used to partition cannot evaluate to value of type array")
	}
	return nullIfMissing(v), nil
}

func (st *windowStage) partitionResults(rows []windowRow) ([]bson.D, error) {
	vals := make([][]any, len(st.outs))
	for i, wo := range st.outs {
		v, err := st.compute(wo, rows)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	out := make([]bson.D, len(rows))
	for r := range rows {
		d := rows[r].doc
		for i, wo := range st.outs {
			d = setPath(d, wo.path, vals[i][r])
		}
		out[r] = d
	}
	return out, nil
}

func (st *windowStage) evalAll(e expr.Expr, rows []windowRow) ([]any, error) {
	out := make([]any, len(rows))
	for i, r := range rows {
		v, err := evalDoc(e, st.pc.vars, r.doc)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// sortValue is the value of the single sortBy field of row i.
func sortValue(rows []windowRow, i int) any {
	if len(rows[i].key) == 0 {
		return nil
	}
	return rows[i].key[0]
}

func (st *windowStage) compute(wo *windowOut, rows []windowRow) ([]any, error) {
	n := len(rows)
	out := make([]any, n)
	switch wo.op {
	case "$documentNumber":
		for i := range rows {
			out[i] = intValue(int64(i + 1))
		}
		return out, nil
	case "$rank", "$denseRank":
		rank, dense := int64(0), int64(0)
		for i := range rows {
			if i == 0 || st.sort.CompareKeys(rows[i].key, rows[i-1].key) != 0 {
				rank = int64(i + 1)
				dense++
			}
			if wo.op == "$rank" {
				out[i] = intValue(rank)
			} else {
				out[i] = intValue(dense)
			}
		}
		return out, nil
	case "$shift":
		var def any
		if wo.def != nil {
			def, _ = wo.def.Eval(st.pc.vars)
		}
		for i := range rows {
			j := int64(i) + wo.by
			if j < 0 || j >= int64(n) {
				out[i] = nullIfMissing(def)
				continue
			}
			v, err := evalDoc(wo.input, st.pc.vars, rows[j].doc)
			if err != nil {
				return nil, err
			}
			out[i] = nullIfMissing(v)
		}
		return out, nil
	case "$locf":
		vals, err := st.evalAll(wo.input, rows)
		if err != nil {
			return nil, err
		}
		var last any
		for i, v := range vals {
			if !bsonutil.IsNullish(v) {
				last = v
			}
			out[i] = last
		}
		return out, nil
	case "$linearFill":
		return st.linearFill(wo, rows)
	case "$expMovingAvg":
		vals, err := st.evalAll(wo.input, rows)
		if err != nil {
			return nil, err
		}
		var avg float64
		have := false
		for i, v := range vals {
			if !bsonutil.IsNumber(v) {
				out[i] = nil
				continue
			}
			x, _ := bsonutil.ToFloat64(v)
			if !have {
				avg, have = x, true
			} else {
				avg = wo.alpha*x + (1-wo.alpha)*avg
			}
			out[i] = avg
		}
		return out, nil
	}
	// Functions over a window of documents.
	if wo.acc != nil {
		return st.accumulate(wo, rows)
	}
	for i := range rows {
		lo, hi, err := st.windowRange(wo, rows, i)
		if err != nil {
			return nil, err
		}
		v, err := st.overWindow(wo, rows, lo, hi)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// windowRange returns the window of row i as [lo, hi).
func (st *windowStage) windowRange(wo *windowOut, rows []windowRow, i int) (int, int, error) {
	n := len(rows)
	b := wo.bounds
	if b == nil {
		return 0, n, nil
	}
	if b.docs {
		lo, hi := 0, n
		switch b.lo.kind {
		case boundCurrent:
			lo = i
		case boundValue:
			lo = clampInt(int64(i)+b.lo.n, 0, int64(n))
		}
		switch b.hi.kind {
		case boundCurrent:
			hi = i + 1
		case boundValue:
			hi = clampInt(int64(i)+b.hi.n+1, 0, int64(n))
		}
		if hi < lo {
			hi = lo
		}
		return lo, hi, nil
	}
	// Range window over the single sortBy field.
	cur := sortValue(rows, i)
	loV, hasLo, err := rangeEdge(b, b.lo, cur)
	if err != nil {
		return 0, 0, err
	}
	hiV, hasHi, err := rangeEdge(b, b.hi, cur)
	if err != nil {
		return 0, 0, err
	}
	lo, hi := n, 0
	for j := range rows {
		v := sortValue(rows, j)
		if hasLo && bsonutil.Compare(v, loV) < 0 {
			continue
		}
		if hasHi && bsonutil.Compare(v, hiV) > 0 {
			continue
		}
		if j < lo {
			lo = j
		}
		if j+1 > hi {
			hi = j + 1
		}
	}
	if hi < lo {
		return 0, 0, nil
	}
	return lo, hi, nil
}

// rangeEdge computes a range window edge for sort value cur.
func rangeEdge(b *windowBounds, w windowBound, cur any) (any, bool, error) {
	switch w.kind {
	case boundUnbounded:
		return nil, false, nil
	case boundCurrent:
		return cur, true, nil
	}
	v, err := shiftValue(b, cur, w.v)
	return v, true, err
}

// shiftValue returns cur + off (off in b.unit for dates).
func shiftValue(b *windowBounds, cur any, off any) (any, error) {
	if b.unit != "" {
		dt, ok := cur.(bson.DateTime)
		if !ok {
			return nil, mongoerr.Newf(5429513, "Invalid range: Expected the sortBy field to be a Date, but it was %s", bsonutil.TypeName(cur))
		}
		n, _ := toInt64Arg(off)
		return addUnits(dt, b.unit, n), nil
	}
	if !bsonutil.IsNumber(cur) {
		return nil, mongoerr.Newf(5429414, "Invalid range: Expected the sortBy field to be a number, but it was %s", bsonutil.TypeName(cur))
	}
	return expr.Add(cur, off)
}

func addUnits(dt bson.DateTime, unit string, n int64) bson.DateTime {
	t := dt.Time().UTC()
	switch unit {
	case "year":
		t = t.AddDate(int(n), 0, 0)
	case "quarter":
		t = t.AddDate(0, 3*int(n), 0)
	case "month":
		t = t.AddDate(0, int(n), 0)
	default:
		return bson.DateTime(int64(dt) + n*int64(unitMillis(unit)))
	}
	return bson.NewDateTimeFromTime(t)
}

func clampInt(v, lo, hi int64) int {
	if v < lo {
		return int(lo)
	}
	if v > hi {
		return int(hi)
	}
	return int(v)
}

// accumulate computes an accumulator window function for every row. A
// window that only grows (same lower edge) is computed incrementally.
func (st *windowStage) accumulate(wo *windowOut, rows []windowRow) ([]any, error) {
	out := make([]any, len(rows))
	var acc accumulator
	accLo, accHi := 0, 0
	for i := range rows {
		lo, hi, err := st.windowRange(wo, rows, i)
		if err != nil {
			return nil, err
		}
		if wo.bounds == nil && i > 0 {
			out[i] = out[0] // whole partition: the same for every row
			continue
		}
		from := lo
		if acc != nil && lo == accLo && hi >= accHi {
			from = accHi
		} else {
			if acc, err = wo.acc.newAcc(nil, st.pc.vars); err != nil {
				return nil, err
			}
		}
		var sc docScope
		for j := from; j < hi; j++ {
			sc.reset(st.pc.vars, rows[j].doc)
			if _, err := acc.add(&sc); err != nil {
				return nil, err
			}
		}
		accLo, accHi = lo, max(hi, from)
		v, err := acc.result()
		if err != nil {
			return nil, err
		}
		// Later additions may modify the state's arrays in place.
		out[i] = bsonutil.DeepCopy(v)
	}
	return out, nil
}

// overWindow computes a non-accumulator window function over rows[lo:hi].
func (st *windowStage) overWindow(wo *windowOut, rows []windowRow, lo, hi int) (any, error) {
	switch wo.op {
	case "$derivative":
		if hi-lo < 2 {
			return nil, nil
		}
		x1, y1, err := st.point(wo, rows, lo)
		if err != nil {
			return nil, err
		}
		x2, y2, err := st.point(wo, rows, hi-1)
		if err != nil {
			return nil, err
		}
		if x2 == x1 {
			return nil, nil
		}
		return (y2 - y1) / (x2 - x1), nil
	case "$integral":
		if hi-lo < 2 {
			if hi-lo == 1 {
				return 0.0, nil
			}
			return nil, nil
		}
		sum := 0.0
		px, py, err := st.point(wo, rows, lo)
		if err != nil {
			return nil, err
		}
		for j := lo + 1; j < hi; j++ {
			x, y, err := st.point(wo, rows, j)
			if err != nil {
				return nil, err
			}
			sum += (x - px) * (y + py) / 2
			px, py = x, y
		}
		return sum, nil
	case "$covariancePop", "$covarianceSamp":
		var xs, ys []float64
		for j := lo; j < hi; j++ {
			a, err := evalDoc(wo.input, st.pc.vars, rows[j].doc)
			if err != nil {
				return nil, err
			}
			b, err := evalDoc(wo.input2, st.pc.vars, rows[j].doc)
			if err != nil {
				return nil, err
			}
			if !bsonutil.IsNumber(a) || !bsonutil.IsNumber(b) {
				continue
			}
			x, _ := bsonutil.ToFloat64(a)
			y, _ := bsonutil.ToFloat64(b)
			xs, ys = append(xs, x), append(ys, y)
		}
		k := len(xs)
		if k == 0 || (wo.op == "$covarianceSamp" && k < 2) {
			return nil, nil
		}
		var mx, my float64
		for j := range xs {
			mx += xs[j]
			my += ys[j]
		}
		mx /= float64(k)
		my /= float64(k)
		var c float64
		for j := range xs {
			c += (xs[j] - mx) * (ys[j] - my)
		}
		if wo.op == "$covarianceSamp" {
			return c / float64(k-1), nil
		}
		return c / float64(k), nil
	}
	return nil, mongoerr.Newf(5397900, "Unrecognized window function, %s", wo.op)
}

// point returns the (x, y) of row j for $derivative and $integral: x is
// the sortBy value (dates in units of wo.unit), y the input.
func (st *windowStage) point(wo *windowOut, rows []windowRow, j int) (float64, float64, error) {
	xv := sortValue(rows, j)
	var x float64
	switch v := xv.(type) {
	case bson.DateTime:
		if wo.unit == "" {
			return 0, 0, mongoerr.Newf(5624901, "%s where the sortBy is a Date requires a 'unit'", wo.op)
		}
		x = float64(v) / unitMillis(wo.unit)
	default:
		if wo.unit != "" {
			return 0, 0, mongoerr.Newf(5624900, "%s with 'unit' expects the sortBy field to be a Date", wo.op)
		}
		f, ok := bsonutil.ToFloat64(v)
		if !ok || !bsonutil.IsNumber(v) {
			return 0, 0, mongoerr.Newf(5624900, "%s requires a numeric or Date sortBy value, found %s", wo.op, bsonutil.TypeName(v))
		}
		x = f
	}
	yv, err := evalDoc(wo.input, st.pc.vars, rows[j].doc)
	if err != nil {
		return 0, 0, err
	}
	y, ok := bsonutil.ToFloat64(yv)
	if !ok || !bsonutil.IsNumber(yv) {
		return 0, 0, mongoerr.Newf(5423901, "%s input must be numeric, found %s", wo.op, bsonutil.TypeName(yv))
	}
	return x, y, nil
}

func (st *windowStage) linearFill(wo *windowOut, rows []windowRow) ([]any, error) {
	vals, err := st.evalAll(wo.input, rows)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(rows))
	xs := make([]float64, len(rows))
	for i := range rows {
		sv := sortValue(rows, i)
		switch v := sv.(type) {
		case bson.DateTime:
			xs[i] = float64(v)
		default:
			f, ok := bsonutil.ToFloat64(v)
			if !ok || !bsonutil.IsNumber(v) {
				return nil, mongoerr.Newf(6050106, "$linearFill requires a numeric or date sortBy value, found %s", bsonutil.TypeName(v))
			}
			xs[i] = f
		}
		if i > 0 && xs[i] == xs[i-1] {
			return nil, mongoerr.New(6050106, "There can be no repeated values in the sort field for $linearFill")
		}
	}
	prev := -1
	for i, v := range vals {
		if bsonutil.IsNullish(v) {
			continue
		}
		if !bsonutil.IsNumber(v) {
			return nil, mongoerr.Newf(6050106, "Value to be filled by $linearFill must be numeric, found %s", bsonutil.TypeName(v))
		}
		out[i] = v
		if prev >= 0 && i-prev > 1 {
			y0, _ := bsonutil.ToFloat64(vals[prev])
			y1, _ := bsonutil.ToFloat64(v)
			for j := prev + 1; j < i; j++ {
				out[j] = y0 + (y1-y0)*(xs[j]-xs[prev])/(xs[i]-xs[prev])
			}
		}
		prev = i
	}
	return out, nil
}
