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

// Options configures filter and projection compilation.
type Options struct {
	// Vars holds let-variables and $$NOW for $expr; may be nil.
	Vars *expr.Vars
	// Collation is the operation's collation (nil: simple binary
	// comparison). It applies to string comparisons in $eq, $ne, $gt,
	// $gte, $lt, $lte, $in, $nin, $all and implicit equality (also inside
	// $elemMatch and $not), never to $regex or field names.
	Collation *collation.Collation
}

func (o *Options) collation() *collation.Collation {
	if o == nil {
		return nil
	}
	return o.Collation
}

// Matcher is a compiled query filter. It is safe for concurrent use.
type Matcher struct {
	root node
	vars *expr.Vars
}

// matchState carries per-call results through the node tree.
type matchState struct {
	pos int // array offset of the last successful leaf match, -1 if none
	// elemIdx is set by $elemMatch predicates to the index of the matching
	// element, so that a match on an array value still reports a position.
	elemIdx int
	err     error
	vars    *expr.Vars
	root    bson.D
}

// node is one compiled predicate over a document.
type node interface {
	match(doc bson.D, st *matchState) bool
}

// NewMatcher compiles filter. A nil or empty filter matches every document.
func NewMatcher(filter bson.D, opts *Options) (*Matcher, error) {
	var vars *expr.Vars
	if opts != nil && opts.Vars != nil {
		vars = opts.Vars
	} else {
		vars = expr.NewVars(nil, bson.NewDateTimeFromTime(time.Now()))
	}
	p := &parser{coll: opts.collation()}
	root, err := p.parseFilter(filter, 0)
	if err != nil {
		return nil, err
	}
	return &Matcher{root: root, vars: vars}, nil
}

// Match reports whether doc satisfies the filter. Errors come only from
// $expr evaluation.
func (m *Matcher) Match(doc bson.D) (bool, error) {
	ok, _, err := m.MatchArrayPos(doc)
	return ok, err
}

// MatchArrayPos is Match that also returns the index, in the first array
// traversed while matching, of the element that made the query match (for
// the positional $ operator); -1 when no array was involved. When several
// predicates traverse arrays, the last one that matched wins, as in
// MongoDB. Predicates under $not and $nor never set the position.
func (m *Matcher) MatchArrayPos(doc bson.D) (matched bool, pos int, err error) {
	st := matchState{pos: -1, vars: m.vars, root: doc}
	ok := m.root.match(doc, &st)
	if st.err != nil {
		return false, -1, st.err
	}
	if !ok {
		return false, -1, nil
	}
	return true, st.pos, nil
}

// ---- logical nodes ----

type andNode []node

