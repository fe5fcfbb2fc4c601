package query

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
)

// Collections from the MongoDB manual ("Query an Array", "Query an Array of
// Embedded Documents", "Query for Null or Missing Fields") and a mixed-type
// collection for type bracketing and array traversal.
const (
	invArrays = `[
 {"_id": "journal", "qty": 25, "tags": ["blank", "red"], "dim_cm": [14, 21]},
 {"_id": "notebook", "qty": 50, "tags": ["red", "blank"], "dim_cm": [14, 21]},
 {"_id": "paper", "qty": 100, "tags": ["red", "blank", "plain"], "dim_cm": [14, 21]},
 {"_id": "planner", "qty": 75, "tags": ["blank", "red"], "dim_cm": [22.85, 30]},
 {"_id": "postcard", "qty": 45, "tags": ["blue"], "dim_cm": [10, 15.25]}]`
	invEmbedded = `[
 {"_id": "journal", "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]},
 {"_id": "notebook", "instock": [{"warehouse": "C", "qty": 5}]},
 {"_id": "paper", "instock": [{"warehouse": "A", "qty": 60}, {"warehouse": "B", "qty": 15}]},
 {"_id": "planner", "instock": [{"warehouse": "A", "qty": 40}, {"warehouse": "B", "qty": 5}]},
 {"_id": "postcard", "instock": [{"warehouse": "B", "qty": 15}, {"warehouse": "C", "qty": 35}]}]`
	invNull = `[{"_id": 1, "item": null}, {"_id": 2}]`
	mixed   = `[
 {"_id": 1, "a": 1},
 {"_id": 2, "a": 2.5},
 {"_id": 3, "a": "x"},
 {"_id": 4, "a": null},
 {"_id": 5},
 {"_id": 6, "a": [1, 2, 3]},
 {"_id": 7, "a": [[1, 2], 3]},
 {"_id": 8, "a": {"b": 1}},
 {"_id": 9, "a": [{"b": 1}, {"b": 2}]},
 {"_id": 10, "a": []},
 {"_id": 11, "a": {"$numberLong": "1"}},
 {"_id": 12, "a": {"$numberDecimal": "1.0"}},
 {"_id": 13, "a": true},
 {"_id": 14, "a": {"$date": "2020-01-01T00:00:00Z"}},
 {"_id": 15, "a": {"$undefined": true}},
 {"_id": 16, "a": {"$minKey": 1}},
 {"_id": 17, "a": {"$maxKey": 1}},
 {"_id": 18, "a": {"$numberDouble": "NaN"}},
 {"_id": 19, "a": "Xyz\nabc"},
 {"_id": 20, "a": {"b": [1, {"c": 2}]}}]`
)

func allBut(n int, except ...int) []any {
	var out []any
	for i := 1; i <= n; i++ {
		if !slices.Contains(except, i) {
			out = append(out, int32(i))
		}
	}
	return out
}

func ints(xs ...int) []any {
	out := []any{}
	for _, x := range xs {
		out = append(out, int32(x))
	}
	return out
}

func strs(xs ...string) []any {
	out := []any{}
	for _, x := range xs {
		out = append(out, x)
	}
	return out
}

