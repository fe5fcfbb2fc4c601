package query

import (
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// walkMode selects what a path walk yields at the end of a path.
type walkMode uint8

const (
	// leafElems yields each element of a terminal array.
	leafElems walkMode = 1 << iota
	// leafArray yields a terminal array itself.
	leafArray
	// emptyMarker yields emptyArrayKey for an empty terminal array (sort keys).
	emptyMarker
	// offsetOnly makes a numeric component after an array select only the
	// element at that offset, without also searching document elements for
	// a field of that name (sort keys, distinct and index keys).
	offsetOnly
)

const (
	modeMatch  = leafElems | leafArray  // ordinary operators
	modeArray  = leafArray              // $size, $elemMatch
	modeValues = leafElems | offsetOnly // PathValues, distinct
	modeSort   = leafElems | emptyMarker | offsetOnly
)

// emptyArrayKeyType marks an empty terminal array in a sort key: it sorts
// after MinKey and before null, as MongoDB orders empty arrays.
type emptyArrayKeyType struct{}

var emptyArrayKey any = emptyArrayKeyType{}

// visitFn receives one value found at a path and the index of the element
// in the first array traversed (-1 if none). Returning true stops the walk.
type visitFn func(v any, pos int) bool

// splitPath splits a dotted path into its components.
func splitPath(path string) []string { return strings.Split(path, ".") }

// getField returns the value of key in a document value, or Missing.
func getField(doc any, key string) any {
	switch d := doc.(type) {
	case bson.D:
		for i := range d {
			if d[i].Key == key {
				return d[i].Value
			}
		}
		return bsonutil.Missing
	case bson.M, bson.Raw:
		return bsonutil.Get(bsonutil.ToD(d), key)
	}
	return bsonutil.Missing
}

func isDoc(v any) bool {
	switch v.(type) {
	case bson.D, bson.M, bson.Raw:
		return true
	}
	return false
}

func asArray(v any) (bson.A, bool) {
	switch a := v.(type) {
	case bson.A:
		return a, true
	case []any:
		return bson.A(a), true
	}
	return nil, false
}

// arrayIndex reports whether a path component is an array offset: decimal
// digits without a leading zero (except "0" itself).
func arrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func firstPos(pos, i int) int {
	if pos >= 0 {
		return pos
	}
	return i
}

// walkDoc visits the values at parts in document doc. A path that runs into
// a missing field or a scalar before its end yields Missing.
func walkDoc(doc any, parts []string, pos int, mode walkMode, fn visitFn) bool {
	f := getField(doc, parts[0])
	rest := parts[1:]
	if len(rest) == 0 {
		return walkLeaf(f, pos, mode, fn)
	}
	if arr, ok := asArray(f); ok {
		return walkArray(arr, rest, pos, mode, fn)
	}
	if isDoc(f) {
		return walkDoc(f, rest, pos, mode, fn)
	}
	return fn(bsonutil.Missing, pos)
}

// walkLeaf visits the value at the end of a path.
func walkLeaf(v any, pos int, mode walkMode, fn visitFn) bool {
	arr, ok := asArray(v)
	if !ok {
		return fn(v, pos)
	}
	if mode&leafElems != 0 {
		for i, e := range arr {
			if fn(e, firstPos(pos, i)) {
				return true
			}
		}
		if len(arr) == 0 && mode&emptyMarker != 0 {
			if fn(emptyArrayKey, pos) {
				return true
			}
		}
	}
	if mode&leafArray != 0 {
		return fn(v, pos)
	}
	return false
}

// walkArray visits the values at rest below an array met in the middle of
// a path: document elements are searched for rest, and a numeric first
// component also selects the element at that offset. Scalar elements yield
// nothing.
func walkArray(arr bson.A, rest []string, pos int, mode walkMode, fn visitFn) bool {
	idx, isIdx := arrayIndex(rest[0])
	for i, e := range arr {
		p := firstPos(pos, i)
		if isDoc(e) && !(isIdx && mode&offsetOnly != 0) {
			if walkDoc(e, rest, p, mode, fn) {
				return true
			}
		}
		if isIdx && idx == i {
			if len(rest) == 1 {
				if walkLeaf(e, p, mode, fn) {
					return true
				}
			} else if sub, ok := asArray(e); ok {
				if walkArray(sub, rest[1:], p, mode, fn) {
					return true
				}
			} else if isDoc(e) {
				if walkDoc(e, rest[1:], p, mode, fn) {
					return true
				}
			}
		}
	}
	return false
}

// PathValues returns every value reachable at a dotted path, with MongoDB's
// array traversal as used by distinct and multikey index keys:
//
//   - an array met in the middle of the path is expanded: each document
//     element is searched for the rest of the path, except that a numeric
//     path component ("a.0.b") selects only the element at that offset;
//   - an array at the end of the path yields its elements (not the array
//     itself); an element that is itself an array is yielded whole;
//   - an empty array at the end yields nothing;
//   - a missing field, or a scalar in the middle of the path, yields nothing.
//
// Values are returned in document order and are not copied.
func PathValues(doc bson.D, path string) []any {
	var out []any
	walkDoc(doc, splitPath(path), -1, modeValues, func(v any, _ int) bool {
		if !bsonutil.IsMissing(v) {
			out = append(out, v)
		}
		return false
	})
	return out
}
