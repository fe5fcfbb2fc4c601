package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Stage names, as MongoDB's explain reports them.
const (
	stageCollScan  = "COLLSCAN"
	stageIDHack    = "IDHACK"
	stageIXScan    = "IXSCAN"
	stageFetch     = "FETCH"
	stageOr        = "OR"
	stageSort      = "SORT"
	stageSkip      = "SKIP"
	stageLimit     = "LIMIT"
	stageProjSimp  = "PROJECTION_SIMPLE"
	stageProjDef   = "PROJECTION_DEFAULT"
	stageProjCov   = "PROJECTION_COVERED"
	stageCount     = "COUNT"
	stageCountScan = "COUNT_SCAN"
	stageEOF       = "EOF"
)

// node is one stage of a plan tree. Execution counters live on the node so
// explain can report them.
type node struct {
	stage    string
	children []*node

	// COLLSCAN / FETCH / OR: the filter shown by explain.
	filter    bson.D
	direction int // COLLSCAN, IXSCAN: 1 forward, -1 backward

	// IXSCAN / COUNT_SCAN
	ix       *catalog.Index
	bounds   *indexBounds
	multikey bool
	// covered: documents are built from the keys (PROJECTION_COVERED).
	covered bool

	// SORT
	sortSpec bson.D
	// SKIP, LIMIT, SORT (limitAmount)
	n int64
	// PROJECTION_*
	proj bson.D

	// execution counters
	nReturned, keysExamined, docsExamined int64
	memBytes                              int64
	spills                                int64
}

func (n *node) child() *node {
	if len(n.children) == 0 {
		return nil
	}
	return n.children[0]
}

// candidate is one way to answer a filter with an index.
type candidate struct {
	ix       *catalog.Index
	bounds   *indexBounds
	multikey bool
	// exact: the bounds express the whole filter, so a fetched document
	// always matches (and counting keys counts documents).
	exact    bool
	eqPrefix int
	bounded  int
	// sortDir is 1 or -1 if scanning the index forward or backward yields
	// the requested sort order, else 0.
	sortDir int
	cost    int64
}

// keyPatternEqual compares key patterns field by field, numerically.
func keyPatternEqual(a, b bson.D) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key {
			return false
		}
		if bsonutil.Compare(a[i].Value, b[i].Value) != 0 {
			return false
		}
	}
	return true
}

// hintKind classifies a hint.
type hintKind int

const (
	hintNone hintKind = iota
	hintIndex
	hintNatural
)

// hintNotFound is the error for a hint that names no usable index; it is
// built only when needed (resolveHint runs for every query).
func hintNotFound() error {
	return mongoerr.New(mongoerr.BadValue, "hint provided does not correspond to an existing index")
}

// resolveHint returns the hinted index, or that the hint asks for a
// collection scan in direction dir.
func resolveHint(coll *catalog.Collection, h any) (kind hintKind, ix *catalog.Index, dir int, err error) {
	switch x := h.(type) {
	case nil:
		return hintNone, nil, 0, nil
	case string:
		if x == "" {
			return hintNone, nil, 0, nil
		}
		if coll == nil {
			return hintNone, nil, 0, nil
		}
		ix := coll.Index(x)
		if ix == nil || ix.Hidden {
			return 0, nil, 0, hintNotFound()
		}
		return hintIndex, ix, 0, nil
	case bson.D:
		if len(x) == 0 {
			return hintNone, nil, 0, nil
		}
		if x[0].Key == "$natural" {
			f, ok := bsonutil.ToFloat64(x[0].Value)
			if !ok || (f != 1 && f != -1) {
				return 0, nil, 0, mongoerr.New(mongoerr.BadValue, "$natural hint must be 1 or -1")
			}
			return hintNatural, nil, int(f), nil
		}
		if coll == nil {
			return hintNone, nil, 0, nil
		}
		for _, ix := range coll.Indexes {
			if !ix.Hidden && keyPatternEqual(ix.Key, x) {
				return hintIndex, ix, 0, nil
			}
		}
		return 0, nil, 0, hintNotFound()
	}
	return 0, nil, 0, mongoerr.Newf(mongoerr.FailedToParse, "hint must be a string or an object, not %s", bsonutil.TypeName(h))
}

