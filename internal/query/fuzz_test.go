package query

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzQuery feeds arbitrary filters, projections and sort specs (as
// Extended JSON) over arbitrary documents: compilation may fail, but
// nothing may panic.
func FuzzQuery(f *testing.F) {
	seeds := [][2]string{
		{`{"a": 1}`, `{"a": [1, 2]}`},
		{`{"a.b.0": {"$gt": 1}}`, `{"a": [{"b": [2]}]}`},
		{`{"$or": [{"a": {"$elemMatch": {"b": 1}}}, {"a": {"$size": 1}}]}`, `{"a": [{"b": 1}]}`},
		{`{"a": {"$regex": "^x", "$options": "i"}}`, `{"a": "X"}`},
		{`{"a": {"$mod": [3, 1]}, "b": {"$bitsAllSet": [1, 70]}}`, `{"a": -2, "b": {"$numberLong": "-1"}}`},
		{`{"a": {"$slice": [-1, 2]}, "b.c": 0}`, `{"a": [1, 2], "b": [{"c": 1}, 2]}`},
		{`{"a.$": 1}`, `{"a": [1]}`},
		{`{"a": {"$not": {"$type": ["array", 2]}}}`, `{"a": [[]]}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, spec, doc string) {
		var s, d bson.D
		if bson.UnmarshalExtJSON([]byte(spec), false, &s) != nil || bson.UnmarshalExtJSON([]byte(doc), false, &d) != nil {
			return
		}
		if m, err := NewMatcher(s, nil); err == nil {
			_, _, _ = m.MatchArrayPos(d)
		}
		if p, err := NewProjection(s, nil); err == nil {
			_, _ = p.Apply(d, 0)
			_, _ = p.Apply(d, -1)
		}
		if so, err := NewSort(s); err == nil {
			_ = so.Compare(d, d)
		}
		_ = PathValues(d, "a.b")
		_ = PathValues(d, "a.0")
	})
}

func BenchmarkMatchSimpleEq(b *testing.B) {
	m, _ := NewMatcher(bson.D{{Key: "status", Value: "A"}, {Key: "qty", Value: bson.D{{Key: "$lt", Value: 30}}}}, nil)
	doc := bson.D{{Key: "_id", Value: 1}, {Key: "status", Value: "A"}, {Key: "qty", Value: int32(25)}, {Key: "tags", Value: bson.A{"x", "y"}}}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := m.Match(doc); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatchArrayPath(b *testing.B) {
	m, _ := NewMatcher(bson.D{{Key: "a.b", Value: int32(3)}}, nil)
	doc := bson.D{{Key: "a", Value: bson.A{bson.D{{Key: "b", Value: int32(1)}}, bson.D{{Key: "b", Value: int32(3)}}}}}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := m.Match(doc); !ok {
			b.Fatal("no match")
		}
	}
}
