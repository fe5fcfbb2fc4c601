package aggregate

import (
	"context"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// isGroupByExpr reports whether v has the shape MongoDB accepts for a
// groupBy: a "$path" string or an operator expression object.
func isGroupByExpr(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.HasPrefix(x, "$")
	case bson.D:
		return isExpressionObject(x)
	}
	return false
}

// parseOutput compiles an output spec of accumulators; nil spec gives
// the default {count: {$sum: 1}}.
func parseOutput(spec any, code mongoerr.Code, stage string) ([]*accDef, error) {
	if spec == nil {
		def, err := parseAccumulator("count", "$sum", int32(1))
		if err != nil {
			return nil, err
		}
		return []*accDef{def}, nil
	}
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(code, "The %s 'output' field must be an object, but found type: %s.", stage, bsonutil.TypeName(spec))
	}
	out := make([]*accDef, 0, len(d))
	for _, e := range d {
		def, err := parseAccField(e.Key, e.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, def)
	}
	return out, nil
}

// ---- $sortByCount ----

type sortByCountStage struct {
	baseStage
	g *groupSpec
}

func parseSortByCount(pc *parseCtx, name string, spec any) (Stage, error) {
	switch x := spec.(type) {
	case string:
		if !strings.HasPrefix(x, "$") {
			return nil, mongoerr.New(40148, "the sortByCount field must be defined as a $-prefixed path or an expression")
		}
	case bson.D:
		if !isExpressionObject(x) {
			return nil, mongoerr.New(40147, "the sortByCount field must be defined as a $-prefixed path or an expression")
		}
	default:
		return nil, mongoerr.New(40149, "the sortByCount field must be specified as a string or as an object")
	}
	id, err := parseExpr(spec)
	if err != nil {
		return nil, err
	}
	cnt, err := parseAccumulator("count", "$sum", int32(1))
	if err != nil {
		return nil, err
	}
	g := &groupSpec{stage: "$sortByCount", id: newArgExpr(spec, id), accs: []*accDef{cnt}, vars: pc.vars, opts: pc.opts}
	return &sortByCountStage{baseStage{name, spec}, g}, nil
}

func (s *sortByCountStage) open(ctx context.Context, in Source) (Source, error) {
	return lazySource(in, func(ctx context.Context) ([]bson.D, error) {
		docs, err := s.g.run(ctx, in)
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(docs, func(a, b bson.D) int { return bsonutil.Compare(b[1].Value, a[1].Value) })
		return docs, nil
	}), nil
}

// ---- $bucket ----

type bucketStage struct {
	baseStage
	groupBy    expr.Expr
	boundaries bson.A
	def        any
	hasDefault bool
	g          *groupSpec
}

func parseBucket(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(40201, "Argument to $bucket stage must be an object, but found type: %s.", bsonutil.TypeName(spec))
	}
	st := &bucketStage{baseStage: baseStage{name, spec}}
	var groupBy, output any = bsonutil.Missing, nil
	haveBounds := false
	for _, e := range d {
		switch e.Key {
		case "groupBy":
			if !isGroupByExpr(e.Value) {
				return nil, mongoerr.Newf(40202, "The $bucket 'groupBy' field must be defined as a $-prefixed path or an expression, but found: %s.", fmtValue(e.Value))
			}
			groupBy = e.Value
		case "boundaries":
			arr, ok := e.Value.(bson.A)
			if !ok {
				return nil, mongoerr.Newf(40200, "The $bucket 'boundaries' field must be an array, but found type: %s.", bsonutil.TypeName(e.Value))
			}
			st.boundaries, haveBounds = arr, true
		case "default":
			st.def, st.hasDefault = e.Value, true
		case "output":
			if _, ok := e.Value.(bson.D); !ok {
				return nil, mongoerr.Newf(40196, "The $bucket 'output' field must be an object, but found type: %s.", bsonutil.TypeName(e.Value))
			}
			output = e.Value
		default:
			return nil, mongoerr.Newf(40197, "Unrecognized option to $bucket: %s.", e.Key)
		}
	}
	if bsonutil.IsMissing(groupBy) || !haveBounds {
		return nil, mongoerr.New(40198, "$bucket requires 'groupBy' and 'boundaries' to be specified.")
	}
	b := st.boundaries
	if len(b) < 2 {
		return nil, mongoerr.Newf(40192, "The $bucket 'boundaries' field must have at least 2 values, but found %d value(s).", len(b))
	}
	for i := 1; i < len(b); i++ {
		if bsonutil.Rank(b[i-1]) != bsonutil.Rank(b[i]) {
			return nil, mongoerr.Newf(40193, "All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types %s and %s.", bsonutil.TypeName(b[i-1]), bsonutil.TypeName(b[i]))
		}
		if bsonutil.Compare(b[i-1], b[i]) >= 0 {
			return nil, mongoerr.Newf(40194, "The 'boundaries' option to $bucket must be sorted, but elements %d and %d are not in ascending order (%s is not less than %s).", i-1, i, fmtValue(b[i-1]), fmtValue(b[i]))
		}
	}
	if st.hasDefault && bsonutil.Rank(st.def) == bsonutil.Rank(b[0]) &&
		bsonutil.Compare(st.def, b[0]) >= 0 && bsonutil.Compare(st.def, b[len(b)-1]) < 0 {
		return nil, mongoerr.New(40199, "The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.")
	}
	var err error
	if st.groupBy, err = parseExpr(groupBy); err != nil {
		return nil, err
	}
	accs, err := parseOutput(output, 40196, "$bucket")
	if err != nil {
		return nil, err
	}
	st.g = &groupSpec{stage: "$bucket", accs: accs, vars: pc.vars, opts: pc.opts}
	return st, nil
}

