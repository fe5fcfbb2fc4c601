package aggregate

import (
	"context"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ---- $lookup ----

type letVar struct {
	name string
	e    expr.Expr
}

type lookupStage struct {
	baseStage
	pc           *parseCtx
	from         string
	as           []string
	localField   string
	foreignField string
	lets         []letVar
	pipeline     []bson.D // raw sub-pipeline, nil for none
	parsed       *Pipeline
}

func parseLookup(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(40319, "the $lookup stage specification must be an object, but found %s", bsonutil.TypeName(spec))
	}
	st := &lookupStage{baseStage: baseStage{name, spec}, pc: pc}
	str := func(e bson.E) (string, error) {
		s, ok := e.Value.(string)
		if !ok {
			return "", mongoerr.Newf(mongoerr.FailedToParse, "$lookup argument '%s: %s' must be a string, is type %s", e.Key, fmtValue(e.Value), bsonutil.TypeName(e.Value))
		}
		return s, nil
	}
	var as string
	var haveLocal, haveForeign, havePipe, haveFrom bool
	var letSpec bson.D
	var err error
	for _, e := range d {
		switch e.Key {
		case "from":
			if st.from, err = str(e); err != nil {
				return nil, err
			}
			haveFrom = true
		case "as":
			if as, err = str(e); err != nil {
				return nil, err
			}
		case "localField":
			if st.localField, err = str(e); err != nil {
				return nil, err
			}
			haveLocal = true
		case "foreignField":
			if st.foreignField, err = str(e); err != nil {
				return nil, err
			}
			haveForeign = true
		case "let":
			l, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.FailedToParse, "$lookup argument 'let' must be an object, is type %s", bsonutil.TypeName(e.Value))
			}
			letSpec = l
		case "pipeline":
			docs, err := toStageList(e.Value, "$lookup.pipeline", mongoerr.FailedToParse)
			if err != nil {
				return nil, err
			}
			st.pipeline, havePipe = docs, true
		default:
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "unknown argument to $lookup: %s", e.Key)
		}
	}
	if as == "" {
		return nil, mongoerr.New(mongoerr.FailedToParse, "must specify 'as' field for a $lookup")
	}
	if err := checkFieldPath(as); err != nil {
		return nil, err
	}
	st.as = strings.Split(as, ".")
	if haveLocal != haveForeign {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$lookup requires both or neither of 'localField' and 'foreignField' to be specified")
	}
	if !haveLocal && !havePipe {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified")
	}
	if letSpec != nil && !havePipe {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$lookup with 'let' must also specify 'pipeline'")
	}
	if !haveFrom && !(havePipe && len(st.pipeline) > 0 && len(st.pipeline[0]) == 1 && st.pipeline[0][0].Key == "$documents") {
		return nil, mongoerr.New(mongoerr.FailedToParse, "must specify 'from' field for a $lookup")
	}
	if haveLocal {
		if err := checkFieldPath(st.localField); err != nil {
			return nil, err
		}
		if err := checkFieldPath(st.foreignField); err != nil {
			return nil, err
		}
	}
	for _, e := range letSpec {
		if err := checkVarName(e.Key); err != nil {
			return nil, err
		}
		le, err := parseExpr(e.Value)
		if err != nil {
			return nil, err
		}
		st.lets = append(st.lets, letVar{e.Key, le})
	}
	if havePipe {
		// Validate the sub-pipeline now, with the let variables bound to
		// null; it is recompiled per input document with their values.
		sub := *pc
		sub.inSub = true
		sub.vars = st.bindLets(pc.vars)
		p, err := parsePipeline(st.pipeline, &sub)
		if err != nil {
			return nil, err
		}
		if len(st.lets) == 0 {
			st.parsed = p
		}
	}
	return st, nil
}

// checkVarName validates a user variable name as MongoDB does.
func checkVarName(name string) error {
	if name == "" {
		return mongoerr.New(16869, "empty variable names are not allowed")
	}
	c := name[0]
	if !(c >= 'a' && c <= 'z') && c < 0x80 {
		return mongoerr.Newf(16870, "'%s' starts with an invalid character for a user variable name", name)
	}
	for _, r := range name {
		if !(r == '_' || r >= 0x80 || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return mongoerr.Newf(16871, "'%s' contains an invalid character for a variable name: '%c'", name, r)
		}
	}
	return nil
}

// bindLets binds every let variable to null (for validating the
// sub-pipeline at parse time).
func (s *lookupStage) bindLets(vars *expr.Vars) *expr.Vars {
	out := vars
	for _, l := range s.lets {
		out = out.With(l.name, nil)
	}
	return out
}

