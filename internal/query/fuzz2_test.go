package query

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzMatchLogic complements FuzzQuery: it takes the filter and the
// document as raw BSON (so the mutator also produces byte-level oddities:
// unusual types, duplicate keys, odd field names) and checks semantics
// rather than only the absence of panics:
//
//   - compile errors are *mongoerr.Error values;
//   - {$and: [f]} and {$or: [f]} match exactly what f matches, and
//     {$nor: [f]} matches exactly what f does not;
//   - matching does not modify the document.
//
// Seeds are in testdata/fuzz/FuzzMatchLogic.
func FuzzMatchLogic(f *testing.F) {
	seeds := [][2]bson.D{
		{{{Key: "a", Value: int32(1)}}, {{Key: "a", Value: bson.A{int32(1), int32(2)}}}},
		{{{Key: "a.b", Value: bson.D{{Key: "$gte", Value: 2.5}}}}, {{Key: "a", Value: bson.A{bson.D{{Key: "b", Value: int64(3)}}}}}},
		{{{Key: "a", Value: bson.D{{Key: "$exists", Value: false}}}}, {{Key: "b", Value: nil}}},
		{{{Key: "a", Value: bson.D{{Key: "$in", Value: bson.A{nil, bson.Regex{Pattern: "^x", Options: "i"}}}}}}, {{Key: "a", Value: "Xy"}}},
		{{{Key: "a", Value: bson.D{{Key: "$elemMatch", Value: bson.D{{Key: "$gt", Value: int32(1)}, {Key: "$lt", Value: int32(3)}}}}}}, {{Key: "a", Value: bson.A{int32(0), int32(2)}}}},
		{{{Key: "$expr", Value: bson.D{{Key: "$eq", Value: bson.A{"$a", "$b"}}}}}, {{Key: "a", Value: int32(1)}, {Key: "b", Value: 1.0}}},
		{{{Key: "a", Value: bson.D{{Key: "$type", Value: "number"}}}, {Key: "b", Value: bson.D{{Key: "$size", Value: int32(0)}}}}, {{Key: "a", Value: bson.Decimal128{}}, {Key: "b", Value: bson.A{}}}},
		{{{Key: "a", Value: bson.D{{Key: "$not", Value: bson.D{{Key: "$all", Value: bson.A{int32(1), int32(2)}}}}}}}, {{Key: "a", Value: bson.A{int32(2), int32(1)}}}},
		{{{Key: "a", Value: bson.D{{Key: "$bitsAnySet", Value: bson.Binary{Data: []byte{1}}}}}}, {{Key: "a", Value: int32(3)}}},
		{{{Key: "a", Value: bson.D{{Key: "$mod", Value: bson.A{int32(4), int32(1)}}}}}, {{Key: "a", Value: -3.0}}},
	}
	for _, s := range seeds {
		fb, _ := bson.Marshal(s[0])
		db, _ := bson.Marshal(s[1])
		f.Add(fb, db)
	}
	f.Fuzz(func(t *testing.T, filterBytes, docBytes []byte) {
		var filter, doc bson.D
		if bson.Unmarshal(filterBytes, &filter) != nil || bson.Unmarshal(docBytes, &doc) != nil {
			return
		}
		before, err := bson.Marshal(doc)
		if err != nil {
			return
		}
		m, err := NewMatcher(filter, nil)
		if err != nil {
			var me *mongoerr.Error
			if !errors.As(err, &me) {
				t.Fatalf("NewMatcher returned a non-MongoDB error %T: %v", err, err)
			}
			return
		}
		got, err := m.Match(doc)
		if err != nil {
			return // runtime errors ($expr, $where) need not agree below
		}
		for _, op := range []string{"$and", "$or", "$nor"} {
			w, err := NewMatcher(bson.D{{Key: op, Value: bson.A{filter}}}, nil)
			if err != nil {
				t.Fatalf("%s: [f] does not compile although f does: %v", op, err)
			}
			wgot, err := w.Match(doc)
			if err != nil {
				t.Fatalf("%s: [f] failed although f matched: %v", op, err)
			}
			want := got
			if op == "$nor" {
				want = !got
			}
			if wgot != want {
				t.Fatalf("filter %v on %v: f matches %v but {%s: [f]} matches %v", filter, doc, got, op, wgot)
			}
		}
		after, _ := bson.Marshal(doc)
		if !bytes.Equal(before, after) {
			t.Fatalf("Match modified the document:\nbefore %v\nafter  %v", bson.Raw(before), bson.Raw(after))
		}
	})
}