func (s *bucketStage) open(ctx context.Context, in Source) (Source, error) {
	return lazySource(in, func(ctx context.Context) ([]bson.D, error) {
		r := s.g.newRun()
		b := s.boundaries
		err := drain(ctx, in, func(doc bson.D) error {
			r.sc.reset(s.g.vars, doc)
			v, err := s.groupBy.Eval(r.sc.scope())
			if err != nil {
				return err
			}
			v = nullIfMissing(v)
			var key any
			if bsonutil.Rank(v) == bsonutil.Rank(b[0]) && bsonutil.Compare(v, b[0]) >= 0 && bsonutil.Compare(v, b[len(b)-1]) < 0 {
				i := sort.Search(len(b), func(i int) bool { return bsonutil.Compare(b[i], v) > 0 })
				key = b[i-1]
			} else if s.hasDefault {
				key = s.def
			} else {
				return mongoerr.New(40066, "$switch could not find a matching branch for an input, and no default was specified.")
			}
			return r.addScoped(key)
		})
		if err != nil {
			return nil, err
		}
		docs, err := r.results()
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(docs, func(x, y bson.D) int { return bsonutil.Compare(x[0].Value, y[0].Value) })
		return docs, nil
	}), nil
}

// ---- $bucketAuto ----

type bucketAutoStage struct {
	baseStage
	groupBy expr.Expr
	buckets int
	accs    []*accDef
	gran    rounder // nil without 'granularity'
	vars    *expr.Vars
	opts    *Options
}

func parseBucketAuto(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(40240, "The argument to $bucketAuto must be an object, but found type: %s.", bsonutil.TypeName(spec))
	}
	st := &bucketAutoStage{baseStage: baseStage{name, spec}, vars: pc.vars, opts: pc.opts}
	var groupBy, output any = bsonutil.Missing, nil
	for _, e := range d {
		switch e.Key {
		case "groupBy":
			if !isGroupByExpr(e.Value) {
				return nil, mongoerr.Newf(40239, "The $bucketAuto 'groupBy' field must be defined as a $-prefixed path or an expression object, but found: %s.", fmtValue(e.Value))
			}
			groupBy = e.Value
		case "buckets":
			if !bsonutil.IsNumber(e.Value) {
				return nil, mongoerr.Newf(40241, "The $bucketAuto 'buckets' field must be a numeric value, but found type: %s.", bsonutil.TypeName(e.Value))
			}
			n, ok := toInt64Arg(e.Value)
			if !ok || n > math.MaxInt32 || n < math.MinInt32 {
				return nil, mongoerr.Newf(40242, "The $bucketAuto 'buckets' field must be representable as a 32-bit integer, but found %s.", fmtValue(e.Value))
			}
			if n <= 0 {
				return nil, mongoerr.Newf(40243, "The $bucketAuto 'buckets' field must be greater than 0, but found: %d.", n)
			}
			st.buckets = int(n)
		case "output":
			if _, ok := e.Value.(bson.D); !ok {
				return nil, mongoerr.Newf(40244, "The $bucketAuto 'output' field must be an object, but found type: %s.", bsonutil.TypeName(e.Value))
			}
			output = e.Value
		case "granularity":
			name, ok := e.Value.(string)
			if !ok {
				return nil, mongoerr.Newf(40261, "The $bucketAuto 'granularity' field must be a string, but found type: %s", bsonutil.TypeName(e.Value))
			}
			g, err := newRounder(name)
			if err != nil {
				return nil, err
			}
			st.gran = g
		default:
			return nil, mongoerr.Newf(40245, "Unrecognized option to $bucketAuto: %s.", e.Key)
		}
	}
	if bsonutil.IsMissing(groupBy) || st.buckets == 0 {
		return nil, mongoerr.New(40246, "$bucketAuto requires 'groupBy' and 'buckets' to be specified")
	}
	var err error
	if st.groupBy, err = parseExpr(groupBy); err != nil {
		return nil, err
	}
	if st.accs, err = parseOutput(output, 40244, "$bucketAuto"); err != nil {
		return nil, err
	}
	return st, nil
}