func (s *lookupStage) letVars(doc bson.D) (*expr.Vars, error) {
	ev := s.pc.vars.WithRoot(doc)
	out := s.pc.vars
	for _, l := range s.lets {
		v, err := l.e.Eval(ev)
		if err != nil {
			return nil, err
		}
		out = out.With(l.name, nullIfMissing(v))
	}
	return out, nil
}

// localValues returns the values localField matches on: every value at
// the path with arrays expanded; none at all counts as null.
func localValues(doc bson.D, path string) []any {
	out := query.PathValues(doc, path)
	if len(out) == 0 {
		out = append(out, nil)
	}
	return out
}

// equalityFilter builds {field: {$in: vals}}, or an $or of $eq when some
// value is a regex (which $in would treat as a pattern).
func equalityFilter(field string, vals []any) bson.D {
	regex := false
	for _, v := range vals {
		if _, ok := v.(bson.Regex); ok {
			regex = true
		}
	}
	if !regex {
		in := make(bson.A, len(vals))
		copy(in, vals)
		return bson.D{{Key: field, Value: bson.D{{Key: "$in", Value: in}}}}
	}
	or := make(bson.A, len(vals))
	for i, v := range vals {
		or[i] = bson.D{{Key: field, Value: bson.D{{Key: "$eq", Value: v}}}}
	}
	return bson.D{{Key: "$or", Value: or}}
}

func (s *lookupStage) open(ctx context.Context, in Source) (Source, error) {
	var foreign []bson.D
	var idx *foreignIndex
	loaded := false
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		d, err := in.Next(ctx)
		if err != nil {
			return nil, err
		}
		if !loaded && s.from != "" {
			if foreign, err = scanAll(ctx, s.pc.opts.Env, s.pc.opts.DB, s.from, "$lookup"); err != nil {
				return nil, err
			}
			if s.localField != "" {
				idx = newForeignIndex(foreign, s.foreignField)
			}
		}
		loaded = true
		res, err := s.lookup(ctx, d, foreign, idx)
		if err != nil {
			return nil, err
		}
		return setPath(d, s.as, res), nil
	}}, nil
}

func (s *lookupStage) lookup(ctx context.Context, d bson.D, foreign []bson.D, idx *foreignIndex) (bson.A, error) {
	matched := foreign
	if s.localField != "" {
		local := localValues(d, s.localField)
		m, err := query.NewMatcher(equalityFilter(s.foreignField, local), nil)
		if err != nil {
			return nil, err
		}
		candidates := foreign
		if idx != nil {
			candidates = idx.candidates(foreign, local)
		}
		matched = nil
		for _, f := range candidates {
			ok, err := m.Match(f)
			if err != nil {
				return nil, err
			}
			if ok {
				matched = append(matched, f)
			}
		}
	}
	var docs []bson.D
	if s.pipeline == nil {
		docs = matched
	} else {
		p := s.parsed
		if p == nil {
			vars, err := s.letVars(d)
			if err != nil {
				return nil, err
			}
			sub := *s.pc
			sub.inSub = true
			sub.vars = vars
			if p, err = parsePipeline(s.pipeline, &sub); err != nil {
				return nil, err
			}
		}
		src, err := p.Run(ctx, SliceSource(append([]bson.D(nil), matched...)))
		if err != nil {
			return nil, err
		}
		if docs, err = ReadAll(ctx, src); err != nil {
			return nil, err
		}
	}
	out := make(bson.A, len(docs))
	for i, m := range docs {
		out[i] = m
	}
	return out, nil
}

// foreignIndex is an in-memory hash index of the foreign collection on
// foreignField for localField/foreignField $lookups. It maps the hash key
// of every value an equality match on the path could see (array elements,
// whole arrays, and null where the path is missing somewhere) to the
// positions of the documents; candidates are then confirmed with the
// matcher, so the index only has to produce a superset.
type foreignIndex struct {
	m map[string][]int
}

func newForeignIndex(foreign []bson.D, path string) *foreignIndex {
	parts := strings.Split(path, ".")
	idx := &foreignIndex{m: map[string][]int{}}
	var vals []any
	for i, d := range foreign {
		vals = vals[:0]
		equalityKeys(d, parts, &vals)
		seen := map[string]bool{}
		for _, v := range vals {
			k := keyString(v)
			if !seen[k] {
				seen[k] = true
				idx.m[k] = append(idx.m[k], i)
			}
		}
	}
	return idx
}

