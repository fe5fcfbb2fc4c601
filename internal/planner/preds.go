package planner

import (
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// pred is one indexable predicate on a field path.
type pred struct {
	op  string // $eq, $in, $gt, $gte, $lt, $lte, $exists, $regex
	val any
	// regex options for $regex
	opts string
	// sparseOK is false when the predicate matches documents that lack
	// the field.
	ivs   []interval
	exact bool
	kind  int // preference when an index is multikey: lower is better
}

// analysis is the indexable structure of a filter's top level (after
// flattening $and).
type analysis struct {
	preds map[string][]pred
	// residual lists paths that carry non-indexable predicates; other is
	// set when top-level clauses are not path predicates ($expr, $nor,
	// a second $or ...).
	residual map[string]bool
	other    bool
	// or holds the branches of the first top-level $or.
	or []bson.D
	// elems are the flattened top-level elements (for partial-filter
	// implication).
	elems bson.D
}

func analyze(filter bson.D) *analysis {
	a := &analysis{preds: map[string][]pred{}, residual: map[string]bool{}}
	a.add(filter)
	return a
}

func (a *analysis) add(filter bson.D) {
	for _, e := range filter {
		switch {
		case e.Key == "$and":
			arr, ok := e.Value.(bson.A)
			if !ok {
				a.other = true
				continue
			}
			for _, x := range arr {
				if d, ok := x.(bson.D); ok {
					a.add(d)
				} else {
					a.other = true
				}
			}
		case e.Key == "$or":
			arr, ok := e.Value.(bson.A)
			if !ok || a.or != nil {
				a.other = true
				continue
			}
			var branches []bson.D
			for _, x := range arr {
				d, ok := x.(bson.D)
				if !ok {
					branches = nil
					break
				}
				branches = append(branches, d)
			}
			if branches == nil {
				a.other = true
				continue
			}
			if len(branches) == 1 {
				a.add(branches[0])
				continue
			}
			a.or = branches
			a.other = true // the $or is residual for plans that ignore it
		case e.Key == "$comment":
		case strings.HasPrefix(e.Key, "$"):
			a.other = true
		default:
			a.elems = append(a.elems, e)
			a.addField(e.Key, e.Value)
		}
	}
}

func (a *analysis) addField(path string, v any) {
	if r, ok := v.(bson.Regex); ok {
		a.preds[path] = append(a.preds[path], pred{op: "$regex", val: r.Pattern, opts: r.Options, ivs: regexIntervals(r.Pattern, r.Options), kind: 2})
		return
	}
	ops, isOps := v.(bson.D)
	if !isOps || len(ops) == 0 || !strings.HasPrefix(ops[0].Key, "$") {
		a.addPred(path, "$eq", v)
		return
	}
	var regex *bson.Regex
	for _, op := range ops {
		switch op.Key {
		case "$regex":
			switch x := op.Value.(type) {
			case string:
				if regex == nil {
					regex = &bson.Regex{}
				}
				regex.Pattern = x
			case bson.Regex:
				if regex == nil {
					regex = &bson.Regex{}
				}
				regex.Pattern = x.Pattern
				if regex.Options == "" {
					regex.Options = x.Options
				}
			default:
				a.residual[path] = true
			}
		case "$options":
			if s, ok := op.Value.(string); ok {
				if regex == nil {
					regex = &bson.Regex{}
				}
				regex.Options = s
			}
		default:
			a.addPred(path, op.Key, op.Value)
		}
	}
	if regex != nil {
		a.preds[path] = append(a.preds[path], pred{op: "$regex", val: regex.Pattern, opts: regex.Options, ivs: regexIntervals(regex.Pattern, regex.Options), kind: 2})
	}
}

func (a *analysis) addPred(path, op string, v any) {
	p := pred{op: op, val: v}
	ok := false
	switch op {
	case "$eq":
		if r, isRe := v.(bson.Regex); isRe && op == "$eq" {
			p.ivs, p.exact, ok = []interval{pointInterval(r)}, false, true
		} else {
			p.ivs, p.exact, ok = eqIntervals(v)
		}
		p.kind = 0
	case "$gt", "$gte", "$lt", "$lte":
		var iv interval
		iv, p.exact, ok = rangeInterval(op, v)
		p.ivs = []interval{iv}
		p.kind = 3
	case "$in":
		arr, isArr := v.(bson.A)
		if !isArr {
			break
		}
		ok, p.exact = true, true
		for _, x := range arr {
			if r, isRe := x.(bson.Regex); isRe {
				p.ivs = append(p.ivs, regexIntervals(r.Pattern, r.Options)...)
				p.exact = false
				continue
			}
			ivs, ex, good := eqIntervals(x)
			if !good {
				ok = false
				break
			}
			p.ivs = append(p.ivs, ivs...)
			p.exact = p.exact && ex
		}
		if len(arr) == 0 {
			p.exact = true
		}
		p.kind = 1
	case "$exists":
		if bsonutil.IsTruthy(v) {
			p.ivs, ok = []interval{fullInterval()}, true
			p.kind = 5
		} else {
			p.ivs, ok = []interval{pointInterval(nil)}, true
			p.kind = 4
		}
	}
	if !ok {
		a.residual[path] = true
		return
	}
	p.ivs = normalize(p.ivs)
	a.preds[path] = append(a.preds[path], p)
}

// fieldBounds returns the intervals for path: the intersection of its
// predicates, or for a multikey index the single most selective one.
// exact reports that the intervals express every predicate on path.
func (a *analysis) fieldBounds(path string, multikey bool) (ivs []interval, exact, constrained bool) {
	ps := a.preds[path]
	if len(ps) == 0 {
		return []interval{fullInterval()}, !a.residual[path], false
	}
	if multikey {
		best := ps[0]
		for _, p := range ps[1:] {
			if p.kind < best.kind {
				best = p
			}
		}
		return best.ivs, false, true
	}
	ivs = ps[0].ivs
	exact = ps[0].exact
	for _, p := range ps[1:] {
		ivs = intersect(ivs, p.ivs)
		exact = exact && p.exact
	}
	return ivs, exact && !a.residual[path], true
}

// implies reports whether every top-level element of partial appears in
// the filter (the simple rule for using a partial index).
func (a *analysis) implies(partial bson.D) bool {
	for _, pe := range partial {
		found := false
		for _, e := range a.elems {
			if e.Key == pe.Key && bsonutil.Equal(e.Value, pe.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
