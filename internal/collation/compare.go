package collation

import (
	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Compare is bsonutil.Compare with string (and symbol) values compared
// under c, also inside documents and arrays. Field names are always
// compared binary, as in MongoDB. A nil c is bsonutil.Compare.
func Compare(c *Collation, a, b any) int {
	if c == nil {
		return bsonutil.Compare(a, b)
	}
	return bsonutil.CompareStrings(a, b, c.CompareStrings)
}

// EqualValues reports whether Compare(c, a, b) == 0.
func EqualValues(c *Collation, a, b any) bool { return Compare(c, a, b) == 0 }

// HasStrings reports whether v is or contains (in documents and arrays) a
// string or symbol, i.e. whether a collation can affect comparisons of v.
func HasStrings(v any) bool {
	switch bsonutil.Rank(v) {
	case bsonutil.RankString:
		return true
	case bsonutil.RankObject:
		for _, e := range bsonutil.ToD(v) {
			if HasStrings(e.Value) {
				return true
			}
		}
	case bsonutil.RankArray:
		for _, e := range bsonutil.ToA(v) {
			if HasStrings(e) {
				return true
			}
		}
	}
	return false
}

// ComparisonKey returns a value that compares (with bsonutil.Compare)
// against other ComparisonKey results of the same collation the way the
// original values compare under c: strings are replaced by their sort
// keys. It is meant for hashing/grouping ($group, distinct): two values are
// equal under c exactly when their ComparisonKeys are equal. The result
// must not be shown to users. A nil c returns v unchanged.
func ComparisonKey(c *Collation, v any) any {
	if c == nil {
		return v
	}
	switch x := v.(type) {
	case string:
		return string(c.Key(x))
	case bson.Symbol:
		return string(c.Key(string(x)))
	case bson.D:
		out := make(bson.D, len(x))
		for i, e := range x {
			out[i] = bson.E{Key: e.Key, Value: ComparisonKey(c, e.Value)}
		}
		return out
	case bson.A:
		out := make(bson.A, len(x))
		for i, e := range x {
			out[i] = ComparisonKey(c, e)
		}
		return out
	case bson.M, bson.Raw:
		return ComparisonKey(c, bsonutil.ToD(x))
	case []any:
		return ComparisonKey(c, bson.A(x))
	}
	return v
}
