package query

import (
	"slices"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/collation"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Sort error codes.
const (
	codeSortIllegalKey  mongoerr.Code = 15974
	codeSortBadOrdering mongoerr.Code = 15975
)

// Sort is a compiled sort specification. It is safe for concurrent use.
type Sort struct {
	keys []sortKey
	coll *collation.Collation // nil: binary string order
}

type sortKey struct {
	parts []string
	desc  bool
}

// SortKey is the precomputed sort key of one document (see Sort.Key).
type SortKey []any

// NewSort compiles a sort specification such as {a: 1, "b.c": -1}. An
// empty specification is valid and orders nothing (Compare returns 0);
// callers that require a key (the $sort stage) check for emptiness.
func NewSort(spec bson.D) (*Sort, error) { return NewSortCollation(spec, nil) }

// NewSortCollation is NewSort with strings ordered by collation c (nil:
// binary order). Keys from Key compare correctly only with CompareKeys of
// the same Sort.
func NewSortCollation(spec bson.D, c *collation.Collation) (*Sort, error) {
	s := &Sort{keys: make([]sortKey, 0, len(spec)), coll: c}
	for _, e := range spec {
		if err := checkFieldPath(e.Key); err != nil {
			return nil, err
		}
		var desc bool
		switch v := e.Value.(type) {
		case int32, int64, float64, bson.Decimal128, int:
			f, _ := bsonutil.ToFloat64(v)
			switch f {
			case 1:
			case -1:
				desc = true
			default:
				return nil, mongoerr.New(codeSortBadOrdering, "$sort key ordering must be 1 (for ascending) or -1 (for descending)")
			}
		case bson.D:
			if len(v) > 0 && v[0].Key == "$meta" {
				return nil, mongoerr.Newf(mongoerr.NotImplemented, "sorting by {$meta: %s} is not supported", fmtValue(v[0].Value))
			}
			return nil, mongoerr.Newf(codeSortIllegalKey, "Illegal key in $sort specification: %s: %s", e.Key, fmtValue(v))
		default:
			return nil, mongoerr.Newf(codeSortIllegalKey, "Illegal key in $sort specification: %s: %s", e.Key, fmtValue(v))
		}
		s.keys = append(s.keys, sortKey{parts: splitPath(e.Key), desc: desc})
	}
	return s, nil
}

// checkFieldPath validates a dotted field path as MongoDB's FieldPath does.
func checkFieldPath(path string) error {
	if path == "" {
		return mongoerr.New(40352, "FieldPath cannot be constructed with empty string")
	}
	if strings.HasSuffix(path, ".") {
		return mongoerr.New(40353, "FieldPath must not end with a '.'.")
	}
	for _, p := range splitPath(path) {
		if p == "" {
			return mongoerr.New(15998, "FieldPath field names may not be empty strings.")
		}
		if strings.HasPrefix(p, "$") {
			return mongoerr.Newf(mongoerr.Location16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
		}
	}
	return nil
}

// Len returns the number of sort fields.
func (s *Sort) Len() int { return len(s.keys) }

// Key computes doc's sort key: for each field the smallest value found at
// the path (ascending) or the largest (descending), with arrays expanded;
// a missing field is null and an empty array sorts before null.
func (s *Sort) Key(doc bson.D) SortKey {
	out := make(SortKey, len(s.keys))
	for i, k := range s.keys {
		var best any
		have := false
		walkDoc(doc, k.parts, -1, modeSort, func(v any, _ int) bool {
			if bsonutil.IsMissing(v) {
				v = nil
			}
			if !have {
				best, have = v, true
				return false
			}
			c := compareSortValues(s.coll, v, best)
			if (!k.desc && c < 0) || (k.desc && c > 0) {
				best = v
			}
			return false
		})
		out[i] = best // nil (null) when nothing was found
	}
	return out
}

// CompareKeys compares two keys from Key: negative if a sorts first,
// positive if b does, 0 on a tie.
func (s *Sort) CompareKeys(a, b SortKey) int {
	for i, k := range s.keys {
		c := compareSortValues(s.coll, a[i], b[i])
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// Compare orders two documents: negative if a sorts before b, positive if
// after, 0 if they tie (callers keep input order by sorting stably).
func (s *Sort) Compare(a, b bson.D) int {
	if len(s.keys) == 0 {
		return 0
	}
	return s.CompareKeys(s.Key(a), s.Key(b))
}

// SortDocs sorts docs in place, stably, computing each key once.
func (s *Sort) SortDocs(docs []bson.D) {
	if len(s.keys) == 0 || len(docs) < 2 {
		return
	}
	type keyed struct {
		key SortKey
		doc bson.D
	}
	tmp := make([]keyed, len(docs))
	for i, d := range docs {
		tmp[i] = keyed{s.Key(d), d}
	}
	slices.SortStableFunc(tmp, func(x, y keyed) int { return s.CompareKeys(x.key, y.key) })
	for i := range tmp {
		docs[i] = tmp[i].doc
	}
}

// Collation returns the sort's collation (nil: binary).
func (s *Sort) Collation() *collation.Collation { return s.coll }

// compareSortValues is collation.Compare extended with the empty-array
// marker, which sorts after MinKey and before every other value.
func compareSortValues(coll *collation.Collation, a, b any) int {
	_, ea := a.(emptyArrayKeyType)
	_, eb := b.(emptyArrayKeyType)
	switch {
	case ea && eb:
		return 0
	case ea:
		if _, ok := b.(bson.MinKey); ok {
			return 1
		}
		return -1
	case eb:
		if _, ok := a.(bson.MinKey); ok {
			return -1
		}
		return 1
	}
	return collation.Compare(coll, a, b)
}