func TestMatch(t *testing.T) {
	cases := []struct {
		coll, filter string
		want         []any
	}{
		// Manual: Query an Array.
		{invArrays, `{"tags": ["red", "blank"]}`, strs("notebook")},
		{invArrays, `{"tags": {"$all": ["red", "blank"]}}`, strs("journal", "notebook", "paper", "planner")},
		{invArrays, `{"tags": "red"}`, strs("journal", "notebook", "paper", "planner")},
		{invArrays, `{"dim_cm": {"$gt": 25}}`, strs("planner")},
		{invArrays, `{"dim_cm": {"$gt": 15, "$lt": 20}}`, strs("journal", "notebook", "paper", "postcard")},
		{invArrays, `{"dim_cm": {"$elemMatch": {"$gt": 22, "$lt": 30}}}`, strs("planner")},
		{invArrays, `{"dim_cm.1": {"$gt": 25}}`, strs("planner")},
		{invArrays, `{"tags": {"$size": 3}}`, strs("paper")},
		// Manual: Query an Array of Embedded Documents.
		{invEmbedded, `{"instock": {"warehouse": "A", "qty": 5}}`, strs("journal")},
		{invEmbedded, `{"instock": {"qty": 5, "warehouse": "A"}}`, strs()},
		{invEmbedded, `{"instock.0.qty": {"$lte": 20}}`, strs("journal", "notebook", "postcard")},
		{invEmbedded, `{"instock.qty": {"$lte": 20}}`, strs("journal", "notebook", "paper", "planner", "postcard")},
		{invEmbedded, `{"instock": {"$elemMatch": {"qty": 5, "warehouse": "A"}}}`, strs("journal")},
		{invEmbedded, `{"instock": {"$elemMatch": {"qty": {"$gt": 10, "$lte": 20}}}}`, strs("journal", "paper", "postcard")},
		{invEmbedded, `{"instock.qty": {"$gt": 10, "$lte": 20}}`, strs("journal", "paper", "planner", "postcard")},
		{invEmbedded, `{"instock.qty": 5, "instock.warehouse": "A"}`, strs("journal", "planner")},
		{invEmbedded, `{"instock": {"$all": [{"$elemMatch": {"warehouse": "A"}}, {"$elemMatch": {"qty": {"$gte": 15}}}]}}`, strs("journal", "paper", "planner")},
		// Manual: Query for Null or Missing Fields.
		{invNull, `{"item": null}`, ints(1, 2)},
		{invNull, `{"item": {"$type": 10}}`, ints(1)},
		{invNull, `{"item": {"$exists": false}}`, ints(2)},

		// Equality and type bracketing.
		{mixed, `{}`, allBut(20)},
		{mixed, `{"a": 1}`, ints(1, 6, 11, 12)},
		{mixed, `{"a": {"$eq": 1}}`, ints(1, 6, 11, 12)},
		{mixed, `{"a": null}`, ints(4, 5)},
		{mixed, `{"a": {"$ne": null}}`, allBut(20, 4, 5)},
		{mixed, `{"a": {"$ne": 1}}`, allBut(20, 1, 6, 11, 12)},
		{mixed, `{"a": [1, 2]}`, ints(7)},
		{mixed, `{"a": [1, 2, 3]}`, ints(6)},
		{mixed, `{"a": []}`, ints(10)},
		{mixed, `{"a": {"b": 1}}`, ints(8, 9)},
		{mixed, `{"a": {"b": 1.0}}`, ints(8, 9)},
		{mixed, `{"a": {"$eq": {"$numberDouble": "NaN"}}}`, ints(18)},
		{mixed, `{"a": {"$date": "2020-01-01T00:00:00Z"}}`, ints(14)},
		{mixed, `{"a": {"$minKey": 1}}`, ints(16)},
		{mixed, `{"a": {"$regularExpression": {"pattern": "^x", "options": ""}}}`, ints(3)},
		{mixed, `{"a": {"$eq": {"$regularExpression": {"pattern": "^x", "options": ""}}}}`, ints()},
		// Comparisons.
		{mixed, `{"a": {"$gt": 1}}`, ints(2, 6, 7)},
		{mixed, `{"a": {"$gte": 1}}`, ints(1, 2, 6, 7, 11, 12)},
		{mixed, `{"a": {"$lt": 2}}`, ints(1, 6, 11, 12)},
		{mixed, `{"a": {"$lte": 1}}`, ints(1, 6, 11, 12)},
		{mixed, `{"a": {"$gt": 0, "$lt": 2}}`, ints(1, 6, 11, 12)},
		{mixed, `{"a": {"$gt": "a"}}`, ints(3)},
		{mixed, `{"a": {"$gte": null}}`, ints(4, 5)},
		{mixed, `{"a": {"$lte": null}}`, ints(4, 5)},
		{mixed, `{"a": {"$gt": null}}`, ints()},
		{mixed, `{"a": {"$lt": null}}`, ints()},
		{mixed, `{"a": {"$gte": {"$numberDouble": "NaN"}}}`, ints(18)},
		{mixed, `{"a": {"$gt": {"$numberDouble": "NaN"}}}`, ints()},
		{mixed, `{"a": {"$gt": {"$minKey": 1}}}`, allBut(20, 5, 15, 16)},
		{mixed, `{"a": {"$lt": {"$maxKey": 1}}}`, allBut(20, 5, 15, 17)},
		{mixed, `{"a": {"$gt": {"$date": "2019-01-01T00:00:00Z"}}}`, ints(14)},
		{mixed, `{"a": {"$gt": [1]}}`, ints(6, 7, 9)}, // arrays compare element-wise; {b: 1} > 1 by type order
		{mixed, `{"a": {"$in": [2.5, "x"]}}`, ints(2, 3)},
		{mixed, `{"a": {"$in": [null]}}`, ints(4, 5)},
		{mixed, `{"a": {"$in": []}}`, ints()},
		{mixed, `{"a": {"$in": [{"$regularExpression": {"pattern": "^x", "options": "i"}}, true]}}`, ints(3, 13, 19)},
		{mixed, `{"a": {"$nin": [1, null]}}`, allBut(20, 1, 4, 5, 6, 11, 12)},
		// Paths through documents and arrays.
		{mixed, `{"a.b": 1}`, ints(8, 9, 20)},
		{mixed, `{"a.b": 2}`, ints(9)},
		{mixed, `{"a.b": null}`, ints(1, 2, 3, 4, 5, 11, 12, 13, 14, 15, 16, 17, 18, 19)},
		{mixed, `{"a.b": {"$exists": true}}`, ints(8, 9, 20)},
		{mixed, `{"a.b.c": 2}`, ints(20)},
		{mixed, `{"a.b.1.c": 2}`, ints(20)},
		{mixed, `{"a.1": 2}`, ints(6)},
		{mixed, `{"a.0": [1, 2]}`, ints(7)},
		{mixed, `{"a.1.b": 2}`, ints(9)},
		{mixed, `{"a.5": {"$exists": true}}`, ints()},
		// Element operators.
		{mixed, `{"a": {"$exists": true}}`, allBut(20, 5)},
		{mixed, `{"a": {"$exists": false}}`, ints(5)},
		{mixed, `{"a": {"$exists": 0}}`, ints(5)},
		{mixed, `{"a": {"$type": "string"}}`, ints(3, 19)},
		{mixed, `{"a": {"$type": 2}}`, ints(3, 19)},
		{mixed, `{"a": {"$type": 2.0}}`, ints(3, 19)},
		{mixed, `{"a": {"$type": "array"}}`, ints(6, 7, 9, 10)},
		{mixed, `{"a": {"$type": "number"}}`, ints(1, 2, 6, 7, 11, 12, 18)},
		{mixed, `{"a": {"$type": [10, "bool"]}}`, ints(4, 13)},
		{mixed, `{"a": {"$type": "undefined"}}`, ints(15)},
		{mixed, `{"a": {"$type": -1}}`, ints(16)},
		{mixed, `{"a": {"$type": "maxKey"}}`, ints(17)},
		{mixed, `{"a": {"$type": "long"}}`, ints(11)},
		{mixed, `{"a": {"$type": "decimal"}}`, ints(12)},
		{mixed, `{"a": {"$type": "object"}}`, ints(8, 9, 20)},
		// Array operators.
		{mixed, `{"a": {"$size": 3}}`, ints(6)},
		{mixed, `{"a": {"$size": 0}}`, ints(10)},
		{mixed, `{"a": {"$size": 2}}`, ints(7, 9)},
		{mixed, `{"a": {"$size": 2.5}}`, ints()},
		{mixed, `{"a": {"$exists": true, "$size": 0}}`, ints(10)},
		{mixed, `{"a": {"$elemMatch": {"$gt": 2}}}`, ints(6, 7)},
		{mixed, `{"a": {"$elemMatch": {"b": 2}}}`, ints(9)},
		{mixed, `{"a": {"$elemMatch": {"$or": [{"b": 2}, {"b": 7}]}}}`, ints(9)},
		{mixed, `{"a": {"$elemMatch": {"$not": {"$gt": 1}}}}`, ints(6, 7, 9)}, // non-numeric elements are "not > 1"
		{mixed, `{"a": {"$all": [1, 2]}}`, ints(6)},
		{mixed, `{"a": {"$all": [[1, 2]]}}`, ints(7)},
		{mixed, `{"a": {"$all": [1]}}`, ints(1, 6, 11, 12)},
		{mixed, `{"a": {"$all": []}}`, ints()},
		{mixed, `{"a": {"$all": [{"$elemMatch": {"b": {"$gte": 2}}}]}}`, ints(9)},
		// Evaluation operators.
		{mixed, `{"a": {"$regex": "^x", "$options": "i"}}`, ints(3, 19)},
		{mixed, `{"a": {"$regex": {"$regularExpression": {"pattern": "^x", "options": "i"}}}}`, ints(3, 19)},
		{mixed, `{"a": {"$regex": "^abc"}}`, ints()},
		{mixed, `{"a": {"$regex": "^abc", "$options": "m"}}`, ints(19)},
		{mixed, `{"a": {"$regex": "z.a"}}`, ints()},
		{mixed, `{"a": {"$regex": "z.a", "$options": "s"}}`, ints(19)},
		{mixed, `{"a": {"$regex": " x # comment", "$options": "x"}}`, ints(3)},
		{mixed, `{"a": {"$regex": "(?<=X)y"}}`, ints(19)},
		{mixed, `{"a": {"$regex": "^X(?!q)"}}`, ints(19)},
		{mixed, `{"a": {"$regex": "(?P<first>y)z"}}`, ints(19)},
		{mixed, `{"a": {"$not": {"$regularExpression": {"pattern": "^x", "options": ""}}}}`, allBut(20, 3)},
		{mixed, `{"a": {"$not": {"$gt": 1}}}`, allBut(20, 2, 6, 7)},
		{mixed, `{"a": {"$mod": [2, 0]}}`, ints(2, 6)},
		{mixed, `{"a": {"$mod": [2, 1]}}`, ints(1, 6, 7, 11, 12)},
		{mixed, `{"a": {"$mod": [2.9, 1.9]}}`, ints(1, 6, 7, 11, 12)},
		{mixed, `{"a": {"$bitsAllSet": [0]}}`, ints(1, 6, 7, 11, 12)},
		{mixed, `{"a": {"$bitsAnySet": 2}}`, ints(6, 7)},
		{mixed, `{"a": {"$bitsAllClear": [0]}}`, ints(6)},
		{mixed, `{"a": {"$bitsAnyClear": 3}}`, ints(1, 6, 11, 12)},
		// Logical operators.
		{mixed, `{"$and": [{"a": {"$gt": 0}}, {"a": {"$lt": 2}}]}`, ints(1, 6, 11, 12)},
		{mixed, `{"$or": [{"a": "x"}, {"a": true}]}`, ints(3, 13)},
		{mixed, `{"$or": [{"a": "x"}]}`, ints(3)},
		{mixed, `{"$nor": [{"a": {"$exists": true}}]}`, ints(5)},
		{mixed, `{"$nor": [{"a": 1}, {"a": null}]}`, allBut(20, 1, 4, 5, 6, 11, 12)},
		{mixed, `{"$comment": "hello", "a": 1}`, ints(1, 6, 11, 12)},
		{mixed, `{"$alwaysFalse": 1}`, ints()},
		{mixed, `{"$alwaysTrue": 1, "_id": {"$lte": 2}}`, ints(1, 2)},
		{mixed, `{"a": {"$ref": "c", "$id": 1}}`, ints()},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.filter), func(t *testing.T) {
			m, err := NewMatcher(mustD(t, c.filter), nil)
			if err != nil {
				t.Fatalf("NewMatcher: %v", err)
			}
			var got []any
			for _, d := range mustDocs(t, c.coll) {
				ok, err := m.Match(d)
				if err != nil {
					t.Fatalf("Match: %v", err)
				}
				if ok {
					got = append(got, d[0].Value)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("filter %s\n got %v\nwant %v", c.filter, got, c.want)
			}
		})
	}
}