// equalityKeys collects the values at parts below v that an equality
// predicate could match; nil stands for missing values.
func equalityKeys(v any, parts []string, out *[]any) {
	if bsonutil.IsMissing(v) {
		*out = append(*out, nil)
		return
	}
	if len(parts) == 0 {
		if bsonutil.IsNullish(v) {
			*out = append(*out, nil)
		}
		*out = append(*out, v)
		if a, ok := v.(bson.A); ok {
			for _, e := range a {
				*out = append(*out, e)
			}
		}
		return
	}
	switch x := v.(type) {
	case bson.D:
		equalityKeys(bsonutil.Get(x, parts[0]), parts[1:], out)
	case bson.A:
		for _, e := range x {
			equalityKeys(e, parts, out)
		}
		if i, err := strconv.Atoi(parts[0]); err == nil && i >= 0 && i < len(x) {
			equalityKeys(x[i], parts[1:], out)
		}
		*out = append(*out, nil)
	default:
		*out = append(*out, nil)
	}
}

// candidates returns, in collection order, the documents whose index keys
// include one of the local values.
func (idx *foreignIndex) candidates(foreign []bson.D, local []any) []bson.D {
	var pos []int
	for _, v := range local {
		pos = append(pos, idx.m[keyString(v)]...)
		if bsonutil.IsNullish(v) {
			pos = append(pos, idx.m[keyString(nil)]...)
		}
	}
	if len(pos) == 0 {
		return nil
	}
	sort.Ints(pos)
	out := make([]bson.D, 0, len(pos))
	for i, p := range pos {
		if i > 0 && pos[i-1] == p {
			continue
		}
		out = append(out, foreign[p])
	}
	return out
}

// ---- $unionWith ----

type unionWithStage struct {
	baseStage
	pc   *parseCtx
	coll string
	pipe *Pipeline
}

func parseUnionWith(pc *parseCtx, name string, spec any) (Stage, error) {
	st := &unionWithStage{baseStage: baseStage{name, spec}, pc: pc}
	switch v := spec.(type) {
	case string:
		st.coll = v
	case bson.D:
		for _, e := range v {
			switch e.Key {
			case "coll":
				s, ok := e.Value.(string)
				if !ok {
					return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$unionWith.coll' is the wrong type '%s', expected type 'string'", bsonutil.TypeName(e.Value))
				}
				st.coll = s
			case "pipeline":
				p, err := parseSubPipeline(pc, e.Value, "$unionWith.pipeline", mongoerr.TypeMismatch)
				if err != nil {
					return nil, err
				}
				st.pipe = p
			default:
				return nil, mongoerr.Newf(40415, "BSON field '$unionWith.%s' is an unknown field.", e.Key)
			}
		}
		if st.coll == "" && st.pipe == nil {
			return nil, mongoerr.New(40414, "BSON field '$unionWith.coll' is missing but a required field")
		}
	default:
		return nil, mongoerr.Newf(mongoerr.FailedToParse, "the $unionWith stage specification must be an object or string, but found %s", bsonutil.TypeName(spec))
	}
	return st, nil
}

func (s *unionWithStage) open(ctx context.Context, in Source) (Source, error) {
	var second Source
	inDone := false
	return &funcSource{
		close: func() error {
			err := in.Close()
			if second != nil {
				if e := second.Close(); err == nil {
					err = e
				}
			}
			return err
		},
		next: func(ctx context.Context) (bson.D, error) {
			if !inDone {
				d, err := in.Next(ctx)
				if err != io.EOF {
					return d, err
				}
				inDone = true
			}
			if second == nil {
				var docs []bson.D
				if s.coll != "" {
					var err error
					if docs, err = scanAll(ctx, s.pc.opts.Env, s.pc.opts.DB, s.coll, "$unionWith"); err != nil {
						return nil, err
					}
				}
				var src Source = SliceSource(docs)
				if s.pipe != nil {
					var err error
					if src, err = s.pipe.Run(ctx, src); err != nil {
						return nil, err
					}
				}
				second = src
			}
			return second.Next(ctx)
		},
	}, nil
}

// ---- $graphLookup ----

type graphLookupStage struct {
	baseStage
	pc          *parseCtx
	from        string
	startWith   expr.Expr
	connectFrom string
	connectTo   string
	as          []string
	maxDepth    int64 // -1: unlimited
	depthField  []string
	restrict    *query.Matcher
}