// open returns the buckets as a stream. On the first Next the input is
// sorted by the groupBy value through the external sort (so past the
// memory limit it fails with 292, or spills sorted runs with
// AllowDiskUse), which also counts the documents; the sorted documents
// are then dealt into buckets one after the other, and each bucket is
// handed out as soon as the first document of the next one is seen. Only
// the open bucket's accumulators are held besides the sort.
func (s *bucketAutoStage) open(ctx context.Context, in Source) (Source, error) {
	r := &bucketAutoRun{s: s, in: in}
	return &funcSource{next: r.next, close: r.close}, nil
}

// bucketAutoRun is the per-run state of a $bucketAuto.
type bucketAutoRun struct {
	s      *bucketAutoStage
	in     Source
	mem    *memTracker
	sorted Source // keyedRecords by groupBy value; nil before the first Next
	approx int    // documents per bucket
	num    int    // buckets started
	cur    *autoBucket
	n      int // records read from sorted
	done   bool
	err    error // the error that ended the run
	sc     docScope
	// prevMax is the max of the last bucket returned (with a
	// granularity, the next bucket's min).
	prevMax  any
	havePrev bool
}

// autoBucket is the bucket being filled.
type autoBucket struct {
	min, last any // first (or, with a granularity, rounded) and latest groupBy value
	count     int
	accs      []accumulator
	bound     any // with a granularity: the rounded-up max, once computed
	haveBound bool
}

func (r *bucketAutoRun) close() error { return closeSorted(r.sorted, r.in) }

func (r *bucketAutoRun) next(ctx context.Context) (bson.D, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	d, err := r.step(ctx)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return d, err
}

