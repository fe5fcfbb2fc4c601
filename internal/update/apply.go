package update

import (
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// sentinel values a leafOp may return instead of a new value.
type sentinel int

const (
	// keep leaves the target untouched (and does not create it).
	keep sentinel = iota + 1
	// remove deletes the target field (array elements become null).
	remove
)

// maxPad bounds how far setting an array element past the end may extend
// the array with nulls.
const maxPad = 1500000

// leafOp is the effect of one operator on the value at its path.
type leafOp interface {
	// apply returns the new value for old (Missing if absent), or keep or
	// remove. It must not mutate old.
	apply(old any, lc *leafCtx) (any, error)
}

// leafCtx describes the target of a leafOp, for its error messages.
type leafCtx struct {
	field string // last path component as applied (an index for array elements)
	path  string // the modifier's path
	doc   bson.D // the document being updated (for its _id)
	ac    *ApplyContext
}

// applier runs the modifiers of one Apply call.
type applier struct {
	u    *Update
	ac   *ApplyContext
	orig bson.D
}

func (a *applier) ctx(m *modifier, field string) *leafCtx {
	return &leafCtx{field: field, path: m.path, doc: a.orig, ac: a.ac}
}

// walk applies m to container c (a bson.D or bson.A) starting at path
// component i; key is c's own field name. It returns the new container and
// whether it changed; c itself is never mutated.
func (a *applier) walk(c any, parts []string, i int, key string, m *modifier) (any, bool, error) {
	comp := parts[i]
	switch {
	case comp == "$":
		if a.ac.MatchPos < 0 {
			return nil, false, mongoerr.New(mongoerr.BadValue, "The positional operator did not find the match needed from the query.")
		}
		comp = strconv.Itoa(a.ac.MatchPos)
	case strings.HasPrefix(comp, "$["):
		return a.walkAll(c, parts, i, key, m)
	}
	switch x := c.(type) {
	case bson.D:
		k := getField(x, comp)
		var old any = bsonutil.Missing
		if k >= 0 {
			old = x[k].Value
		}
		nv, err := a.at(old, parts, i, comp, m)
		if err != nil || nv == keep {
			return c, false, err
		}
		if nv == remove {
			if k < 0 {
				return c, false, nil
			}
			out := make(bson.D, 0, len(x)-1)
			out = append(out, x[:k]...)
			return append(out, x[k+1:]...), true, nil
		}
		out := make(bson.D, len(x), len(x)+1)
		copy(out, x)
		if k >= 0 {
			out[k].Value = nv
		} else {
			out = append(out, bson.E{Key: comp, Value: nv})
		}
		return out, true, nil
	case bson.A:
		idx, ok := arrayIndex(comp)
		if !ok {
			nv, err := a.probe(parts, m)
			if err != nil || nv == keep || nv == remove {
				return c, false, err
			}
			return nil, false, mongoerr.Newf(mongoerr.PathNotViable, "Cannot create field '%s' in element %s", comp, fmtElem(key, c))
		}
		var old any = bsonutil.Missing
		if idx < len(x) {
			old = x[idx]
		}
		nv, err := a.at(old, parts, i, comp, m)
		if err != nil || nv == keep {
			return c, false, err
		}
		if nv == remove {
			if idx >= len(x) || identical(x[idx], nil) {
				return c, false, nil
			}
			nv = nil
		}
		if idx >= len(x) && idx-len(x) > maxPad {
			return nil, false, mongoerr.Newf(mongoerr.BadValue,
				"can't backfill array to larger than 1500000 elements")
		}
		n := max(len(x), idx+1)
		out := make(bson.A, n)
		copy(out, x)
		out[idx] = nv
		return out, true, nil
	}
	return nil, false, mongoerr.Newf(mongoerr.InternalError, "update walked into a non-container at '%s'", m.path)
}

// walkAll applies m to the elements of array c selected by the "$[]" or
// "$[id]" component parts[i].
func (a *applier) walkAll(c any, parts []string, i int, key string, m *modifier) (any, bool, error) {
	arr, ok := c.(bson.A)
	if !ok {
		return nil, false, mongoerr.Newf(mongoerr.BadValue, "Cannot apply array updates to non-array element %s: %s", key, fmtValue(c))
	}
	var filter *arrayFilter
	if comp := parts[i]; comp != "$[]" {
		filter = a.u.filters[comp[2:len(comp)-1]]
	}
	var out bson.A
	for j, e := range arr {
		if filter != nil {
			ok, err := filter.matches(e)
			if err != nil {
				return nil, false, err
			}
			if !ok {
				continue
			}
		}
		nv, err := a.at(e, parts, i, strconv.Itoa(j), m)
		if err != nil {
			return nil, false, err
		}
		if nv == keep {
			continue
		}
		if nv == remove {
			if identical(e, nil) {
				continue
			}
			nv = nil
		}
		if out == nil {
			out = make(bson.A, len(arr))
			copy(out, arr)
		}
		out[j] = nv
	}
	if out == nil {
		return c, false, nil
	}
	return out, true, nil
}

// at computes the new value of the child named name whose current value is
// old (Missing if absent), parts[i] being the component that selected it.
// It returns keep when nothing changes.
func (a *applier) at(old any, parts []string, i int, name string, m *modifier) (any, error) {
	if i == len(parts)-1 {
		nv, err := m.leaf.apply(old, a.ctx(m, name))
		if err != nil {
			return nil, err
		}
		if nv != keep && nv != remove && identical(nv, old) {
			return keep, nil
		}
		return nv, nil
	}
	switch old.(type) {
	case bson.D, bson.A:
		nv, ch, err := a.walk(old, parts, i+1, name, m)
		if err != nil || !ch {
			return keep, err
		}
		return nv, nil
	}
	nv, err := a.probe(parts, m)
	if err != nil || nv == keep || nv == remove {
		return keep, err
	}
	if bsonutil.IsMissing(old) {
		if hasPositional(parts[i+1:]) {
			return nil, mongoerr.Newf(mongoerr.BadValue,
				"The path '%s' must exist in the document in order to apply array updates.", strings.Join(parts[:i+1], "."))
		}
		for j := len(parts) - 1; j > i; j-- {
			nv = bson.D{{Key: parts[j], Value: nv}}
		}
		return nv, nil
	}
	next := parts[i+1]
	if strings.HasPrefix(next, "$") {
		return nil, mongoerr.Newf(mongoerr.BadValue, "Cannot apply array updates to non-array element %s: %s", name, fmtValue(old))
	}
	return nil, mongoerr.Newf(mongoerr.PathNotViable, "Cannot create field '%s' in element %s", next, fmtElem(name, old))
}

// probe returns the value m would create at a missing path (or keep or
// remove when it would not create anything).
func (a *applier) probe(parts []string, m *modifier) (any, error) {
	return m.leaf.apply(bsonutil.Missing, a.ctx(m, parts[len(parts)-1]))
}

// rename applies a $rename modifier to doc.
func (a *applier) rename(doc bson.D, m *modifier) (bson.D, bool, error) {
	// Find the source value; arrays on the way are an error.
	var cur any = doc
	var val any = bsonutil.Missing
	for i, p := range m.from {
		d, ok := cur.(bson.D)
		if !ok {
			if _, isArr := asArray(cur); isArr {
				return nil, false, mongoerr.Newf(mongoerr.BadValue,
					"The source field cannot be an array element, '%s' in doc with _id: %s has an array field called '%s'",
					m.fromPath, fmtValue(bsonutil.Get(a.orig, "_id")), m.from[i-1])
			}
			return doc, false, nil
		}
		k := getField(d, p)
		if k < 0 {
			return doc, false, nil
		}
		cur = d[k].Value
		if i == len(m.from)-1 {
			val = cur
		}
	}
	if bsonutil.IsMissing(val) {
		return doc, false, nil
	}
	// The destination may not go through arrays either.
	cur = doc
	for i, p := range m.parts[:len(m.parts)-1] {
		d, ok := cur.(bson.D)
		if !ok {
			break
		}
		k := getField(d, p)
		if k < 0 {
			break
		}
		cur = d[k].Value
		if _, isArr := asArray(cur); isArr {
			return nil, false, mongoerr.Newf(mongoerr.BadValue,
				"The destination field cannot be an array element, '%s' in doc with _id: %s has an array field called '%s'",
				m.path, fmtValue(bsonutil.Get(a.orig, "_id")), m.parts[i])
		}
	}
	unset := &modifier{op: "$unset", path: m.fromPath, parts: m.from, leaf: unsetOp{}}
	nv, _, err := a.walk(doc, m.from, 0, "", unset)
	if err != nil {
		return nil, false, err
	}
	set := &modifier{op: "$rename", path: m.path, parts: m.parts, leaf: setOp{val}}
	nv, _, err = a.walk(nv, m.parts, 0, "", set)
	if err != nil {
		return nil, false, err
	}
	return nv.(bson.D), true, nil
}
