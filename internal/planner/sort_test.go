package planner

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestSortMemoryLimitAndSpill(t *testing.T) {
	env := newEnv(t)
	var docs []bson.D
	for i := 0; i < 300; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}, {Key: "k", Value: int32((i * 37) % 101)}, {Key: "pad", Value: "0123456789"}})
	}
	env.insert(docs...)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cases := []struct {
		name     string
		q        Query
		wantCode int32
		wantN    int
	}{
		{"under the limit", Query{Sort: bson.D{{Key: "k", Value: int32(1)}, {Key: "_id", Value: int32(1)}}}, 0, 300},
		{"over the limit", Query{Sort: bson.D{{Key: "k", Value: int32(1)}}, MaxSortBytes: 2000}, 292, 0},
		{"spills with allowDiskUse", Query{Sort: bson.D{{Key: "k", Value: int32(-1)}, {Key: "_id", Value: int32(1)}}, MaxSortBytes: 2000, AllowDiskUse: true}, 0, 300},
		{"spills with limit", Query{Sort: bson.D{{Key: "k", Value: int32(1)}, {Key: "_id", Value: int32(-1)}}, MaxSortBytes: 2000, AllowDiskUse: true, Skip: 3, Limit: 50}, 0, 50},
	}
	src := env.source(true)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, err := Find(src, env.coll(), &tc.q)
			if tc.wantCode != 0 {
				var me *mongoerr.Error
				if !errors.As(err, &me) || int32(me.Code) != tc.wantCode {
					t.Fatalf("error %v, want code %d", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := drainIter(t, it)
			if len(got) != tc.wantN {
				t.Fatalf("%d documents, want %d", len(got), tc.wantN)
			}
			// Reference: the same query with no memory pressure.
			ref := tc.q
			ref.MaxSortBytes, ref.AllowDiskUse = 0, false
			rit, err := Find(src, env.coll(), &ref)
			if err != nil {
				t.Fatal(err)
			}
			want := drainIter(t, rit)
			if ext(got) != ext(want) {
				t.Fatalf("spilled order differs:\n got %v\nwant %v", got, want)
			}
			if tc.q.AllowDiskUse {
				p, err := prepare(src, env.coll(), &tc.q, false)
				if err != nil {
					t.Fatal(err)
				}
				p.it.close()
				if sn := findStage(p.sol.root, stageSort); sn == nil || sn.spills == 0 {
					t.Fatalf("the sort did not spill")
				}
			}
			left, _ := filepath.Glob(filepath.Join(tmp, "cairn-sort-*"))
			if len(left) != 0 {
				t.Fatalf("temporary runs left behind: %v", left)
			}
		})
	}
}