// sortDirection reports whether scanning ix over bounds produces sortSpec
// (1 forward, -1 backward, 0 no).
func sortDirection(ix *catalog.Index, ivs [][]interval, sortSpec bson.D) int {
	if len(sortSpec) == 0 {
		return 0
	}
	fields, desc := ix.Fields(), ix.KeyDesc()
	singlePoint := func(i int) bool { return len(ivs[i]) == 1 && ivs[i][0].isPoint() }
	fieldPos := map[string]int{}
	for i, f := range fields {
		fieldPos[f] = i
	}
	dir, i := 0, 0
	for k, s := range sortSpec {
		f, _ := bsonutil.ToFloat64(s.Value)
		want := 1
		if f < 0 {
			want = -1
		}
		if p, ok := fieldPos[s.Key]; ok && p < i && singlePoint(p) {
			continue // constant: already passed
		}
		for i < len(fields) && fields[i] != s.Key && singlePoint(i) {
			i++
		}
		if s.Key == "_id" && i >= len(fields) && k == len(sortSpec)-1 {
			// A final _id tie-breaker: entries with equal keys are
			// ordered by _id ascending (non-unique keys end with the
			// encoded _id; unique keys have no ties).
			if ix.Unique {
				break
			}
			if !ix.TiesByID() {
				return 0 // ties are in insertion order (capped, time series)
			}
			if dir == 0 {
				dir = want
			} else if dir != want {
				return 0
			}
			break
		}
		if i >= len(fields) || fields[i] != s.Key {
			return 0
		}
		d := want
		if desc[i] {
			d = -d
		}
		switch {
		case singlePoint(i):
		case dir == 0:
			dir = d
		case dir != d:
			return 0
		}
		i++
	}
	if dir == 0 {
		dir = 1
	}
	return dir
}

// makeCandidate returns the candidate plan for ix, or nil if ix cannot (or
// should not, unless hinted) answer the filter.
func makeCandidate(src Source, coll *catalog.Collection, ix *catalog.Index, a *analysis, sortSpec bson.D, hinted bool) (*candidate, error) {
	if ix.Hidden && !hinted {
		return nil, nil
	}
	if ix.Partial != nil && !a.implies(ix.Partial) {
		return nil, nil
	}
	multikey, err := src.IndexMultikey(coll, ix)
	if err != nil {
		return nil, err
	}
	fields := ix.Fields()
	c := &candidate{ix: ix, multikey: multikey}
	b := &indexBounds{fields: fields, desc: ix.KeyDesc(), ivs: make([][]interval, len(fields))}
	exact := !a.other && !multikey
	inIndex := map[string]bool{}
	leading := true
	allNull := true
	anyConstrained := false
	for i, f := range fields {
		inIndex[f] = true
		ivs, ex, constrained := a.fieldBounds(f, multikey)
		b.ivs[i] = ivs
		exact = exact && ex
		if constrained && !isFull(ivs) {
			anyConstrained = true
			if !containsNull(ivs) {
				allNull = false
			}
		}
		if leading && constrained && !isFull(ivs) {
			c.bounded++
			points := true
			for _, iv := range ivs {
				if !iv.isPoint() {
					points = false
				}
			}
			if points && c.eqPrefix == i {
				c.eqPrefix++
			}
		} else {
			leading = false
		}
	}
	for p := range a.preds {
		if !inIndex[p] {
			exact = false
		}
	}
	for p := range a.residual {
		if !inIndex[p] {
			exact = false
		}
	}
	if ix.Sparse && (!anyConstrained || allNull) && !hinted {
		return nil, nil
	}
	c.exact = exact
	if !multikey {
		c.sortDir = sortDirection(ix, b.ivs, sortSpec)
	}
	if !hinted && c.bounded == 0 && c.sortDir == 0 {
		return nil, nil
	}
	b.buildRanges()
	c.bounds = b
	return c, nil
}