// step returns the next bucket.
func (r *bucketAutoRun) step(ctx context.Context) (bson.D, error) {
	s := r.s
	if r.sorted == nil {
		r.mem = newMemTracker("$bucketAuto", s.opts)
		src, n, err := sortByValue(ctx, r.in, r.mem, recordOrder{}, func(doc bson.D) (any, error) {
			v, err := evalDoc(s.groupBy, s.vars, doc)
			if err != nil {
				return nil, err
			}
			if s.gran != nil {
				if err := checkGranularityValue(v); err != nil {
					return nil, err
				}
			}
			return nullIfMissing(v), nil
		})
		if err != nil {
			return nil, err
		}
		r.sorted = src
		r.approx = max(int(math.Round(float64(n)/float64(s.buckets))), 1)
	}
	for {
		if r.n&1023 == 0 {
			if err := checkCtx(ctx); err != nil {
				return nil, err
			}
		}
		rec, err := r.sorted.Next(ctx)
		if err == io.EOF {
			r.done = true
			if r.cur == nil {
				return nil, io.EOF
			}
			// The last bucket's max is its largest value (rounded up
			// with a granularity).
			hi := r.cur.last
			if s.gran != nil {
				if hi, err = r.boundary(); err != nil {
					return nil, err
				}
			}
			return r.finish(hi)
		}
		if err != nil {
			return nil, err
		}
		r.n++
		key, doc, ok := recordParts(rec)
		if !ok {
			return nil, errBadRecord
		}
		// A bucket closes once it holds approx documents and the value
		// changes (equal values stay in one bucket), except the last
		// bucket, which takes the rest. Its max is the next one's min.
		// With a granularity, the bucket's max is its value after approx
		// documents rounded up, and it also takes the values below that.
		var out bson.D
		if r.cur != nil && r.num < s.buckets && r.cur.count >= r.approx {
			if out, err = r.maybeClose(key); err != nil {
				return nil, err
			}
		}
		if r.cur == nil {
			if err := r.start(key); err != nil {
				return nil, err
			}
		}
		if err := r.add(key, doc); err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
}

// maybeClose closes the open bucket (which holds at least approx
// documents and is not the last) if key does not belong to it, returning
// its document.
func (r *bucketAutoRun) maybeClose(key any) (bson.D, error) {
	if r.s.gran == nil {
		if bsonutil.Compare(key, r.cur.last) == 0 {
			return nil, nil
		}
		return r.finish(key)
	}
	hi, err := r.boundary()
	if err != nil {
		return nil, err
	}
	if bsonutil.Compare(hi, key) > 0 {
		return nil, nil
	}
	// A bucket whose values are all 0 has the boundary 0: its max is the
	// next value rounded down instead (MongoDB's special case), so that
	// the max stays exclusive.
	if f, _ := bsonutil.ToFloat64(hi); f == 0 {
		if hi, err = r.s.gran.roundDown(key); err != nil {
			return nil, err
		}
	}
	return r.finish(hi)
}

// boundary returns the open bucket's rounded-up max, computed once from
// its largest value when it first holds approx documents (or at the
// end).
func (r *bucketAutoRun) boundary() (any, error) {
	if !r.cur.haveBound {
		b, err := r.s.gran.roundUp(r.cur.last)
		if err != nil {
			return nil, err
		}
		r.cur.bound, r.cur.haveBound = b, true
	}
	return r.cur.bound, nil
}

// checkGranularityValue refuses groupBy values that cannot be rounded
// (MongoDB checks every value as it sorts them).
func checkGranularityValue(v any) error {
	if !bsonutil.IsNumber(v) {
		return mongoerr.Newf(40258, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a value with type: %s", bsonutil.TypeName(v))
	}
	f, _ := bsonutil.ToFloat64(v)
	if math.IsNaN(f) {
		return mongoerr.New(40259, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a NaN")
	}
	if f < 0 {
		return mongoerr.New(40260, "$bucketAuto can specify a 'granularity' with non-negative numbers only, but found a negative number")
	}
	return nil
}

// start opens the next bucket with min value key. Like MongoDB, the
// accumulators' initializers see no group key (there is no single one
// per bucket).
func (r *bucketAutoRun) start(key any) error {
	b := &autoBucket{min: key, accs: make([]accumulator, len(r.s.accs))}
	if r.s.gran != nil {
		// With a granularity a bucket starts where the previous one
		// ended; the first one at its smallest value rounded down.
		if r.havePrev {
			b.min = r.prevMax
		} else {
			m, err := r.s.gran.roundDown(key)
			if err != nil {
				return err
			}
			b.min = m
		}
	}
	for i, def := range r.s.accs {
		a, err := def.newAcc(nil, r.s.vars)
		if err != nil {
			return err
		}
		b.accs[i] = a
	}
	r.cur = b
	r.num++
	return r.mem.add(64 * int64(len(b.accs)+1))
}

func (r *bucketAutoRun) add(key any, doc bson.D) error {
	b := r.cur
	r.sc.reset(r.s.vars, doc)
	if err := addAll(b.accs, &r.sc, r.mem); err != nil {
		return err
	}
	b.last = key
	b.count++
	return nil
}

// finish closes the open bucket with max value hi and returns its
// document.
func (r *bucketAutoRun) finish(hi any) (bson.D, error) {
	b := r.cur
	r.cur = nil
	r.prevMax, r.havePrev = hi, true
	d := make(bson.D, 0, len(b.accs)+1)
	d = append(d, bson.E{Key: "_id", Value: bson.D{{Key: "min", Value: b.min}, {Key: "max", Value: hi}}})
	for i, a := range b.accs {
		v, err := a.result()
		if err != nil {
			return nil, err
		}
		d = append(d, bson.E{Key: r.s.accs[i].field, Value: v})
	}
	return d, nil
}