func TestMatcherErrors(t *testing.T) {
	cases := []struct {
		filter string
		code   mongoerr.Code
		msg    string
	}{
		{`{"$foo": 1}`, mongoerr.BadValue, "unknown top level operator: $foo"},
		{`{"a": {"$foo": 1}}`, mongoerr.BadValue, "unknown operator: $foo"},
		{`{"a": {"$gt": 1, "b": 1}}`, mongoerr.BadValue, "unknown operator: b"},
		{`{"$and": []}`, mongoerr.BadValue, "$and/$or/$nor must be a nonempty array"},
		{`{"$or": []}`, mongoerr.BadValue, "$and/$or/$nor must be a nonempty array"},
		{`{"$nor": 1}`, mongoerr.BadValue, "$nor must be an array"},
		{`{"$and": [1]}`, mongoerr.BadValue, "$or/$and/$nor entries need to be full objects"},
		{`{"$or": [{"a": {"$bad": 1}}]}`, mongoerr.BadValue, "unknown operator: $bad"},
		{`{"a": {"$in": 1}}`, mongoerr.BadValue, "$in needs an array"},
		{`{"a": {"$nin": "x"}}`, mongoerr.BadValue, "$nin needs an array"},
		{`{"a": {"$in": [{"$gt": 1}]}}`, mongoerr.BadValue, "cannot nest $ under $in"},
		{`{"a": {"$size": "x"}}`, mongoerr.BadValue, "$size needs a number"},
		{`{"a": {"$size": -1}}`, mongoerr.BadValue, "$size may not be negative"},
		{`{"a": {"$mod": [0, 1]}}`, mongoerr.BadValue, "divisor cannot be 0"},
		{`{"a": {"$mod": [1]}}`, mongoerr.BadValue, "malformed mod, not enough elements"},
		{`{"a": {"$mod": [1, 2, 3]}}`, mongoerr.BadValue, "malformed mod, too many elements"},
		{`{"a": {"$mod": 1}}`, mongoerr.BadValue, "malformed mod, needs to be an array"},
		{`{"a": {"$mod": ["x", 1]}}`, mongoerr.BadValue, "malformed mod, divisor not a number"},
		{`{"a": {"$mod": [{"$numberDouble": "NaN"}, 1]}}`, mongoerr.BadValue, ""},
		{`{"a": {"$type": "foo"}}`, mongoerr.BadValue, "Unknown type name alias: foo"},
		{`{"a": {"$type": 100}}`, mongoerr.BadValue, "Invalid numerical type code: 100"},
		{`{"a": {"$type": 2.5}}`, mongoerr.BadValue, ""},
		{`{"a": {"$type": {}}}`, mongoerr.TypeMismatch, ""},
		{`{"a": {"$type": ["string", "foo"]}}`, mongoerr.BadValue, ""},
		{`{"a": {"$regex": "("}}`, 51091, ""},
		{`{"a": {"$regex": "a", "$options": "z"}}`, 51108, "invalid flag in regex options: z"},
		{`{"a": {"$options": "i"}}`, mongoerr.BadValue, "$options needs a $regex"},
		{`{"a": {"$regex": {"$regularExpression": {"pattern": "a", "options": "i"}}, "$options": "m"}}`, 51075, ""},
		{`{"a": {"$regex": 1}}`, mongoerr.BadValue, "$regex has to be a string"},
		{`{"a": {"$regularExpression": {"pattern": "(", "options": ""}}}`, 51091, ""},
		{`{"a": {"$not": 1}}`, mongoerr.BadValue, "$not needs a regex or a document"},
		{`{"a": {"$not": {}}}`, mongoerr.BadValue, "$not cannot be empty"},
		{`{"a": {"$not": {"$bad": 1}}}`, mongoerr.BadValue, "unknown operator: $bad"},
		{`{"a": {"$elemMatch": 1}}`, mongoerr.BadValue, "$elemMatch needs an Object"},
		{`{"a": {"$elemMatch": {"$gt": 1, "$bad": 1}}}`, mongoerr.BadValue, "unknown operator: $bad"},
		{`{"a": {"$all": 1}}`, mongoerr.BadValue, "$all needs an array"},
		{`{"a": {"$all": [{"$elemMatch": {}}, 1]}}`, mongoerr.BadValue, "$all/$elemMatch has to be consistent"},
		{`{"a": {"$all": [{"$gt": 1}]}}`, mongoerr.BadValue, "no $ expressions in $all"},
		{`{"a": {"$eq": {"$undefined": true}}}`, mongoerr.BadValue, "cannot compare to undefined"},
		{`{"a": {"$undefined": true}}`, mongoerr.BadValue, "cannot compare to undefined"},
		{`{"a": {"$bitsAllSet": -1}}`, mongoerr.BadValue, ""},
		{`{"a": {"$bitsAllSet": "x"}}`, mongoerr.BadValue, ""},
		{`{"a": {"$bitsAnySet": [-1]}}`, mongoerr.BadValue, ""},
		{`{"a": {"$bitsAnySet": 1.5}}`, mongoerr.BadValue, ""},
		{`{"$alwaysTrue": 2}`, mongoerr.BadValue, ""},
		{`{"a": {"$elemMatch": {"$expr": true}}}`, mongoerr.BadValue, "$expr can only be applied to the top-level document"},
		{`{"$where": "this.a == 1"}`, mongoerr.NotImplemented, ""},
		{`{"$text": {"$search": "x"}}`, mongoerr.NotImplemented, ""},
		{`{"$jsonSchema": {}}`, mongoerr.NotImplemented, ""},
		{`{"a": {"$near": [0, 0]}}`, mongoerr.NotImplemented, ""},
		{`{"a": {"$geoWithin": {}}}`, mongoerr.NotImplemented, ""},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			_, err := NewMatcher(mustD(t, c.filter), nil)
			wantCode(t, err, c.code)
			if c.msg != "" && err.Error() != c.msg {
				t.Errorf("message %q, want %q", err.Error(), c.msg)
			}
		})
	}
}

