package aggregate

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ---- $densify ----

type densifyStage struct {
	baseStage
	pc        *parseCtx
	field     []string
	partition [][]string
	step      any
	unit      string
	bounds    string // "full", "partition" or "" for explicit
	lo, hi    any
}

func parseDensify(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch, "$densify specification must be an object, found %s", bsonutil.TypeName(spec))
	}
	st := &densifyStage{baseStage: baseStage{name, spec}, pc: pc}
	var rng bson.D
	haveField, haveRange := false, false
	for _, e := range d {
		switch e.Key {
		case "field":
			f, ok := e.Value.(string)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$densify.field' is the wrong type '%s', expected type 'string'", bsonutil.TypeName(e.Value))
			}
			if strings.HasPrefix(f, "$") {
				return nil, mongoerr.New(5733600, "Cannot densify field with '$' prefix")
			}
			if err := checkFieldPath(f); err != nil {
				return nil, err
			}
			st.field, haveField = strings.Split(f, "."), true
		case "partitionByFields":
			arr, ok := e.Value.(bson.A)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$densify.partitionByFields' is the wrong type '%s', expected type 'array'", bsonutil.TypeName(e.Value))
			}
			for _, p := range arr {
				s, ok := p.(string)
				if !ok {
					return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$densify.partitionByFields' elements must be strings, found %s", bsonutil.TypeName(p))
				}
				if strings.HasPrefix(s, "$") {
					return nil, mongoerr.New(8993000, "Cannot densify using a partition field with '$' prefix")
				}
				if err := checkFieldPath(s); err != nil {
					return nil, err
				}
				st.partition = append(st.partition, strings.Split(s, "."))
			}
		case "range":
			r, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$densify.range' is the wrong type '%s', expected type 'object'", bsonutil.TypeName(e.Value))
			}
			rng, haveRange = r, true
		default:
			return nil, mongoerr.Newf(40415, "BSON field '$densify.%s' is an unknown field.", e.Key)
		}
	}
	if !haveField {
		return nil, mongoerr.New(40414, "BSON field '$densify.field' is missing but a required field")
	}
	if !haveRange {
		return nil, mongoerr.New(40414, "BSON field '$densify.range' is missing but a required field")
	}
	var bounds any = bsonutil.Missing
	for _, e := range rng {
		switch e.Key {
		case "step":
			st.step = e.Value
		case "unit":
			u, ok := e.Value.(string)
			if !ok || !timeUnits[u] {
				return nil, mongoerr.Newf(mongoerr.FailedToParse, "unknown time unit value: %s", fmtValue(e.Value))
			}
			st.unit = u
		case "bounds":
			bounds = e.Value
		default:
			return nil, mongoerr.Newf(40415, "BSON field '$densify.range.%s' is an unknown field.", e.Key)
		}
	}
	if st.step == nil {
		return nil, mongoerr.New(40414, "BSON field '$densify.range.step' is missing but a required field")
	}
	if f, ok := bsonutil.ToFloat64(st.step); !ok || !bsonutil.IsNumber(st.step) || !(f > 0) {
		return nil, mongoerr.New(5733401, "the step parameter in a range statement must be a strictly positive numeric value")
	}
	if st.unit != "" {
		if _, ok := toInt64Arg(st.step); !ok {
			return nil, mongoerr.New(5733402, "The step parameter in a range statement must be a whole number when densifying a date range")
		}
	}
	switch b := bounds.(type) {
	case string:
		if b != "full" && b != "partition" {
			return nil, mongoerr.Newf(5946802, "Bounds string must either be 'full' or 'partition', found %s", b)
		}
		st.bounds = b
	case bson.A:
		if len(b) != 2 {
			return nil, mongoerr.New(5733403, "a bounding array in a range statement must have exactly two elements")
		}
		lo, hi := b[0], b[1]
		if st.unit != "" {
			_, okLo := lo.(bson.DateTime)
			_, okHi := hi.(bson.DateTime)
			if !okLo || !okHi {
				return nil, mongoerr.New(5733405, "A bounding array must contain either both dates or both numeric types")
			}
		} else if !bsonutil.IsNumber(lo) || !bsonutil.IsNumber(hi) {
			return nil, mongoerr.New(5733402, "a bounding array must contain either both dates or both numeric types; dates require a 'unit'")
		}
		if bsonutil.Compare(lo, hi) > 0 {
			return nil, mongoerr.New(5733404, "A bounding array in a range statement must be sorted in ascending order")
		}
		st.lo, st.hi = lo, hi
	default:
		if bsonutil.IsMissing(bounds) {
			return nil, mongoerr.New(40414, "BSON field '$densify.range.bounds' is missing but a required field")
		}
		return nil, mongoerr.Newf(5946801, "the bounds in a range statement must be the string 'full', 'partition', or an ascending array of two numbers or two dates, found %s", fmtValue(bounds))
	}
	if st.bounds == "partition" && len(st.partition) == 0 {
		return nil, mongoerr.New(5733408, "one may not specify the bounds as 'partition' without specifying a non-empty array of partitionByFields")
	}
	return st, nil
}

