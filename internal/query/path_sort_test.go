package query

import (
	"fmt"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestPathValues(t *testing.T) {
	cases := []struct {
		doc, path, want string // want is a JSON array
	}{
		{`{"a": [1, [2, 3], {"b": 4}]}`, "a", `[1, [2, 3], {"b": 4}]`},
		{`{"a": [{"b": 1}, {"b": [2, 3]}, {"c": 1}, 5]}`, "a.b", `[1, 2, 3]`},
		{`{"a": {"b": {"c": 1}}}`, "a.b.c", `[1]`},
		{`{"a": {"b": {"c": 1}}}`, "a.b", `[{"c": 1}]`},
		{`{"a": [5, 6]}`, "a.1", `[6]`},
		{`{"a": [{"b": 1}, {"b": 2}]}`, "a.1.b", `[2]`},
		{`{"a": [[{"b": 1}]]}`, "a.b", `[]`},
		{`{"a": []}`, "a", `[]`},
		{`{"b": 1}`, "a", `[]`},
		{`{"a": 1}`, "a.b", `[]`},
		{`{"a": null}`, "a", `[null]`},
		{`{"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": {"c": 3}}]}`, "a.b.c", `[1, 2, 3]`},
	}
	for _, c := range cases {
		t.Run(c.doc+"/"+c.path, func(t *testing.T) {
			got := bson.A(PathValues(mustD(t, c.doc), c.path))
			if got == nil {
				got = bson.A{}
			}
			want := mustD(t, `{"v": `+c.want+`}`)[0].Value
			if bsonutil.Compare(got, want) != 0 {
				t.Errorf("got %v want %v", got, want)
			}
		})
	}
}

func TestSort(t *testing.T) {
	coll := `[
 {"_id": 1, "a": 3, "b": 1},
 {"_id": 2, "a": [1, 5], "b": 2},
 {"_id": 3, "b": 1},
 {"_id": 4, "a": null, "b": 2},
 {"_id": 5, "a": [], "b": 1},
 {"_id": 6, "a": "s", "b": 2},
 {"_id": 7, "a": {"$minKey": 1}, "b": 1},
 {"_id": 8, "a": 2.5, "b": 2},
 {"_id": 9, "a": {"$numberLong": "3"}, "b": 2}]`
	nested := `[
 {"_id": 1, "x": [{"y": 5}, {"y": 1}]},
 {"_id": 2, "x": {"y": 3}},
 {"_id": 3, "x": [{"y": 2}, {"z": 1}]},
 {"_id": 4, "x": [{"y": 4}]}]`
	cases := []struct {
		coll, spec string
		want       []any
	}{
		// MinKey < [] < null/missing < numbers < strings; ties keep input order.
		{coll, `{"a": 1}`, ints(7, 5, 3, 4, 2, 8, 1, 9, 6)},
		{coll, `{"a": -1}`, ints(6, 2, 1, 9, 8, 3, 4, 5, 7)},
		{coll, `{"b": 1, "a": -1}`, ints(1, 3, 5, 7, 6, 2, 9, 8, 4)},
		{coll, `{"b": -1.0, "_id": {"$numberLong": "-1"}}`, ints(9, 8, 6, 4, 2, 7, 5, 3, 1)},
		{coll, `{}`, ints(1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{coll, `{"nope": 1}`, ints(1, 2, 3, 4, 5, 6, 7, 8, 9)},
		// Arrays of documents: ascending uses the smallest value, a
		// missing field inside an array element counts as null.
		{nested, `{"x.y": 1}`, ints(3, 1, 2, 4)},
		{nested, `{"x.y": -1}`, ints(1, 4, 2, 3)},
		{nested, `{"x.0.y": 1}`, ints(2, 3, 4, 1)},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			s, err := NewSort(mustD(t, c.spec))
			if err != nil {
				t.Fatal(err)
			}
			docs := mustDocs(t, c.coll)
			s.SortDocs(docs)
			if got := ids(docs); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("SortDocs %s: got %v want %v", c.spec, got, c.want)
			}
			// Compare must agree with the order.
			for i := 1; i < len(docs); i++ {
				if s.Compare(docs[i-1], docs[i]) > 0 {
					t.Errorf("Compare(%v, %v) > 0 after sorting", docs[i-1], docs[i])
				}
			}
		})
	}
}

func TestSortCompareSymmetry(t *testing.T) {
	s, err := NewSort(mustD(t, `{"a": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustD(t, `{"a": 1}`), mustD(t, `{"a": 2}`)
	if s.Compare(a, b) >= 0 || s.Compare(b, a) <= 0 || s.Compare(a, a) != 0 {
		t.Errorf("Compare is not antisymmetric: %d %d %d", s.Compare(a, b), s.Compare(b, a), s.Compare(a, a))
	}
}

func TestSortErrors(t *testing.T) {
	cases := []struct {
		spec string
		code mongoerr.Code
	}{
		{`{"a": 2}`, 15975},
		{`{"a": 0}`, 15975},
		{`{"a": "asc"}`, 15974},
		{`{"a": {"b": 1}}`, 15974},
		{`{"a": null}`, 15974},
		{`{"a": {"$meta": "textScore"}}`, mongoerr.NotImplemented},
		{`{"": 1}`, 40352},
		{`{"a.": 1}`, 40353},
		{`{"a..b": 1}`, 15998},
		{`{"$a": 1}`, mongoerr.Location16410},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			_, err := NewSort(mustD(t, c.spec))
			wantCode(t, err, c.code)
		})
	}
}