func parseGraphLookup(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.FailedToParse, "the $graphLookup stage specification must be an object, but found %s", bsonutil.TypeName(spec))
	}
	st := &graphLookupStage{baseStage: baseStage{name, spec}, pc: pc, maxDepth: -1}
	var as, depthField string
	haveStart := false
	for _, e := range d {
		switch e.Key {
		case "from", "as", "connectFromField", "connectToField", "depthField":
			s, ok := e.Value.(string)
			if !ok {
				return nil, mongoerr.Newf(40103, "expected string as argument for %s, found: %s", e.Key, fmtValue(e.Value))
			}
			if e.Key != "from" {
				if err := checkFieldPath(s); err != nil {
					return nil, err
				}
			}
			switch e.Key {
			case "from":
				st.from = s
			case "as":
				as = s
			case "connectFromField":
				st.connectFrom = s
			case "connectToField":
				st.connectTo = s
			case "depthField":
				depthField = s
			}
		case "startWith":
			se, err := parseExpr(e.Value)
			if err != nil {
				return nil, err
			}
			st.startWith, haveStart = se, true
		case "maxDepth":
			if !bsonutil.IsNumber(e.Value) {
				return nil, mongoerr.Newf(40100, "maxDepth must be numeric, found type: %s", bsonutil.TypeName(e.Value))
			}
			n, ok := toInt64Arg(e.Value)
			if !ok {
				return nil, mongoerr.Newf(40102, "maxDepth could not be represented as a long long: %s", fmtValue(e.Value))
			}
			if n < 0 {
				return nil, mongoerr.Newf(40101, "maxDepth requires a nonnegative argument, found: %d", n)
			}
			st.maxDepth = n
		case "restrictSearchWithMatch":
			f, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(40185, "restrictSearchWithMatch must be an object, found %s", bsonutil.TypeName(e.Value))
			}
			m, err := query.NewMatcher(f, &query.Options{Vars: pc.vars})
			if err != nil {
				return nil, err
			}
			st.restrict = m
		default:
			return nil, mongoerr.Newf(40104, "Unknown argument to $graphLookup: %s", e.Key)
		}
	}
	if st.from == "" || as == "" || !haveStart || st.connectFrom == "" || st.connectTo == "" {
		return nil, mongoerr.New(40105, "from, as, startWith, connectFromField and connectToField must all be specified.")
	}
	st.as = strings.Split(as, ".")
	if depthField != "" {
		st.depthField = strings.Split(depthField, ".")
	}
	return st, nil
}

func (s *graphLookupStage) open(ctx context.Context, in Source) (Source, error) {
	var foreign []bson.D
	loaded := false
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		d, err := in.Next(ctx)
		if err != nil {
			return nil, err
		}
		if !loaded {
			if foreign, err = scanAll(ctx, s.pc.opts.Env, s.pc.opts.DB, s.from, "$graphLookup"); err != nil {
				return nil, err
			}
			if s.restrict != nil {
				kept := foreign[:0]
				for _, f := range foreign {
					ok, err := s.restrict.Match(f)
					if err != nil {
						return nil, err
					}
					if ok {
						kept = append(kept, f)
					}
				}
				foreign = kept
			}
			loaded = true
		}
		res, err := s.search(ctx, d, foreign)
		if err != nil {
			return nil, err
		}
		return setPath(d, s.as, res), nil
	}}, nil
}

// search runs the breadth-first traversal for one input document.
func (s *graphLookupStage) search(ctx context.Context, d bson.D, foreign []bson.D) (bson.A, error) {
	start, err := evalDoc(s.startWith, s.pc.vars, d)
	if err != nil {
		return nil, err
	}
	frontier := newValueSet()
	var fvals []any
	addFrontier := func(v any) {
		if arr, ok := v.(bson.A); ok {
			for _, e := range arr {
				if frontier.add(e) {
					fvals = append(fvals, e)
				}
			}
			return
		}
		if frontier.add(v) {
			fvals = append(fvals, v)
		}
	}
	addFrontier(nullIfMissing(start))
	visited := make([]bool, len(foreign))
	var out bson.A
	for depth := int64(0); len(fvals) > 0 && (s.maxDepth < 0 || depth <= s.maxDepth); depth++ {
		if err := checkCtx(ctx); err != nil {
			return nil, err
		}
		cur := fvals
		curSet := frontier
		frontier, fvals = newValueSet(), nil
		for i, f := range foreign {
			if visited[i] || !matchesAny(f, s.connectTo, cur, curSet) {
				continue
			}
			visited[i] = true
			res := f
			if s.depthField != nil {
				res = setPath(f, s.depthField, depth)
			}
			out = append(out, res)
			for _, v := range query.PathValues(f, s.connectFrom) {
				addFrontier(v)
			}
		}
	}
	if out == nil {
		out = bson.A{}
	}
	return out, nil
}

// matchesAny reports whether some value of doc at path equals a value in
// set (missing counts as null).
func matchesAny(doc bson.D, path string, vals []any, set *valueSet) bool {
	dv := query.PathValues(doc, path)
	if len(dv) == 0 {
		dv = []any{nil}
	}
	for _, v := range dv {
		k := keyString(v)
		for _, o := range set.m[k] {
			if bsonutil.Compare(o, v) == 0 {
				return true
			}
		}
	}
	return false
}
