package aggregate

import (
	"context"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ---- $match ----

type matchStage struct {
	baseStage
	filter bson.D
	m      *query.Matcher
}

func parseMatch(pc *parseCtx, name string, spec any) (Stage, error) {
	f, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.New(15959, "the match filter must be an expression in an object")
	}
	m, err := query.NewMatcher(f, &query.Options{Vars: pc.vars, Collation: pc.opts.Collation})
	if err != nil {
		return nil, err
	}
	return &matchStage{baseStage{name, spec}, f, m}, nil
}

func (s *matchStage) open(ctx context.Context, in Source) (Source, error) {
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		for {
			d, err := in.Next(ctx)
			if err != nil {
				return nil, err
			}
			ok, err := s.m.Match(d)
			if err != nil {
				return nil, err
			}
			if ok {
				return d, nil
			}
		}
	}}, nil
}

// ---- $limit / $skip ----

type limitStage struct {
	baseStage
	n int64
}

func parseLimit(pc *parseCtx, name string, spec any) (Stage, error) {
	n, ok := toInt64Arg(spec)
	if !ok {
		if bsonutil.IsNumber(spec) {
			return nil, mongoerr.Newf(15957, "the limit must be specified as a number: invalid argument to $limit stage: Cannot represent as a 64-bit integer: $limit: %s", fmtValue(spec))
		}
		return nil, mongoerr.Newf(15957, "the limit must be specified as a number")
	}
	if n <= 0 {
		return nil, mongoerr.Newf(15958, "the limit must be positive")
	}
	return &limitStage{baseStage{name, spec}, n}, nil
}

func (s *limitStage) open(ctx context.Context, in Source) (Source, error) {
	var seen int64
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		if seen >= s.n {
			return nil, io.EOF
		}
		d, err := in.Next(ctx)
		if err != nil {
			return nil, err
		}
		seen++
		return d, nil
	}}, nil
}

type skipStage struct {
	baseStage
	n int64
}

func parseSkip(pc *parseCtx, name string, spec any) (Stage, error) {
	n, ok := toInt64Arg(spec)
	if !ok {
		return nil, mongoerr.Newf(15972, "Argument to $skip must be a number")
	}
	if n < 0 {
		return nil, mongoerr.Newf(15956, "Argument to $skip cannot be negative")
	}
	return &skipStage{baseStage{name, spec}, n}, nil
}

func (s *skipStage) open(ctx context.Context, in Source) (Source, error) {
	skipped := int64(0)
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		for skipped < s.n {
			if _, err := in.Next(ctx); err != nil {
				return nil, err
			}
			skipped++
		}
		return in.Next(ctx)
	}}, nil
}

// ---- $count ----

type countStage struct {
	baseStage
	field string
}

func parseCount(pc *parseCtx, name string, spec any) (Stage, error) {
	f, ok := spec.(string)
	switch {
	case !ok:
		return nil, mongoerr.New(40156, "the count field must be a non-empty string")
	case f == "":
		return nil, mongoerr.New(40157, "the count field must be a non-empty string")
	case strings.HasPrefix(f, "$"):
		return nil, mongoerr.New(40158, "the count field cannot be a $-prefixed path")
	case strings.Contains(f, "."):
		return nil, mongoerr.New(40160, "the count field cannot contain '.'")
	case strings.ContainsRune(f, 0):
		return nil, mongoerr.New(40159, "the count field cannot contain a null byte")
	}
	return &countStage{baseStage{name, spec}, f}, nil
}

func (s *countStage) open(ctx context.Context, in Source) (Source, error) {
	done := false
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		var n int64
		if err := drain(ctx, in, func(bson.D) error { n++; return nil }); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, io.EOF
		}
		return bson.D{{Key: s.field, Value: intValue(n)}}, nil
	}}, nil
}

// intValue returns n as int32 when it fits, else int64 (MongoDB's
// "safe number" choice for counts).
func intValue(n int64) any {
	if n >= -1<<31 && n < 1<<31 {
		return int32(n)
	}
	return n
}

// ---- $sort ----

type sortStage struct {
	baseStage
	spec bson.D
	sort *query.Sort
	pc   *parseCtx
}

func parseSort(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.New(15973, "the $sort key specification must be an object")
	}
	if len(d) == 0 {
		return nil, mongoerr.New(15976, "$sort stage must have at least one sort key")
	}
	s, err := query.NewSortCollation(d, pc.opts.Collation)
	if err != nil {
		return nil, err
	}
	return &sortStage{baseStage: baseStage{name, spec}, spec: d, sort: s, pc: pc}, nil
}