type densifyRow struct {
	doc  bson.D
	part bson.D
	v    any // the field's value; nil when missing or null
}

func (st *densifyStage) open(ctx context.Context, in Source) (Source, error) {
	return lazySource(in, func(ctx context.Context) ([]bson.D, error) { return st.run(ctx, in) }), nil
}

func (st *densifyStage) checkValue(v any) error {
	if st.unit != "" {
		if _, ok := v.(bson.DateTime); !ok {
			return mongoerr.Newf(5733500, "Densify field type must be a date when a unit is given, found %s", bsonutil.TypeName(v))
		}
		return nil
	}
	if !bsonutil.IsNumber(v) {
		return mongoerr.Newf(5733201, "Densify field type must be numeric, found %s", bsonutil.TypeName(v))
	}
	return nil
}

// next returns the value step units after v.
func (st *densifyStage) next(v any, k int64) (any, error) {
	if st.unit != "" {
		n, _ := toInt64Arg(st.step)
		return addUnits(v.(bson.DateTime), st.unit, n*k), nil
	}
	m, err := expr.Multiply(st.step, intValue(k))
	if err != nil {
		return nil, err
	}
	return expr.Add(v, m)
}

func (st *densifyStage) run(ctx context.Context, in Source) ([]bson.D, error) {
	mem := newMemTracker("$densify", st.pc.opts)
	var rows []densifyRow
	var passthrough []bson.D
	err := drain(ctx, in, func(d bson.D) error {
		v := getPath(d, st.field)
		if bsonutil.IsNullish(v) {
			passthrough = append(passthrough, d)
			return nil
		}
		if err := st.checkValue(v); err != nil {
			return err
		}
		r := densifyRow{doc: d, v: v}
		for i, p := range st.partition {
			r.part = append(r.part, bson.E{Key: strconv.Itoa(i), Value: nullIfMissing(getPath(d, p))})
		}
		rows = append(rows, r)
		return mem.add(approxSize(d) + 64)
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if c := bsonutil.Compare(rows[i].part, rows[j].part); c != 0 {
			return c < 0
		}
		return bsonutil.Compare(rows[i].v, rows[j].v) < 0
	})
	lo, hi := st.lo, st.hi
	inclusiveHi := false
	if st.bounds == "full" && len(rows) > 0 {
		lo, hi = rows[0].v, rows[0].v
		for _, r := range rows {
			if bsonutil.Compare(r.v, lo) < 0 {
				lo = r.v
			}
			if bsonutil.Compare(r.v, hi) > 0 {
				hi = r.v
			}
		}
		inclusiveHi = true
	}
	out := passthrough
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && bsonutil.Compare(rows[end].part, rows[start].part) == 0 {
			end++
		}
		part := rows[start:end]
		plo, phi := lo, hi
		if st.bounds == "partition" {
			plo, phi, inclusiveHi = part[0].v, part[len(part)-1].v, true
		}
		docs, err := st.densifyPartition(part, plo, phi, inclusiveHi, mem)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
		start = end
	}
	return out, nil
}