func TestMatchArrayPos(t *testing.T) {
	cases := []struct {
		filter, doc string
		match       bool
		pos         int
	}{
		{`{"a": 2}`, `{"a": [1, 2, 3]}`, true, 1},
		{`{"a": {"$gt": 1}}`, `{"a": [1, 2, 3]}`, true, 1},
		{`{"a.b": 2}`, `{"a": [{"b": 1}, {"b": 2}]}`, true, 1},
		{`{"a": {"$elemMatch": {"b": 2}}}`, `{"a": [{"b": 1}, {"b": 2}]}`, true, 1},
		{`{"a": [1, 2]}`, `{"a": [1, 2]}`, true, -1},
		{`{"b": 1}`, `{"b": 1}`, true, -1},
		{`{"a": {"$ne": 1}}`, `{"a": [2, 3]}`, true, -1},
		{`{"a.b": 5, "c": 1}`, `{"a": [{"b": 1}, {"b": 5}], "c": 1}`, true, 1},
		{`{"a.b.c": 3}`, `{"a": [{"b": [{"c": 1}, {"c": 3}]}]}`, true, 0},
		{`{"x": 1, "a": 3}`, `{"x": [0, 1], "a": [1, 2, 3]}`, true, 2},
		{`{"a": 9}`, `{"a": [1, 2, 3]}`, false, -1},
		{`{"a.1": 2}`, `{"a": [1, 2, 3]}`, true, 1},
		{`{"a": {"$elemMatch": {"$gt": 1}}}`, `{"a": [1, 2, 3]}`, true, 1},
		{`{"x.a": {"$elemMatch": {"$gt": 1}}}`, `{"x": [{"a": [5]}, {"a": [0]}]}`, true, 0},
	}
	for _, c := range cases {
		t.Run(c.filter+c.doc, func(t *testing.T) {
			m, err := NewMatcher(mustD(t, c.filter), nil)
			if err != nil {
				t.Fatal(err)
			}
			ok, pos, err := m.MatchArrayPos(mustD(t, c.doc))
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.match || pos != c.pos {
				t.Errorf("got (%v, %d), want (%v, %d)", ok, pos, c.match, c.pos)
			}
		})
	}
}

func TestMatchExpr(t *testing.T) {
	cases := []struct {
		filter string
		want   []any
	}{
		{`{"$expr": {"$gt": ["$a", 1]}}`, ints(2, 3, 6, 7, 8, 9, 10, 13, 14, 17, 19, 20)}, // $expr uses the total BSON order
		{`{"$expr": {"$eq": ["$a", "x"]}}`, ints(3)},
		{`{"$expr": true}`, allBut(20)},
		{`{"$expr": 0}`, ints()},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			m, err := NewMatcher(mustD(t, c.filter), nil)
			skipIfExprMissing(t, err)
			if err != nil {
				t.Fatal(err)
			}
			var got []any
			for _, d := range mustDocs(t, mixed) {
				ok, err := m.Match(d)
				if err != nil {
					t.Fatalf("Match: %v", err)
				}
				if ok {
					got = append(got, d[0].Value)
				}
			}
			w := append([]any(nil), c.want...)
			slices.SortFunc(w, func(x, y any) int { return int(x.(int32) - y.(int32)) })
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("got %v want %v", got, w)
			}
		})
	}
}