// candidates returns the usable index plans for a, best first.
func candidates(src Source, coll *catalog.Collection, a *analysis, q *Query) ([]*candidate, error) {
	var out []*candidate
	for _, ix := range coll.Indexes {
		c, err := makeCandidate(src, coll, ix, a, q.Sort, false)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	if len(out) > 1 {
		if err := trial(src, coll, out, q); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// trialCap bounds the keys counted per candidate when choosing a plan.
const trialCap = 2000

// trial estimates each candidate's cost by counting the index keys in its
// bounds (at most trialCap, stopping early once a candidate is known to be
// worse than the best so far) and sorts candidates best first.
func trial(src Source, coll *catalog.Collection, cs []*candidate, q *Query) error {
	// Cheap structural order first, so early stopping prunes well.
	sort.SliceStable(cs, func(i, j int) bool { return structuralBetter(cs[i], cs[j]) })
	best := int64(trialCap)
	for _, c := range cs {
		limitCost := int64(-1)
		if c.sortDir != 0 && q.Limit > 0 {
			limitCost = q.Limit + q.Skip
		}
		capN := best
		if limitCost >= 0 && limitCost < capN {
			capN = limitCost
		}
		n, err := countKeys(src, coll, c, capN+1)
		if err != nil {
			return err
		}
		if limitCost >= 0 && n > limitCost {
			n = limitCost
		}
		if len(q.Sort) > 0 && c.sortDir == 0 {
			n++ // an in-memory sort is a little worse on ties
		}
		c.cost = n
		if n < best {
			best = n
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].cost != cs[j].cost {
			return cs[i].cost < cs[j].cost
		}
		return structuralBetter(cs[i], cs[j])
	})
	return nil
}

func structuralBetter(a, b *candidate) bool {
	if a.eqPrefix != b.eqPrefix {
		return a.eqPrefix > b.eqPrefix
	}
	if a.bounded != b.bounded {
		return a.bounded > b.bounded
	}
	if (a.sortDir != 0) != (b.sortDir != 0) {
		return a.sortDir != 0
	}
	if a.exact != b.exact {
		return a.exact
	}
	if len(a.ix.Fields()) != len(b.ix.Fields()) {
		return len(a.ix.Fields()) < len(b.ix.Fields())
	}
	return a.ix.Name < b.ix.Name
}

// countKeys counts the entries in c's bounds, up to limit.
func countKeys(src Source, coll *catalog.Collection, c *candidate, limit int64) (int64, error) {
	var n int64
	for _, r := range c.bounds.ranges {
		it, err := src.ScanIndex(coll, c.ix, r.start, r.end, false)
		if err != nil {
			return 0, err
		}
		for it.Next() {
			n++
			if n >= limit {
				break
			}
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return 0, err
		}
		if n >= limit {
			break
		}
	}
	return n, nil
}

// minMaxBounds replaces c's bounds by the [min, max) key range.
func minMaxBounds(ix *catalog.Index, minD, maxD bson.D) (*indexBounds, error) {
	check := func(d bson.D) ([]any, error) {
		if d == nil {
			return nil, nil
		}
		fields := ix.Fields()
		if len(d) != len(fields) {
			return nil, mongoerr.New(mongoerr.Code(51174), "The index chosen is not equal to the index specified by min/max")
		}
		vals := make([]any, len(d))
		for i, e := range d {
			if e.Key != fields[i] {
				return nil, mongoerr.New(mongoerr.Code(51174), "The index chosen is not equal to the index specified by min/max")
			}
			vals[i] = e.Value
		}
		return vals, nil
	}
	lo, err := check(minD)
	if err != nil {
		return nil, err
	}
	hi, err := check(maxD)
	if err != nil {
		return nil, err
	}
	if minD != nil && maxD != nil {
		for i := range minD {
			if minD[i].Key != maxD[i].Key {
				return nil, mongoerr.New(mongoerr.Code(51176), "min and max must have the same field names")
			}
		}
	}
	b := &indexBounds{fields: ix.Fields(), desc: ix.KeyDesc(), minMax: true, minD: minD, maxD: maxD}
	var r keyRange
	if lo != nil {
		r.start = index.AppendKey(nil, lo, ix.KeyDesc())
	}
	if hi != nil {
		r.end = index.AppendKey(nil, hi, ix.KeyDesc())
	}
	b.ranges = []keyRange{r}
	return b, nil
}

// solution is the chosen access path and what runs above it.
type solution struct {
	root     *node
	rejected []*node
	// access is the node that produces documents (COLLSCAN, FETCH, ...).
	matcher *query.Matcher
	sorted  bool // the access path provides the sort
	// rejectedFirst: the best index plan lost to a collection scan.
	rejectedFirst bool
}

// statsSource is implemented by sources that know collection sizes
// (catalog.Snap).
type statsSource interface {
	Stats(coll *catalog.Collection) (count, size int64, err error)
}

// scanFetchRatio is how many index-driven document fetches cost about as
// much as reading every document of a collection scan, per document: an
// index plan that would fetch more than count/scanFetchRatio documents is
// replaced by a collection scan.
const scanFetchRatio = 3

// worseThanScan reports whether c would fetch so many documents that a
// collection scan is cheaper. It counts c's keys (without fetching) up to
// the threshold; plans that stop early (sort provided with a limit) and
// count scans (no fetch) are never worse.
func worseThanScan(src Source, coll *catalog.Collection, c *candidate, q *Query, count bool) (bool, error) {
	ss, ok := src.(statsSource)
	if !ok || (c.sortDir != 0 && q.Limit > 0) || (count && c.exact && !c.multikey && !c.ix.IsID()) {
		return false, nil
	}
	n, _, err := ss.Stats(coll)
	if err != nil || n < trialCap {
		return false, err
	}
	limit := n/scanFetchRatio + 1
	keys, err := countKeys(src, coll, c, limit)
	if err != nil {
		return false, err
	}
	return keys >= limit, nil
}

// plan chooses how to answer q. count asks for a COUNT plan (no
// projection, documents not needed when the index answers exactly).
func plan(src Source, coll *catalog.Collection, q *Query, m *query.Matcher, count bool) (*solution, error) {
	sol := &solution{matcher: m}
	kind, hinted, natDir, err := resolveHint(coll, q.Hint)
	if err != nil {
		return nil, err
	}
	if (q.Min != nil || q.Max != nil) && kind != hintIndex {
		return nil, mongoerr.New(mongoerr.Code(51173), "When using min()/max() a hint of which index to use must be provided")
	}
	var access *node
	var provided bool
	var exact bool
	var covered bool
	switch {
	case coll == nil:
		access = &node{stage: stageEOF}
	case kind == hintNatural || q.Collation != nil:
		access = &node{stage: stageCollScan, filter: q.Filter, direction: natDir}
	default:
		// An _id equality takes the id hack before any analysis: the
		// filter's predicates are only needed to rank index candidates.
		_, isID := idEquality(q.Filter)
		idHack := kind != hintIndex && isID && len(coll.Indexes) > 0 && coll.Indexes[0].IsID()
		var a *analysis
		if !idHack {
			a = analyze(q.Filter)
		}
		var chosen *candidate
		var rejected []*candidate
		if kind == hintIndex {
			chosen, err = makeCandidate(src, coll, hinted, a, q.Sort, true)
			if err != nil {
				return nil, err
			}
			if chosen == nil {
				return nil, hintNotFound()
			}
			if q.Min != nil || q.Max != nil {
				b, err := minMaxBounds(hinted, q.Min, q.Max)
				if err != nil {
					return nil, err
				}
				chosen.bounds, chosen.exact, chosen.sortDir = b, false, 0
				if !chosen.multikey {
					chosen.sortDir = minMaxSortDir(hinted, q.Sort)
				}
			}
		} else if idHack {
			access = &node{stage: stageIDHack}
			provided = true
		} else {
			cs, err := candidates(src, coll, a, q)
			if err != nil {
				return nil, err
			}
			if len(cs) > 0 {
				chosen, rejected = cs[0], cs[1:]
				worse, err := worseThanScan(src, coll, chosen, q, count)
				if err != nil {
					return nil, err
				}
				if worse {
					rejected, chosen = cs, nil
					sol.rejectedFirst = true
				}
			}
		}
		switch {
		case access != nil:
		case chosen != nil:
			access, exact, covered = indexAccess(chosen, q, count)
			provided = chosen.sortDir != 0
			for _, r := range rejected {
				rn, _, _ := indexAccess(r, q, count)
				sol.rejected = append(sol.rejected, rn)
			}
		case sol.rejectedFirst:
			access = &node{stage: stageCollScan, filter: q.Filter, direction: 1}
			for _, r := range rejected {
				rn, _, _ := indexAccess(r, q, count)
				sol.rejected = append(sol.rejected, rn)
			}
		default:
			if orNode := orPlan(src, coll, a, q); orNode != nil {
				access = orNode
				sol.rejected = append(sol.rejected, &node{stage: stageCollScan, filter: q.Filter, direction: 1})
			} else {
				access = &node{stage: stageCollScan, filter: q.Filter, direction: 1}
			}
		}
	}
	_ = exact
	sol.sorted = provided || len(q.Sort) == 0
	root := access
	if !sol.sorted {
		root = &node{stage: stageSort, sortSpec: q.Sort, children: []*node{root}}
		if q.Limit > 0 {
			root.n = q.Limit + q.Skip
		}
	}
	if q.Skip > 0 {
		root = &node{stage: stageSkip, n: q.Skip, children: []*node{root}}
	}
	if q.Limit > 0 {
		root = &node{stage: stageLimit, n: q.Limit, children: []*node{root}}
	}
	switch {
	case count:
		root = &node{stage: stageCount, children: []*node{root}}
	case len(q.Projection) > 0 && !covered:
		st := stageProjSimp
		if !simpleProjection(q.Projection) {
			st = stageProjDef
		}
		root = &node{stage: st, proj: q.Projection, children: []*node{root}}
	case covered:
		root = &node{stage: stageProjCov, proj: q.Projection, children: []*node{root}}
	}
	sol.root = root
	return sol, nil
}

// minMaxSortDir: with min/max the whole index range is scanned in order.
func minMaxSortDir(ix *catalog.Index, sortSpec bson.D) int {
	ivs := make([][]interval, len(ix.Fields()))
	for i := range ivs {
		ivs[i] = []interval{fullInterval()}
	}
	return sortDirection(ix, ivs, sortSpec)
}

// indexAccess builds the access subtree for a candidate: IXSCAN under a
// FETCH, a COUNT_SCAN when counting exactly, or a bare IXSCAN when the
// projection is covered.
func indexAccess(c *candidate, q *Query, count bool) (access *node, exact, covered bool) {
	dir := 1
	if c.sortDir < 0 {
		dir = -1
	}
	ixNode := &node{stage: stageIXScan, ix: c.ix, bounds: c.bounds, multikey: c.multikey, direction: dir}
	if count && c.exact && !c.multikey && !c.ix.IsID() {
		ixNode.stage = stageCountScan
		return ixNode, true, false
	}
	if !count && c.exact && !c.multikey && !c.ix.IsID() && coveredProjection(q.Projection, c.ix) {
		ixNode.covered = true
		return ixNode, true, true
	}
	fetch := &node{stage: stageFetch, children: []*node{ixNode}}
	if !c.exact {
		fetch.filter = q.Filter
	}
	return fetch, c.exact, false
}

// orPlan returns an OR of index scans if every branch of the filter's
// $or can use an index.
func orPlan(src Source, coll *catalog.Collection, a *analysis, q *Query) *node {
	if len(a.or) == 0 {
		return nil
	}
	or := &node{stage: stageOr}
	for _, br := range a.or {
		ba := analyze(br)
		cs, err := candidates(src, coll, ba, &Query{Filter: br})
		if err != nil || len(cs) == 0 || cs[0].bounded == 0 {
			return nil
		}
		c := cs[0]
		or.children = append(or.children, &node{stage: stageIXScan, ix: c.ix, bounds: c.bounds, multikey: c.multikey, direction: 1})
	}
	return &node{stage: stageFetch, filter: q.Filter, children: []*node{or}}
}

// simpleProjection reports whether spec is plain inclusion or exclusion
// of field paths (MongoDB's PROJECTION_SIMPLE).
func simpleProjection(spec bson.D) bool {
	for _, e := range spec {
		if strings.Contains(e.Key, "$") {
			return false
		}
		switch e.Value.(type) {
		case bool, int32, int64, float64, bson.Decimal128:
		default:
			return false
		}
	}
	return true
}

// coveredProjection reports whether spec includes only fields of ix and
// excludes _id (or _id is an index field), so results can be built from
// the index keys alone.
func coveredProjection(spec bson.D, ix *catalog.Index) bool {
	if len(spec) == 0 {
		return false
	}
	in := map[string]bool{}
	for _, f := range ix.Fields() {
		in[f] = true
	}
	idExcluded := false
	included := 0
	for _, e := range spec {
		if !simpleProjection(bson.D{e}) {
			return false
		}
		on := bsonutil.IsTruthy(e.Value)
		if e.Key == "_id" {
			if !on {
				idExcluded = true
				continue
			}
			if !in["_id"] {
				return false
			}
			included++
			continue
		}
		if !on || !in[e.Key] {
			return false
		}
		// A path that is a prefix of another index path would need
		// the whole subdocument.
		for f := range in {
			if f != e.Key && strings.HasPrefix(f, e.Key+".") {
				return false
			}
		}
		included++
	}
	return included > 0 && (idExcluded || in["_id"])
}

func (n *node) String() string {
	s := n.stage
	if n.ix != nil {
		s += "(" + n.ix.Name + ")"
	}
	for _, c := range n.children {
		s += " <- " + c.String()
	}
	return fmt.Sprint(s)
}
