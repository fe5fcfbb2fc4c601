package planner

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestBorrowRaw: a find without projection whose index bounds are the
// whole filter lends the engine's bytes when asked (BorrowRaw), and a
// caller that copies each document at once gets the same documents as
// one that does not ask. Plans whose documents are built, sorted in
// memory or decoded do not lend.
func TestBorrowRaw(t *testing.T) {
	env := newEnv(t)
	env.createIndexes(bson.D{{Key: "key", Value: bson.D{{Key: "i", Value: int32(1)}}}, {Key: "name", Value: "i_1"}})
	var docs []bson.D
	for i := range 3000 {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(3000 - i)}, {Key: "i", Value: int32(i)},
			{Key: "s", Value: strings.Repeat(fmt.Sprint(i%10), 300)}})
	}
	env.insert(docs...)
	for _, tc := range []struct {
		name string
		q    Query
		want bool
	}{
		{"range", Query{Filter: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: 100}, {Key: "$lt", Value: 400}}}}}, true},
		{"range sort limit", Query{Filter: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: 100}}}},
			Sort: bson.D{{Key: "i", Value: 1}}, Limit: 500, Skip: 3}, true},
		{"projection", Query{Filter: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: 100}}}},
			Projection: bson.D{{Key: "s", Value: 0}}}, false},
		{"residual filter", Query{Filter: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: 100}}},
			{Key: "s", Value: bson.D{{Key: "$ne", Value: "x"}}}}}, false},
		{"sort in memory", Query{Filter: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: 100}}}},
			Sort: bson.D{{Key: "s", Value: 1}}}, false},
		{"collection scan", Query{Filter: bson.D{{Key: "s", Value: bson.D{{Key: "$gte", Value: "5"}}}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := env.findAll(t, &tc.q, false)
			got, lends := env.findAll(t, &tc.q, true)
			if lends != tc.want {
				t.Fatalf("BorrowRaw: %v, want %v", lends, tc.want)
			}
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%d documents with BorrowRaw, %d without", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("document %d: %s with BorrowRaw, %s without", i, bson.Raw(got[i]), bson.Raw(want[i]))
				}
			}
		})
	}
}

// findAll runs q and copies out every document; with borrow it first
// calls BorrowRaw and reports what it answered.
func (e *testEnv) findAll(t *testing.T, q *Query, borrow bool) (docs [][]byte, lends bool) {
	t.Helper()
	snap, err := e.cat.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	it, err := Find(snap, e.coll(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if borrow {
		lends = BorrowRaw(it)
	}
	for {
		d, err := it.Next()
		if err == io.EOF {
			return docs, lends
		}
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, bytes.Clone(d))
	}
}
