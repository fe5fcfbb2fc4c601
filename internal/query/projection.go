package query

import (
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/collation"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Projection error codes.
const (
	codeProjComputedInExclusion mongoerr.Code = 31252
	codeProjInclInExcl          mongoerr.Code = mongoerr.Location31253
	codeProjExclInIncl          mongoerr.Code = mongoerr.Location31254
	codeProjPathCollisionPrefix mongoerr.Code = 31249
	codeProjPathCollision       mongoerr.Code = 31250
	codeProjEmptySub            mongoerr.Code = 51270
	codeProjTwoPositional       mongoerr.Code = 31276
	codeProjPositionalMiddle    mongoerr.Code = 31394
	codeProjPositionalNoMatch   mongoerr.Code = 51246
	codeProjSliceArg            mongoerr.Code = 28667
)

type projKind uint8

const (
	pInterior projKind = iota
	pInclude
	pExclude
	pComputed
	pSlice
	pElemMatch
	pPositional
)

type projNode struct {
	kind     projKind
	children map[string]*projNode
	order    []string // children in specification order

	expr      expr.Expr // pComputed (nil for a literal)
	literal   any       // pComputed literal
	skip      int64     // pSlice
	limit     int64     // pSlice
	hasSkip   bool      // pSlice: [skip, limit] form
	elemMatch fieldTest // pElemMatch
	computed  bool      // pInterior: subtree holds computed fields
}

// Projection is a compiled find projection. It is safe for concurrent use.
type Projection struct {
	root       *projNode
	inclusion  bool
	positional bool
	vars       *expr.Vars
}

// NewProjection compiles a find projection: inclusion or exclusion of
// (dotted) fields, embedded projection documents, $slice, $elemMatch,
// positional "a.$", and aggregation expressions or literals as computed
// fields (which make the projection an inclusion projection).
func NewProjection(spec bson.D, opts *Options) (*Projection, error) {
	var vars *expr.Vars
	if opts != nil && opts.Vars != nil {
		vars = opts.Vars
	} else {
		vars = expr.NewVars(nil, bson.NewDateTimeFromTime(time.Now()))
	}
	pp := &projParser{root: &projNode{children: map[string]*projNode{}}, coll: opts.collation()}
	for _, e := range spec {
		if err := pp.add(e.Key, e.Value); err != nil {
			return nil, err
		}
	}
	p := &Projection{root: pp.root, vars: vars, positional: pp.positional}
	switch pp.mode {
	case modeIncl:
		p.inclusion = true
	case modeNone:
		if c := pp.root.children["_id"]; c != nil && c.kind == pInclude {
			p.inclusion = true
		}
	}
	if p.inclusion {
		if _, ok := p.root.children["_id"]; !ok {
			p.root.children["_id"] = &projNode{kind: pInclude}
			p.root.order = append([]string{"_id"}, p.root.order...)
		}
	}
	return p, nil
}

// IsInclusion reports whether the projection returns only named fields.
func (p *Projection) IsInclusion() bool { return p.inclusion }

// HasPositional reports whether the projection uses "a.$" (callers must
// pass the match position to Apply).
func (p *Projection) HasPositional() bool { return p.positional }

type projMode uint8

const (
	modeNone projMode = iota
	modeIncl
	modeExcl
)

type projParser struct {
	coll       *collation.Collation
	root       *projNode
	mode       projMode
	positional bool
}

func (pp *projParser) setMode(path string, n *projNode) error {
	var want projMode
	switch n.kind {
	case pInclude:
		if path == "_id" {
			return nil
		}
		want = modeIncl
	case pExclude:
		if path == "_id" {
			return nil
		}
		want = modeExcl
	case pComputed, pElemMatch, pPositional:
		want = modeIncl
	default:
		return nil
	}
	if pp.mode == modeNone {
		pp.mode = want
		return nil
	}
	if pp.mode == want {
		return nil
	}
	if want == modeExcl {
		return mongoerr.Newf(codeProjExclInIncl, "Cannot do exclusion on field %s in inclusion projection", path)
	}
	if n.kind == pComputed {
		return mongoerr.New(codeProjComputedInExclusion, "Cannot use expression other than $meta in exclusion projection")
	}
	return mongoerr.Newf(codeProjInclInExcl, "Cannot do inclusion on field %s in exclusion projection", path)
}

func (pp *projParser) add(path string, val any) error {
	if strings.HasSuffix(path, ".$") || path == "$" {
		base := strings.TrimSuffix(path, ".$")
		if path == "$" || base == "" {
			return mongoerr.New(codeProjPositionalMiddle, "positional projection must follow a field name")
		}
		if strings.Contains(base, ".$.") || strings.HasSuffix(base, ".$") || strings.HasPrefix(base, "$.") {
			return mongoerr.New(codeProjTwoPositional, "Cannot specify more than one positional projection per query.")
		}
		if err := checkFieldPath(base); err != nil {
			return err
		}
		if pp.positional {
			return mongoerr.New(codeProjTwoPositional, "Cannot specify more than one positional projection per query.")
		}
		if d, ok := val.(bson.D); ok && len(d) > 0 && d[0].Key == "$slice" {
			return badValue("Cannot specify positional operator and $slice on the same path")
		}
		if !bsonutil.IsBoolOrNumber(val) || !bsonutil.IsTruthy(val) {
			return badValue("positional projection on %s must be an inclusion (1 or true)", path)
		}
		pp.positional = true
		return pp.insert(base, &projNode{kind: pPositional})
	}
	if strings.Contains(path, ".$.") || strings.HasPrefix(path, "$.") {
		return mongoerr.New(codeProjPositionalMiddle, "As of 4.4, it's illegal to specify positional operator in the middle of a path")
	}
	if err := checkFieldPath(path); err != nil {
		return err
	}
	switch v := val.(type) {
	case bool, int32, int64, float64, bson.Decimal128, int:
		kind := pExclude
		if bsonutil.IsTruthy(v) {
			kind = pInclude
		}
		return pp.insert(path, &projNode{kind: kind})
	case bson.D:
		if len(v) == 0 {
			return mongoerr.Newf(codeProjEmptySub, "An empty sub-projection is not a valid value. Found empty object at path %s", path)
		}
		if !strings.HasPrefix(v[0].Key, "$") {
			for _, e := range v {
				if err := pp.add(path+"."+e.Key, e.Value); err != nil {
					return err
				}
			}
			return nil
		}
		if len(v) == 1 {
			switch v[0].Key {
			case "$slice":
				n, err := parseSlice(v[0].Value)
				if err != nil {
					return err
				}
				return pp.insert(path, n)
			case "$elemMatch":
				if strings.Contains(path, ".") {
					return badValue("Cannot use $elemMatch projection on a nested field.")
				}
				if _, ok := v[0].Value.(bson.D); !ok {
					return badValue("elemMatch: Invalid argument, object required.")
				}
				t, err := (&parser{coll: pp.coll}).elemMatchTest(v[0].Value, 0)
				if err != nil {
					return err
				}
				return pp.insert(path, &projNode{kind: pElemMatch, elemMatch: t})
			case "$meta":
				return mongoerr.Newf(mongoerr.NotImplemented, "$meta projections are not supported")
			}
		}
		e, err := expr.Parse(v)
		if err != nil {
			return err
		}
		return pp.insert(path, &projNode{kind: pComputed, expr: e})
	case string:
		if strings.HasPrefix(v, "$") {
			e, err := expr.Parse(v)
			if err != nil {
				return err
			}
			return pp.insert(path, &projNode{kind: pComputed, expr: e})
		}
		return pp.insert(path, &projNode{kind: pComputed, literal: v})
	case bson.A:
		e, err := expr.Parse(v)
		if err != nil {
			return err
		}
		return pp.insert(path, &projNode{kind: pComputed, expr: e})
	}
	return pp.insert(path, &projNode{kind: pComputed, literal: val})
}

// parseSlice parses a find-projection $slice argument: n or [skip, limit].
func parseSlice(arg any) (*projNode, error) {
	if bsonutil.IsNumber(arg) {
		n, ok := sliceInt(arg)
		if !ok {
			return nil, mongoerr.New(codeProjSliceArg, "$slice only supports numbers and [skip, limit] arrays")
		}
		return &projNode{kind: pSlice, limit: n}, nil
	}
	arr, ok := asArray(arg)
	if !ok {
		return nil, mongoerr.New(codeProjSliceArg, "$slice only supports numbers and [skip, limit] arrays")
	}
	if len(arr) != 2 {
		return nil, mongoerr.New(codeProjSliceArg, "$slice array wrong size")
	}
	skip, ok1 := sliceInt(arr[0])
	limit, ok2 := sliceInt(arr[1])
	if !ok1 || !ok2 {
		return nil, mongoerr.New(codeProjSliceArg, "$slice array argument must be numbers")
	}
	if limit <= 0 {
		return nil, mongoerr.New(codeProjSliceArg, "$slice limit must be positive")
	}
	return &projNode{kind: pSlice, skip: skip, limit: limit, hasSkip: true}, nil
}

func sliceInt(v any) (int64, bool) {
	if !bsonutil.IsNumber(v) {
		return 0, false
	}
	if n, ok := bsonutil.ToInt64(v); ok {
		return n, true
	}
	f, _ := bsonutil.ToFloat64(v)
	switch {
	case f != f:
		return 0, false
	case f >= 9.2e18:
		return 1 << 62, true
	case f <= -9.2e18:
		return -(1 << 62), true
	}
	return int64(f), true
}

// insert places leaf n at path, reporting path collisions.
func (pp *projParser) insert(path string, n *projNode) error {
	if err := pp.setMode(path, n); err != nil {
		return err
	}
	parts := splitPath(path)
	cur := pp.root
	for i, part := range parts {
		last := i == len(parts)-1
		child, ok := cur.children[part]
		if last {
			if ok {
				return mongoerr.Newf(codeProjPathCollision, "Path collision at %s", path)
			}
			cur.children[part] = n
			cur.order = append(cur.order, part)
			break
		}
		if ok && child.kind != pInterior {
			return mongoerr.Newf(codeProjPathCollisionPrefix, "Path collision at %s remaining portion %s",
				path, strings.Join(parts[i+1:], "."))
		}
		if !ok {
			child = &projNode{children: map[string]*projNode{}}
			cur.children[part] = child
			cur.order = append(cur.order, part)
		}
		if n.kind == pComputed {
			child.computed = true
		}
		cur = child
	}
	return nil
}

// Apply projects doc. matchPos is the value from MatchArrayPos for
// positional "$" projections (-1 if none). The result may share unchanged
// nested values with doc.
func (p *Projection) Apply(doc bson.D, matchPos int) (bson.D, error) {
	a := applier{p: p, root: doc, matchPos: matchPos}
	if p.inclusion {
		return a.include(p.root, doc, true)
	}
	return a.exclude(p.root, doc), nil
}

type applier struct {
	p        *Projection
	root     bson.D
	matchPos int
	vars     *expr.Vars
}

func (a *applier) eval(n *projNode) (any, error) {
	if n.expr == nil {
		return n.literal, nil
	}
	if a.vars == nil {
		a.vars = a.p.vars.WithRoot(a.root)
	}
	return n.expr.Eval(a.vars)
}

// include applies an inclusion node to a document: included fields in
// document order (_id first at the top level), then computed and
// $elemMatch fields in specification order.
func (a *applier) include(n *projNode, doc bson.D, top bool) (bson.D, error) {
	out := make(bson.D, 0, len(n.children))
	var emitted map[string]bool
	if top {
		if c := n.children["_id"]; c != nil {
			if c.kind == pComputed {
				v, err := a.eval(c)
				if err != nil {
					return nil, err
				}
				if !bsonutil.IsMissing(v) {
					out = append(out, bson.E{Key: "_id", Value: v})
				}
			} else if v := getField(doc, "_id"); !bsonutil.IsMissing(v) {
				r, ok, err := a.includeValue(c, v)
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, bson.E{Key: "_id", Value: r})
				}
			}
		}
	}
	for _, e := range doc {
		if top && e.Key == "_id" {
			continue
		}
		c := n.children[e.Key]
		if c == nil || c.kind == pComputed || c.kind == pElemMatch {
			continue
		}
		r, ok, err := a.includeValue(c, e.Value)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, bson.E{Key: e.Key, Value: r})
			if c.kind == pInterior && c.computed {
				if emitted == nil {
					emitted = map[string]bool{}
				}
				emitted[e.Key] = true
			}
		}
	}
	for _, k := range n.order {
		if top && k == "_id" {
			continue
		}
		c := n.children[k]
		switch c.kind {
		case pComputed:
			v, err := a.eval(c)
			if err != nil {
				return nil, err
			}
			if !bsonutil.IsMissing(v) {
				out = append(out, bson.E{Key: k, Value: v})
			}
		case pElemMatch:
			arr, ok := asArray(getField(doc, k))
			if !ok {
				continue
			}
			for _, el := range arr {
				probe := bson.D{{Key: k, Value: bson.A{el}}}
				st := matchState{pos: -1, vars: a.p.vars, root: probe}
				if c.elemMatch.onPath(probe, []string{k}, &st) {
					out = append(out, bson.E{Key: k, Value: bson.A{el}})
					break
				}
			}
		case pInterior:
			if c.computed && !emitted[k] {
				sub, err := a.include(c, bson.D{}, false)
				if err != nil {
					return nil, err
				}
				out = append(out, bson.E{Key: k, Value: sub})
			}
		}
	}
	return out, nil
}