// densifyPartition merges the existing rows of one partition (sorted by
// value) with generated documents for every grid value lo + k*step below
// hi (or up to hi when inclusive) that no document has.
func (st *densifyStage) densifyPartition(rows []densifyRow, lo, hi any, inclusive bool, mem *memTracker) ([]bson.D, error) {
	out := make([]bson.D, 0, len(rows))
	gen := func(v any) error {
		d := bson.D{}
		for i, p := range st.partition {
			if pv := rows[0].part[i].Value; !bsonutil.IsMissing(getPath(rows[0].doc, p)) {
				d = setPath(d, p, pv)
			}
		}
		d = setPath(d, st.field, v)
		out = append(out, d)
		return mem.add(approxSize(d))
	}
	k := int64(0)
	cur := lo
	inRange := func(v any) bool {
		c := bsonutil.Compare(v, hi)
		return c < 0 || (inclusive && c == 0)
	}
	for _, r := range rows {
		// Emit the grid values before r.
		for cur != nil && inRange(cur) && bsonutil.Compare(cur, r.v) < 0 {
			if err := gen(cur); err != nil {
				return nil, err
			}
			k++
			var err error
			if cur, err = st.next(lo, k); err != nil {
				return nil, err
			}
		}
		out = append(out, r.doc)
		for cur != nil && bsonutil.Compare(cur, r.v) == 0 {
			k++
			var err error
			if cur, err = st.next(lo, k); err != nil {
				return nil, err
			}
		}
	}
	for cur != nil && inRange(cur) {
		if err := gen(cur); err != nil {
			return nil, err
		}
		k++
		var err error
		if cur, err = st.next(lo, k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ---- $fill ----

// fillStage runs the $setWindowFields / $addFields stages $fill stands
// for.
type fillStage struct {
	baseStage
	stages []Stage
}

func parseFill(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch, "$fill specification must be an object, found %s", bsonutil.TypeName(spec))
	}
	var partitionBy any = bsonutil.Missing
	var sortBy, output bson.D
	havePartFields, haveOutput := false, false
	for _, e := range d {
		switch e.Key {
		case "partitionBy":
			partitionBy = e.Value
		case "partitionByFields":
			arr, ok := e.Value.(bson.A)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$fill.partitionByFields' is the wrong type '%s', expected type 'array'", bsonutil.TypeName(e.Value))
			}
			pd := bson.D{}
			for i, f := range arr {
				s, ok := f.(string)
				if !ok {
					return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$fill.partitionByFields' elements must be strings, found %s", bsonutil.TypeName(f))
				}
				if err := checkFieldPath(s); err != nil {
					return nil, err
				}
				pd = append(pd, bson.E{Key: "f" + strconv.Itoa(i), Value: "$" + s})
			}
			havePartFields = true
			if !bsonutil.IsMissing(partitionBy) {
				return nil, mongoerr.New(6050204, "Maximum one of 'partitionBy' and 'partitionByFields' can be specified in '$fill'")
			}
			partitionBy = pd
		case "sortBy":
			s, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$fill.sortBy' is the wrong type '%s', expected type 'object'", bsonutil.TypeName(e.Value))
			}
			sortBy = s
		case "output":
			o, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$fill.output' is the wrong type '%s', expected type 'object'", bsonutil.TypeName(e.Value))
			}
			output, haveOutput = o, true
		default:
			return nil, mongoerr.Newf(40415, "BSON field '$fill.%s' is an unknown field.", e.Key)
		}
	}
	if havePartFields && bsonutil.IsMissing(partitionBy) {
		partitionBy = bson.D{}
	}
	if !haveOutput {
		return nil, mongoerr.New(40414, "BSON field '$fill.output' is missing but a required field")
	}
	var values, methods bson.D
	for _, o := range output {
		od, ok := o.Value.(bson.D)
		if !ok || len(od) != 1 {
			return nil, mongoerr.Newf(6050203, "Exactly one of 'value' or 'method' must be specified for the output field '%s' in $fill", o.Key)
		}
		switch od[0].Key {
		case "value":
			values = append(values, bson.E{Key: o.Key, Value: bson.D{{Key: "$ifNull", Value: bson.A{"$" + o.Key, od[0].Value}}}})
		case "method":
			m, _ := od[0].Value.(string)
			switch m {
			case "linear":
				methods = append(methods, bson.E{Key: o.Key, Value: bson.D{{Key: "$linearFill", Value: "$" + o.Key}}})
			case "locf":
				methods = append(methods, bson.E{Key: o.Key, Value: bson.D{{Key: "$locf", Value: "$" + o.Key}}})
			default:
				return nil, mongoerr.Newf(6050202, "Method must be either 'linear' or 'locf', found %s", fmtValue(od[0].Value))
			}
		default:
			return nil, mongoerr.Newf(6050203, "Exactly one of 'value' or 'method' must be specified for the output field '%s' in $fill", o.Key)
		}
	}
	var gen []bson.D
	if len(methods) > 0 {
		if sortBy == nil {
			return nil, mongoerr.New(6050203, "'sortBy' is required when filling with a 'method' in $fill")
		}
		w := bson.D{}
		if !bsonutil.IsMissing(partitionBy) {
			w = append(w, bson.E{Key: "partitionBy", Value: partitionBy})
		}
		w = append(w, bson.E{Key: "sortBy", Value: sortBy}, bson.E{Key: "output", Value: methods})
		gen = append(gen, bson.D{{Key: "$setWindowFields", Value: w}})
	} else if sortBy != nil {
		gen = append(gen, bson.D{{Key: "$sort", Value: sortBy}})
	}
	if len(values) > 0 {
		gen = append(gen, bson.D{{Key: "$addFields", Value: values}})
	}
	st := &fillStage{baseStage: baseStage{name, spec}}
	for _, g := range gen {
		sub := *pc
		parse := stageParsers[g[0].Key]
		s, err := parse(&sub, g[0].Key, g[0].Value)
		if err != nil {
			return nil, err
		}
		st.stages = append(st.stages, s)
	}
	return st, nil
}

func (s *fillStage) open(ctx context.Context, in Source) (Source, error) {
	src := in
	for _, st := range s.stages {
		next, err := st.open(ctx, src)
		if err != nil {
			return nil, err
		}
		src = next
	}
	return src, nil
}