func (s *sortStage) open(ctx context.Context, in Source) (Source, error) {
	var out Source
	return &funcSource{
		close: func() error {
			if out != nil {
				out.Close()
			}
			return in.Close()
		},
		next: func(ctx context.Context) (bson.D, error) {
			if out == nil {
				x := &externalSort{order: s.sort, mem: newMemTracker("$sort", s.pc.opts)}
				if err := drain(ctx, in, x.add); err != nil {
					x.close()
					return nil, err
				}
				src, err := x.result()
				if err != nil {
					return nil, err
				}
				out = src
			}
			return out.Next(ctx)
		}}, nil
}

// ---- $unset ----

type unsetStage struct {
	baseStage
	paths [][]string
}

func parseUnset(pc *parseCtx, name string, spec any) (Stage, error) {
	var fields []string
	switch v := spec.(type) {
	case string:
		fields = []string{v}
	case bson.A:
		if len(v) == 0 {
			return nil, mongoerr.New(31119, "$unset specification must be a string or an array with at least one field")
		}
		for _, e := range v {
			f, ok := e.(string)
			if !ok {
				return nil, mongoerr.New(31120, "$unset specification must be a string or an array containing only string values")
			}
			fields = append(fields, f)
		}
	default:
		return nil, mongoerr.New(31002, "$unset specification must be a string or an array")
	}
	st := &unsetStage{baseStage: baseStage{name, spec}}
	for _, f := range fields {
		if err := checkFieldPath(f); err != nil {
			return nil, err
		}
		st.paths = append(st.paths, strings.Split(f, "."))
	}
	return st, nil
}

func (s *unsetStage) open(ctx context.Context, in Source) (Source, error) {
	return mapSource(in, func(d bson.D) (bson.D, error) {
		for _, p := range s.paths {
			d = removePath(d, p)
		}
		return d, nil
	}), nil
}

// mapSource applies fn to every document of in.
func mapSource(in Source, fn func(bson.D) (bson.D, error)) Source {
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		d, err := in.Next(ctx)
		if err != nil {
			return nil, err
		}
		return fn(d)
	}}
}

// ---- $replaceRoot / $replaceWith ----

type replaceRootStage struct {
	baseStage
	e    expr.Expr
	vars *expr.Vars
}

func parseReplaceRoot(pc *parseCtx, name string, spec any) (Stage, error) {
	arg := spec
	if name == "$replaceRoot" {
		d, ok := spec.(bson.D)
		if !ok {
			return nil, mongoerr.Newf(40229, "expected an object as specification for $replaceRoot stage, got %s", bsonutil.TypeName(spec))
		}
		arg = bsonutil.Missing
		for _, e := range d {
			if e.Key != "newRoot" {
				return nil, mongoerr.Newf(40415, "BSON field '$replaceRoot.%s' is an unknown field.", e.Key)
			}
			arg = e.Value
		}
		if bsonutil.IsMissing(arg) {
			return nil, mongoerr.New(40414, "BSON field '$replaceRoot.newRoot' is missing but a required field")
		}
	}
	e, err := parseExpr(arg)
	if err != nil {
		return nil, err
	}
	return &replaceRootStage{baseStage{name, spec}, e, pc.vars}, nil
}

func (s *replaceRootStage) open(ctx context.Context, in Source) (Source, error) {
	return mapSource(in, func(d bson.D) (bson.D, error) {
		v, err := evalDoc(s.e, s.vars, d)
		if err != nil {
			return nil, err
		}
		nd, ok := v.(bson.D)
		if !ok {
			what := "'newRoot' expression "
			if s.name == "$replaceWith" {
				what = "'replacement document' "
			}
			return nil, mongoerr.Newf(40228, "%smust evaluate to an object, but resulting value was: %s. Type of resulting value: '%s'. Input document: %s",
				what, fmtValue(v), bsonutil.TypeName(v), fmtValue(d))
		}
		return nd, nil
	}), nil
}

// ---- $sample ----

type sampleStage struct {
	baseStage
	size int64
}

func parseSample(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.New(28745, "the $sample stage specification must be an object")
	}
	size := int64(-1)
	for _, e := range d {
		if e.Key != "size" {
			return nil, mongoerr.Newf(28748, "unrecognized option to $sample: %s", e.Key)
		}
		n, ok := toInt64Arg(e.Value)
		if !ok {
			if f, isF := bsonutil.ToFloat64(e.Value); isF && f >= 0 {
				n, ok = int64(f), true
			}
		}
		if !ok {
			return nil, mongoerr.New(28746, "size argument to $sample must be a number")
		}
		if n < 0 {
			return nil, mongoerr.New(28747, "size argument to $sample must not be negative")
		}
		size = n
	}
	if size < 0 {
		return nil, mongoerr.New(28749, "$sample stage must specify a size")
	}
	return &sampleStage{baseStage{name, spec}, size}, nil
}

