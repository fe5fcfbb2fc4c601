package aggregate

import (
	"context"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

type projMode int

const (
	modeUnknown projMode = iota
	modeInclusion
	modeExclusion
	modeAddFields
)

// projNode is one level of a projection tree.
type projNode struct {
	fields []*projField
	byName map[string]*projField
}

type projField struct {
	name    string
	include bool      // leaf: keep the field
	exclude bool      // leaf: drop the field
	expr    expr.Expr // leaf: computed field
	child   *projNode // nested specification
}

func newProjNode() *projNode { return &projNode{byName: map[string]*projField{}} }

// projection is a compiled $project or $addFields specification.
type projection struct {
	root *projNode
	mode projMode
	vars *expr.Vars
}

type projParser struct {
	stage string
	mode  projMode
}

func (pp *projParser) errorf(code mongoerr.Code, format string, args ...any) error {
	return mongoerr.Newf(code, "Invalid %s :: caused by :: "+format, append([]any{pp.stage}, args...)...)
}

// newProjection compiles a $project (addFields false) or $addFields spec.
func newProjection(spec bson.D, stage string, addFields bool, vars *expr.Vars) (*projection, error) {
	pp := &projParser{stage: stage}
	if addFields {
		pp.mode = modeAddFields
	}
	root := newProjNode()
	if err := pp.parseLevel(root, spec, ""); err != nil {
		return nil, err
	}
	if pp.mode == modeUnknown {
		// Only _id was mentioned: {_id: 0} excludes, {_id: 1} includes.
		pp.mode = modeExclusion
		if f := root.byName["_id"]; f != nil && f.include {
			pp.mode = modeInclusion
		}
	}
	if pp.mode == modeInclusion {
		if _, ok := root.byName["_id"]; !ok {
			f := &projField{name: "_id", include: true}
			root.fields = append([]*projField{f}, root.fields...)
			root.byName["_id"] = f
		}
	}
	return &projection{root: root, mode: pp.mode, vars: vars}, nil
}

func (pp *projParser) parseLevel(n *projNode, spec bson.D, prefix string) error {
	for _, e := range spec {
		if err := pp.parseEntry(n, e.Key, e.Value, prefix); err != nil {
			return err
		}
	}
	return nil
}

func (pp *projParser) parseEntry(n *projNode, key string, val any, prefix string) error {
	full := prefix + key
	if key == "" {
		return pp.errorf(40352, "FieldPath cannot be constructed with empty string")
	}
	if strings.HasPrefix(key, "$") {
		return pp.errorf(mongoerr.Location16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
	}
	if strings.HasSuffix(key, ".") || strings.Contains(key, "..") || strings.HasPrefix(key, ".") {
		return pp.errorf(15998, "FieldPath field names may not be empty strings.")
	}
	// A dotted key is shorthand for nested levels.
	if i := strings.IndexByte(key, '.'); i >= 0 {
		head, rest := key[:i], key[i+1:]
		if strings.HasPrefix(rest, "$") {
			return pp.errorf(mongoerr.Location16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
		}
		child, err := pp.childNode(n, head, prefix)
		if err != nil {
			return err
		}
		return pp.parseEntry(child, rest, val, prefix+head+".")
	}
	if d, ok := val.(bson.D); ok && !isExpressionObject(d) {
		if len(d) == 0 {
			if pp.mode == modeAddFields {
				return pp.addLeaf(n, key, full, &projField{name: key, expr: mustLiteral(d)})
			}
			return pp.errorf(51270, "An empty sub-projection is not a valid value. Found empty object at path")
		}
		child, err := pp.childNode(n, key, prefix)
		if err != nil {
			return err
		}
		return pp.parseLevel(child, d, full+".")
	}
	f := &projField{name: key}
	isID := full == "_id"
	switch {
	case pp.mode == modeAddFields:
		e, err := parseExpr(val)
		if err != nil {
			return err
		}
		f.expr = e
	case bsonutil.IsBoolOrNumber(val):
		if bsonutil.IsTruthy(val) {
			f.include = true
			if !isID {
				if pp.mode == modeExclusion {
					return pp.errorf(31253, "Cannot do inclusion on field %s in exclusion projection", full)
				}
				pp.mode = modeInclusion
			}
		} else {
			f.exclude = true
			if !isID {
				if pp.mode == modeInclusion {
					return pp.errorf(31254, "Cannot do exclusion on field %s in inclusion projection", full)
				}
				pp.mode = modeExclusion
			}
		}
	default:
		if pp.mode == modeExclusion {
			return pp.errorf(31252, "Cannot use expression other than $meta in exclusion projection")
		}
		e, err := parseExpr(val)
		if err != nil {
			return err
		}
		f.expr = e
		pp.mode = modeInclusion
	}
	return pp.addLeaf(n, key, full, f)
}

func (pp *projParser) addLeaf(n *projNode, key, full string, f *projField) error {
	if old, ok := n.byName[key]; ok {
		if old.child != nil {
			return pp.errorf(31250, "Path collision at %s", full)
		}
		return pp.errorf(31250, "Path collision at %s", full)
	}
	n.fields = append(n.fields, f)
	n.byName[key] = f
	return nil
}

func (pp *projParser) childNode(n *projNode, key, prefix string) (*projNode, error) {
	if f, ok := n.byName[key]; ok {
		if f.child == nil {
			return nil, pp.errorf(31250, "Path collision at %s", prefix+key)
		}
		return f.child, nil
	}
	f := &projField{name: key, child: newProjNode()}
	n.fields = append(n.fields, f)
	n.byName[key] = f
	return f.child, nil
}

type literalExpr struct{ v any }

func (l literalExpr) Eval(*expr.Vars) (any, error) { return l.v, nil }

func mustLiteral(v any) expr.Expr { return literalExpr{v} }

// hasExprs reports whether the subtree holds computed fields.
func (n *projNode) hasExprs() bool {
	for _, f := range n.fields {
		if f.expr != nil || (f.child != nil && f.child.hasExprs()) {
			return true
		}
	}
	return false
}

// apply projects doc.
func (p *projection) apply(doc bson.D) (bson.D, error) {
	vars := p.vars.WithRoot(doc)
	switch p.mode {
	case modeExclusion:
		return p.root.exclude(doc), nil
	case modeAddFields:
		return p.root.applyExprs(append(bson.D(nil), doc...), vars)
	}
	return p.root.applyExprs(p.root.include(doc), vars)
}

// include performs the inclusion (non-computed) part of a projection.
func (n *projNode) include(doc bson.D) bson.D {
	out := make(bson.D, 0, len(n.fields))
	for _, e := range doc {
		f := n.byName[e.Key]
		switch {
		case f == nil:
		case f.include:
			out = append(out, e)
		case f.child != nil:
			if v := f.child.includeValue(e.Value); !bsonutil.IsMissing(v) {
				out = append(out, bson.E{Key: e.Key, Value: v})
			}
		}
	}
	return out
}

func (n *projNode) includeValue(v any) any {
	switch x := v.(type) {
	case bson.D:
		return n.include(x)
	case bson.A:
		out := make(bson.A, 0, len(x))
		for _, el := range x {
			if nv := n.includeValue(el); !bsonutil.IsMissing(nv) {
				out = append(out, nv)
			}
		}
		return out
	}
	return bsonutil.Missing
}

// applyExprs adds the computed fields of the subtree to doc, which it may
// modify (callers pass a fresh top-level slice).
func (n *projNode) applyExprs(doc bson.D, vars *expr.Vars) (bson.D, error) {
	for _, f := range n.fields {
		switch {
		case f.expr != nil:
			v, err := f.expr.Eval(vars)
			if err != nil {
				return nil, err
			}
			doc = setField(doc, f.name, v)
		case f.child != nil && f.child.hasExprs():
			cur := bsonutil.Get(doc, f.name)
			v, err := f.child.exprsToValue(cur, vars)
			if err != nil {
				return nil, err
			}
			doc = setField(doc, f.name, v)
		}
	}
	return doc, nil
}

func (n *projNode) exprsToValue(v any, vars *expr.Vars) (any, error) {
	switch x := v.(type) {
	case bson.D:
		return n.applyExprs(append(bson.D(nil), x...), vars)
	case bson.A:
		out := make(bson.A, len(x))
		for i, el := range x {
			nv, err := n.exprsToValue(el, vars)
			if err != nil {
				return nil, err
			}
			out[i] = nv
		}
		return out, nil
	}
	return n.applyExprs(bson.D{}, vars)
}

// exclude performs an exclusion projection.
func (n *projNode) exclude(doc bson.D) bson.D {
	out := make(bson.D, 0, len(doc))
	for _, e := range doc {
		f := n.byName[e.Key]
		switch {
		case f == nil, f.include:
			out = append(out, e)
		case f.exclude:
		case f.child != nil:
			out = append(out, bson.E{Key: e.Key, Value: f.child.excludeValue(e.Value)})
		}
	}
	return out
}

func (n *projNode) excludeValue(v any) any {
	switch x := v.(type) {
	case bson.D:
		return n.exclude(x)
	case bson.A:
		out := make(bson.A, len(x))
		for i, el := range x {
			out[i] = n.excludeValue(el)
		}
		return out
	}
	return v
}

// setField sets key in doc in place (or appends it); Missing removes it.
func setField(doc bson.D, key string, v any) bson.D {
	for i, e := range doc {
		if e.Key == key {
			if bsonutil.IsMissing(v) {
				return append(doc[:i:i], doc[i+1:]...)
			}
			doc[i].Value = v
			return doc
		}
	}
	if bsonutil.IsMissing(v) {
		return doc
	}
	return append(doc, bson.E{Key: key, Value: v})
}

// ---- stages ----

type projectStage struct {
	baseStage
	p *projection
}

func parseProject(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.New(15969, "$project specification must be an object")
	}
	if len(d) == 0 {
		return nil, mongoerr.New(51272, "Invalid $project :: caused by :: projection specification must have at least one field")
	}
	p, err := newProjection(d, name, false, pc.vars)
	if err != nil {
		return nil, err
	}
	return &projectStage{baseStage{name, spec}, p}, nil
}

func parseAddFields(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(40272, "%s specification stage must be an object, got %s", name, bsonutil.TypeName(spec))
	}
	p, err := newProjection(d, name, true, pc.vars)
	if err != nil {
		return nil, err
	}
	return &projectStage{baseStage{name, spec}, p}, nil
}

func (s *projectStage) open(ctx context.Context, in Source) (Source, error) {
	return mapSource(in, s.p.apply), nil
}
