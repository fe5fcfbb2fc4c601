package catalog

import (
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// keyValues returns the values a document contributes to an index on path:
// arrays along the path are expanded (multikey), a missing value indexes as
// null, and an empty array as undefined. multi reports whether an array was
// expanded.
func keyValues(doc bson.D, path string) (vals []any, multi bool) {
	vals, multi = collectPath(doc, strings.Split(path, "."), nil, false)
	if len(vals) == 0 {
		vals = []any{nil}
	}
	return vals, multi
}

func collectPath(v any, parts []string, out []any, multi bool) ([]any, bool) {
	if len(parts) == 0 {
		if a, ok := v.(bson.A); ok {
			if len(a) == 0 {
				return append(out, bson.Undefined{}), true
			}
			return append(out, a...), true
		}
		return append(out, v), multi
	}
	switch x := v.(type) {
	case bson.D:
		val := bsonutil.Get(x, parts[0])
		if bsonutil.IsMissing(val) {
			return out, multi
		}
		return collectPath(val, parts[1:], out, multi)
	case bson.A:
		if i, err := strconv.Atoi(parts[0]); err == nil && i >= 0 {
			if i < len(x) {
				out, multi = collectPath(x[i], parts[1:], out, multi)
			}
		}
		for _, e := range x {
			if d, ok := e.(bson.D); ok {
				out, _ = collectPath(d, parts, out, multi)
			}
		}
		return out, true
	}
	return out, multi
}

// indexEntries returns the encoded keys (without the index prefix) that doc
// contributes to ix, deduplicated, or nil if the document is not indexed
// (sparse or partial). keyVals is the first key's field values, for errors.
//
// multi reports whether an indexed path of doc holds an array (the document
// makes the index multikey).
func (ix *Index) entries(doc bson.D) (keys [][]byte, keyVals [][]any, multi bool, err error) {
	if ix.partialMatch != nil && !ix.partialMatch(doc) {
		return nil, nil, false, nil
	}
	perField := make([][]any, len(ix.fields))
	multiField := -1
	allMissing := true
	for i, f := range ix.fields {
		vals, multi := keyValues(doc, f)
		if !(len(vals) == 1 && vals[0] == nil) || hasPath(doc, f) {
			allMissing = false
		}
		if multi {
			if multiField >= 0 {
				return nil, nil, true, mongoerr.Newf(mongoerr.Code(171), "cannot index parallel arrays [%s] [%s]", ix.fields[i], ix.fields[multiField])
			}
			multiField = i
		}
		perField[i] = vals
	}
	if ix.Sparse && allMissing {
		return nil, nil, false, nil
	}
	// Cartesian product (at most one field has several values).
	combos := [][]any{{}}
	for _, vals := range perField {
		var next [][]any
		for _, c := range combos {
			for _, v := range vals {
				nc := append(append([]any(nil), c...), v)
				next = append(next, nc)
			}
		}
		combos = next
	}
	seen := map[string]bool{}
	for _, c := range combos {
		k := index.AppendKey(nil, c, ix.desc)
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		keys = append(keys, k)
		keyVals = append(keyVals, c)
	}
	return keys, keyVals, multiField >= 0, nil
}

func hasPath(doc bson.D, path string) bool {
	vals, _ := collectPath(doc, strings.Split(path, "."), nil, false)
	return len(vals) > 0
}

func partialMatcher(filter bson.D) (func(bson.D) bool, error) {
	m, err := query.NewMatcher(filter, nil)
	if err != nil {
		return nil, err
	}
	return func(d bson.D) bool {
		ok, err := m.Match(d)
		return err == nil && ok
	}, nil
}