func (s *sampleStage) open(ctx context.Context, in Source) (Source, error) {
	var out Source
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		if out == nil {
			// Reservoir sampling keeps at most size documents.
			var res []bson.D
			var seen int64
			err := drain(ctx, in, func(d bson.D) error {
				seen++
				if int64(len(res)) < s.size {
					res = append(res, d)
				} else if j := rand.Int64N(seen); j < s.size {
					res[j] = d
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			rand.Shuffle(len(res), func(i, j int) { res[i], res[j] = res[j], res[i] })
			out = SliceSource(res)
		}
		return out.Next(ctx)
	}}, nil
}

// ---- $documents ----

type documentsStage struct {
	baseStage
	e    expr.Expr
	vars *expr.Vars
}

func parseDocuments(pc *parseCtx, name string, spec any) (Stage, error) {
	if pc.index != 0 {
		return nil, mongoerr.New(40602, "$documents is only valid as the first stage in a pipeline")
	}
	e, err := parseExpr(spec)
	if err != nil {
		return nil, err
	}
	return &documentsStage{baseStage{name, spec}, e, pc.vars}, nil
}

func (s *documentsStage) open(ctx context.Context, in Source) (Source, error) {
	in.Close()
	v, err := s.e.Eval(s.vars)
	if err != nil {
		return nil, err
	}
	arr, ok := v.(bson.A)
	if !ok {
		return nil, mongoerr.Newf(5858203, "an array is expected, got %s", bsonutil.TypeName(v))
	}
	docs := make([]bson.D, 0, len(arr))
	for _, e := range arr {
		d, ok := e.(bson.D)
		if !ok {
			return nil, mongoerr.Newf(5858202, "object expected in $documents array, got %s", bsonutil.TypeName(e))
		}
		docs = append(docs, d)
	}
	return SliceSource(docs), nil
}

// ---- $redact ----

type redactStage struct {
	baseStage
	e    expr.Expr
	vars *expr.Vars
}

const (
	redactKeep    = "keep"
	redactPrune   = "prune"
	redactDescend = "descend"
)

func parseRedact(pc *parseCtx, name string, spec any) (Stage, error) {
	e, err := parseExpr(spec)
	if err != nil {
		return nil, err
	}
	vars := pc.vars.With("KEEP", redactKeep).With("PRUNE", redactPrune).With("DESCEND", redactDescend)
	return &redactStage{baseStage{name, spec}, e, vars}, nil
}

func (s *redactStage) open(ctx context.Context, in Source) (Source, error) {
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		for {
			d, err := in.Next(ctx)
			if err != nil {
				return nil, err
			}
			vars := s.vars.WithRoot(d)
			out, keep, err := s.redact(d, vars)
			if err != nil {
				return nil, err
			}
			if keep {
				return out, nil
			}
		}
	}}, nil
}

func (s *redactStage) redact(d bson.D, vars *expr.Vars) (bson.D, bool, error) {
	v, err := s.e.Eval(vars.WithCurrent(d))
	if err != nil {
		return nil, false, err
	}
	switch v {
	case redactKeep:
		return d, true, nil
	case redactPrune:
		return nil, false, nil
	case redactDescend:
		out := make(bson.D, 0, len(d))
		for _, e := range d {
			nv, keep, err := s.redactValue(e.Value, vars)
			if err != nil {
				return nil, false, err
			}
			if keep {
				out = append(out, bson.E{Key: e.Key, Value: nv})
			}
		}
		return out, true, nil
	}
	return nil, false, mongoerr.Newf(17053, "$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned %s", fmtValue(v))
}

func (s *redactStage) redactValue(v any, vars *expr.Vars) (any, bool, error) {
	switch x := v.(type) {
	case bson.D:
		return s.redact(x, vars)
	case bson.A:
		out := make(bson.A, 0, len(x))
		for _, el := range x {
			switch el.(type) {
			case bson.D, bson.A:
				nv, keep, err := s.redactValue(el, vars)
				if err != nil {
					return nil, false, err
				}
				if keep {
					out = append(out, nv)
				}
			default:
				out = append(out, el)
			}
		}
		return out, true, nil
	}
	return v, true, nil
}