// includeValue projects the value of an existing field under inclusion
// node c; ok is false when the field is dropped.
func (a *applier) includeValue(c *projNode, v any) (any, bool, error) {
	switch c.kind {
	case pInclude:
		return v, true, nil
	case pSlice:
		return sliceValue(c, v), true, nil
	case pPositional:
		arr, ok := asArray(v)
		if !ok || a.matchPos < 0 || a.matchPos >= len(arr) {
			return nil, false, mongoerr.New(codeProjPositionalNoMatch, "positional operator '.$' couldn't find a matching element in the array")
		}
		return bson.A{arr[a.matchPos]}, true, nil
	case pInterior:
		switch x := v.(type) {
		case bson.D:
			r, err := a.include(c, x, false)
			return r, err == nil, err
		case bson.A:
			r, err := a.includeArray(c, x)
			return r, err == nil, err
		}
		if c.computed {
			r, err := a.include(c, bson.D{}, false)
			return r, err == nil, err
		}
		return nil, false, nil
	}
	return nil, false, nil
}

// includeArray applies an inclusion node to each element of an array:
// documents and nested arrays are projected, scalars are dropped.
func (a *applier) includeArray(c *projNode, arr bson.A) (bson.A, error) {
	out := make(bson.A, 0, len(arr))
	for _, e := range arr {
		switch x := e.(type) {
		case bson.D:
			r, err := a.include(c, x, false)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		case bson.A:
			r, err := a.includeArray(c, x)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// exclude applies an exclusion node: every field is kept in order except
// excluded ones; $slice trims arrays.
func (a *applier) exclude(n *projNode, doc bson.D) bson.D {
	out := make(bson.D, 0, len(doc))
	for _, e := range doc {
		c := n.children[e.Key]
		if c == nil {
			out = append(out, e)
			continue
		}
		switch c.kind {
		case pExclude:
		case pSlice:
			out = append(out, bson.E{Key: e.Key, Value: sliceValue(c, e.Value)})
		case pInterior:
			out = append(out, bson.E{Key: e.Key, Value: a.excludeValue(c, e.Value)})
		default:
			out = append(out, e)
		}
	}
	return out
}

func (a *applier) excludeValue(c *projNode, v any) any {
	switch x := v.(type) {
	case bson.D:
		return a.exclude(c, x)
	case bson.A:
		out := make(bson.A, len(x))
		for i, e := range x {
			out[i] = a.excludeValue(c, e)
		}
		return out
	}
	return v
}

// sliceValue applies a find-projection $slice to v; non-arrays pass
// through unchanged.
func sliceValue(c *projNode, v any) any {
	arr, ok := asArray(v)
	if !ok {
		return v
	}
	n := int64(len(arr))
	var from, to int64
	if !c.hasSkip {
		if c.limit >= 0 {
			from, to = 0, min(c.limit, n)
		} else {
			from, to = max(n+c.limit, 0), n
		}
	} else {
		from = c.skip
		if from < 0 {
			from = max(n+from, 0)
		}
		from = min(from, n)
		to = min(from+c.limit, n)
	}
	out := make(bson.A, to-from)
	copy(out, arr[from:to])
	return out
}
