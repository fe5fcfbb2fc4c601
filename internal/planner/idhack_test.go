package planner

import (
	"math"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestIDHack checks _id equality lookups through Find (which reads the
// stored bytes without decoding when there is no projection), through a
// projection, through Matches (what updates use) and through Count:
// numeric _ids of other types under the same key match, absent ones give
// nothing.
func TestIDHack(t *testing.T) {
	e := newEnv(t)
	e.insert(
		bson.D{{Key: "_id", Value: 5.0}, {Key: "v", Value: "five"}},
		bson.D{{Key: "_id", Value: "s"}, {Key: "v", Value: "str"}},
		bson.D{{Key: "_id", Value: math.NaN()}, {Key: "v", Value: "nan"}},
	)
	tests := []struct {
		name   string
		filter bson.D
		want   string // v of the one match, "" for none
	}{
		{"int32 finds double", bson.D{{Key: "_id", Value: int32(5)}}, "five"},
		{"int64 with $eq", bson.D{{Key: "_id", Value: bson.D{{Key: "$eq", Value: int64(5)}}}}, "five"},
		{"decimal", bson.D{{Key: "_id", Value: mustDecimal(t, "5.00")}}, "five"},
		{"string", bson.D{{Key: "_id", Value: "s"}}, "str"},
		{"NaN", bson.D{{Key: "_id", Value: math.NaN()}}, "nan"},
		{"absent", bson.D{{Key: "_id", Value: int32(6)}}, ""},
		{"other type", bson.D{{Key: "_id", Value: bson.D{}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := e.source(false)
			check := func(how string, docs []bson.D) {
				t.Helper()
				switch {
				case tt.want == "" && len(docs) != 0:
					t.Errorf("%s: got %v, want nothing", how, docs)
				case tt.want != "" && (len(docs) != 1 || docs[0][len(docs[0])-1].Value != tt.want):
					t.Errorf("%s: got %v, want the document with v %q", how, docs, tt.want)
				}
			}
			it, err := Find(src, e.coll(), &Query{Filter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			check("find", drainIter(t, it))
			proj := bson.D{{Key: "v", Value: int32(1)}}
			it, err = Find(src, e.coll(), &Query{Filter: tt.filter, Projection: proj})
			if err != nil {
				t.Fatal(err)
			}
			check("find with projection", drainIter(t, it))
			docs, err := Matches(src, e.coll(), &Query{Filter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			var ds []bson.D
			for _, d := range docs {
				if d.D == nil {
					t.Fatalf("Matches returned an undecoded document")
				}
				ds = append(ds, d.D)
			}
			check("matches", ds)
			n, err := Count(src, e.coll(), &Query{Filter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{true: 0, false: 1}[tt.want == ""]; n != want {
				t.Errorf("count = %d, want %d", n, want)
			}
		})
	}
}

func mustDecimal(t *testing.T, s string) bson.Decimal128 {
	t.Helper()
	d, err := bson.ParseDecimal128(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