func (n andNode) match(doc bson.D, st *matchState) bool {
	for _, c := range n {
		if !c.match(doc, st) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) match(doc bson.D, st *matchState) bool {
	for _, c := range n {
		if c.match(doc, st) {
			return true
		}
	}
	return false
}

type norNode []node

func (n norNode) match(doc bson.D, st *matchState) bool {
	scratch := *st
	for _, c := range n {
		if c.match(doc, &scratch) {
			st.err = scratch.err
			return false
		}
	}
	st.err = scratch.err
	return true
}

type constNode bool

func (n constNode) match(bson.D, *matchState) bool { return bool(n) }

type exprNode struct{ e expr.Expr }

func (n exprNode) match(doc bson.D, st *matchState) bool {
	if st.err != nil {
		return false
	}
	v, err := n.e.Eval(st.vars.WithRoot(st.root))
	if err != nil {
		st.err = err
		return false
	}
	return bsonutil.IsTruthy(v)
}

// pathNode applies field tests to the values at a path; all must hold.
type pathNode struct {
	parts []string
	tests []fieldTest
}

func (n *pathNode) match(doc bson.D, st *matchState) bool {
	for _, t := range n.tests {
		if !t.onPath(doc, n.parts, st) {
			return false
		}
	}
	return true
}

// ---- field tests ----

// fieldTest is a compiled field-level operator. onPath applies it with
// array traversal at a path of a document; onValue applies it to a single
// value (as $elemMatch's value form does for each array element).
type fieldTest interface {
	onPath(doc any, parts []string, st *matchState) bool
	onValue(v any, st *matchState) bool
}

// leafTest holds when pred holds for some value found at the path.
type leafTest struct {
	mode walkMode
	pred func(v any, st *matchState) bool
}

func (t *leafTest) onPath(doc any, parts []string, st *matchState) bool {
	if len(parts) == 1 {
		// Fast path: a top-level field that is not an array.
		v := getField(doc, parts[0])
		if _, isArr := asArray(v); !isArr {
			st.elemIdx = -1
			return t.pred(v, st)
		}
	}
	found, at := false, -1
	walkDoc(doc, parts, -1, t.mode, func(v any, pos int) bool {
		st.elemIdx = -1
		if t.pred(v, st) {
			found, at = true, pos
			if at < 0 {
				at = st.elemIdx
			}
			return true
		}
		return false
	})
	if found && at >= 0 {
		st.pos = at
	}
	return found
}

func (t *leafTest) onValue(v any, st *matchState) bool { return t.pred(v, st) }

// notTest negates the conjunction of its children.
type notTest []fieldTest

func (t notTest) onPath(doc any, parts []string, st *matchState) bool {
	scratch := *st
	for _, c := range t {
		if !c.onPath(doc, parts, &scratch) {
			st.err = scratch.err
			return true
		}
	}
	st.err = scratch.err
	return false
}

func (t notTest) onValue(v any, st *matchState) bool {
	for _, c := range t {
		if !c.onValue(v, st) {
			return true
		}
	}
	return false
}

// ---- parser ----

type parser struct {
	coll *collation.Collation // nil: binary string comparison
}

const maxDepth = 100

func badValue(format string, args ...any) error {
	return mongoerr.Newf(mongoerr.BadValue, format, args...)
}

// parseFilter compiles a filter document into an AND of its clauses.
func (p *parser) parseFilter(filter bson.D, depth int) (node, error) {
	if depth > maxDepth {
		return nil, badValue("exceeded depth limit of %d when parsing match expression", maxDepth)
	}
	var nodes andNode
	for _, e := range filter {
		n, err := p.parseClause(e.Key, e.Value, depth)
		if err != nil {
			return nil, err
		}
		if n != nil {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return nodes, nil
}

func (p *parser) parseClause(key string, val any, depth int) (node, error) {
	if strings.HasPrefix(key, "$") {
		return p.parseTopLevel(key, val, depth)
	}
	tests, err := p.parseFieldValue(key, val, depth)
	if err != nil {
		return nil, err
	}
	return &pathNode{parts: splitPath(key), tests: tests}, nil
}

func (p *parser) parseTopLevel(key string, val any, depth int) (node, error) {
	switch key {
	case "$and", "$or", "$nor":
		arr, ok := asArray(val)
		if !ok {
			return nil, badValue("%s must be an array", key)
		}
		if len(arr) == 0 {
			return nil, badValue("$and/$or/$nor must be a nonempty array")
		}
		children := make([]node, 0, len(arr))
		for _, a := range arr {
			d, ok := a.(bson.D)
			if !ok {
				return nil, badValue("$or/$and/$nor entries need to be full objects")
			}
			c, err := p.parseFilter(d, depth+1)
			if err != nil {
				return nil, err
			}
			children = append(children, c)
		}
		switch key {
		case "$and":
			return andNode(children), nil
		case "$or":
			if len(children) == 1 {
				return children[0], nil
			}
			return orNode(children), nil
		default:
			return norNode(children), nil
		}
	case "$expr":
		e, err := expr.Parse(val)
		if err != nil {
			return nil, err
		}
		return exprNode{e}, nil
	case "$comment":
		return nil, nil
	case "$alwaysTrue", "$alwaysFalse":
		if n, ok := bsonutil.ToInt64(val); !ok || n != 1 {
			return nil, badValue("%s must be an integer value of 1", key)
		}
		return constNode(key == "$alwaysTrue"), nil
	case "$where":
		return nil, mongoerr.New(mongoerr.NotImplemented, "$where is not supported: Cairn does not run server-side JavaScript")
	case "$text":
		return nil, mongoerr.New(mongoerr.NotImplemented, "$text is not supported: Cairn has no text indexes")
	case "$jsonSchema":
		return nil, mongoerr.New(mongoerr.NotImplemented, "$jsonSchema is not supported")
	case "$sampleRate", "$atomic", "$isolated":
		return nil, mongoerr.Newf(mongoerr.NotImplemented, "%s is not supported", key)
	}
	return nil, badValue("unknown top level operator: %s", key)
}

// isOperatorDoc reports whether v is a document of query operators: its
// first field starts with '$' and is not a DBRef field.
func isOperatorDoc(v any) (bson.D, bool) {
	d, ok := v.(bson.D)
	if !ok || len(d) == 0 {
		return nil, false
	}
	k := d[0].Key
	if !strings.HasPrefix(k, "$") || k == "$ref" || k == "$id" || k == "$db" {
		return nil, false
	}
	return d, true
}

// parseFieldValue compiles the value of a field clause: an operator
// document, a regex, or an equality value.
func (p *parser) parseFieldValue(path string, val any, depth int) ([]fieldTest, error) {
	if ops, ok := isOperatorDoc(val); ok {
		return p.parseOps(path, ops, depth)
	}
	if re, ok := val.(bson.Regex); ok {
		t, err := regexTest(re.Pattern, re.Options)
		if err != nil {
			return nil, err
		}
		return []fieldTest{t}, nil
	}
	t, err := eqTest(p.coll, val)
	if err != nil {
		return nil, err
	}
	return []fieldTest{t}, nil
}

// parseOps compiles an operator document applied to one path.
func (p *parser) parseOps(path string, ops bson.D, depth int) ([]fieldTest, error) {
	if depth > maxDepth {
		return nil, badValue("exceeded depth limit of %d when parsing match expression", maxDepth)
	}
	var tests []fieldTest
	var regex, options any = nil, nil
	hasRegex, hasOptions := false, false
	for _, e := range ops {
		var t fieldTest
		var err error
		switch e.Key {
		case "$eq":
			t, err = eqExactTest(p.coll, e.Value)
		case "$ne":
			t, err = eqExactTest(p.coll, e.Value)
			if err == nil {
				t = notTest{t}
			}
		case "$gt", "$gte", "$lt", "$lte":
			t, err = cmpTest(p.coll, e.Key, e.Value)
		case "$in":
			t, err = inTest(p.coll, "$in", e.Value)
		case "$nin":
			t, err = inTest(p.coll, "$nin", e.Value)
			if err == nil {
				t = notTest{t}
			}
		case "$not":
			t, err = p.notOp(path, e.Value, depth)
		case "$exists":
			t = existsTest()
			if !bsonutil.IsTruthy(e.Value) {
				t = notTest{t}
			}
		case "$type":
			t, err = typeTest(e.Value)
		case "$size":
			t, err = sizeTest(e.Value)
		case "$elemMatch":
			t, err = p.elemMatchTest(e.Value, depth)
		case "$all":
			var ts []fieldTest
			ts, err = p.allTests(e.Value, depth)
			tests = append(tests, ts...)
			if err != nil {
				return nil, err
			}
			continue
		case "$regex":
			regex, hasRegex = e.Value, true
			continue
		case "$options":
			options, hasOptions = e.Value, true
			continue
		case "$mod":
			t, err = modTest(e.Value)
		case "$bitsAllSet", "$bitsAnySet", "$bitsAllClear", "$bitsAnyClear":
			t, err = bitsTest(e.Key, e.Value)
		case "$comment":
			continue
		case "$near", "$nearSphere", "$geoWithin", "$geoIntersects", "$within", "$geometry", "$maxDistance", "$minDistance", "$center", "$box", "$polygon", "$centerSphere":
			return nil, mongoerr.Newf(mongoerr.NotImplemented, "%s is not supported: Cairn has no geospatial queries", e.Key)
		default:
			return nil, badValue("unknown operator: %s", e.Key)
		}
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	if hasOptions && !hasRegex {
		return nil, badValue("$options needs a $regex")
	}
	if hasRegex {
		t, err := regexOp(regex, options, hasOptions)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return tests, nil
}

func (p *parser) notOp(path string, v any, depth int) (fieldTest, error) {
	switch x := v.(type) {
	case bson.Regex:
		t, err := regexTest(x.Pattern, x.Options)
		if err != nil {
			return nil, err
		}
		return notTest{t}, nil
	case bson.D:
		if len(x) == 0 {
			return nil, badValue("$not cannot be empty")
		}
		ts, err := p.parseOps(path, x, depth+1)
		if err != nil {
			return nil, err
		}
		return notTest(ts), nil
	}
	return nil, badValue("$not needs a regex or a document")
}

func (p *parser) elemMatchTest(v any, depth int) (fieldTest, error) {
	d, ok := v.(bson.D)
	if !ok {
		return nil, badValue("$elemMatch needs an Object")
	}
	valueForm := false
	if len(d) > 0 && strings.HasPrefix(d[0].Key, "$") {
		switch d[0].Key {
		case "$and", "$or", "$nor", "$expr", "$where", "$text", "$comment", "$jsonSchema", "$alwaysTrue", "$alwaysFalse":
		default:
			valueForm = true
		}
	}
	if valueForm {
		ts, err := p.parseOps("", d, depth+1)
		if err != nil {
			return nil, err
		}
		return &leafTest{mode: modeArray, pred: func(v any, st *matchState) bool {
			arr, ok := asArray(v)
			if !ok {
				return false
			}
		elems:
			for i, e := range arr {
				for _, t := range ts {
					if !t.onValue(e, st) {
						continue elems
					}
				}
				st.elemIdx = i
				return true
			}
			return false
		}}, nil
	}
	for _, e := range d {
		if e.Key == "$expr" {
			return nil, badValue("$expr can only be applied to the top-level document")
		}
	}
	sub, err := p.parseFilter(d, depth+1)
	if err != nil {
		return nil, err
	}
	return elemMatchObject(sub), nil
}

// elemMatchObject holds for arrays with a document element matching sub.
func elemMatchObject(sub node) fieldTest {
	return &leafTest{mode: modeArray, pred: func(v any, st *matchState) bool {
		arr, ok := asArray(v)
		if !ok {
			return false
		}
		for i, e := range arr {
			d, ok := e.(bson.D)
			if !ok {
				continue
			}
			scratch := *st
			if sub.match(d, &scratch) {
				st.err = scratch.err
				st.elemIdx = i
				return true
			}
			st.err = scratch.err
		}
		return false
	}}
}

func (p *parser) allTests(v any, depth int) ([]fieldTest, error) {
	arr, ok := asArray(v)
	if !ok {
		return nil, badValue("$all needs an array")
	}
	if len(arr) == 0 {
		return []fieldTest{&leafTest{mode: modeMatch, pred: func(any, *matchState) bool { return false }}}, nil
	}
	elemMatches := 0
	for _, a := range arr {
		if d, ok := a.(bson.D); ok && len(d) > 0 && d[0].Key == "$elemMatch" {
			elemMatches++
		}
	}
	if elemMatches > 0 && elemMatches != len(arr) {
		return nil, badValue("$all/$elemMatch has to be consistent")
	}
	tests := make([]fieldTest, 0, len(arr))
	for _, a := range arr {
		if elemMatches > 0 {
			d := a.(bson.D)
			if len(d) != 1 {
				return nil, badValue("$all/$elemMatch has to be consistent")
			}
			t, err := p.elemMatchTest(d[0].Value, depth)
			if err != nil {
				return nil, err
			}
			tests = append(tests, t)
			continue
		}
		if _, ok := isOperatorDoc(a); ok {
			return nil, badValue("no $ expressions in $all")
		}
		if re, ok := a.(bson.Regex); ok {
			t, err := regexTest(re.Pattern, re.Options)
			if err != nil {
				return nil, err
			}
			tests = append(tests, t)
			continue
		}
		t, err := eqTest(p.coll, a)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return tests, nil
}
