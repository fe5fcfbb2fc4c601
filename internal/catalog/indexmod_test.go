package catalog_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func ptr[T any](v T) *T { return &v }

// violations returns the violations of a CannotConvertIndexToUnique error.
func violations(t *testing.T, err error) [][]any {
	t.Helper()
	if !mongoerr.Is(err, mongoerr.CannotConvertIndexToUnique) {
		t.Fatalf("got %v, want CannotConvertIndexToUnique", err)
	}
	var out [][]any
	for _, x := range mongoerr.As(err).Extra {
		if x.Key != "violations" {
			continue
		}
		b, err := bson.Marshal(bson.D{{Key: "v", Value: x.Value}})
		if err != nil {
			t.Fatal(err)
		}
		var d struct{ V []struct{ IDs []any } }
		if err := bson.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, g := range d.V {
			out = append(out, g.IDs)
		}
	}
	return out
}

func TestConvertToUnique(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   bson.D
		docs   []bson.D
		groups [][]any // nil: the conversion succeeds
	}{
		{
			name:   "single field",
			spec:   bson.D{{Key: "key", Value: bson.D{{Key: "x", Value: 1}}}, {Key: "name", Value: "x_1"}},
			docs:   []bson.D{{{Key: "_id", Value: int32(1)}, {Key: "x", Value: "a"}}, {{Key: "_id", Value: int32(2)}, {Key: "x", Value: "b"}}, {{Key: "_id", Value: int32(3)}, {Key: "x", Value: "a"}}},
			groups: [][]any{{int32(1), int32(3)}},
		},
		{
			name: "multikey: arrays conflict across documents, not within one",
			spec: bson.D{{Key: "key", Value: bson.D{{Key: "x", Value: 1}}}, {Key: "name", Value: "x_1"}},
			docs: []bson.D{
				{{Key: "_id", Value: int32(1)}, {Key: "x", Value: bson.A{int32(1), int32(2)}}},
				{{Key: "_id", Value: int32(2)}, {Key: "x", Value: bson.A{int32(2), int32(3)}}},
				{{Key: "_id", Value: int32(3)}, {Key: "x", Value: bson.A{int32(4), int32(4)}}},
			},
			groups: [][]any{{int32(1), int32(2)}},
		},
		{
			name:   "descending compound, groups in key order",
			spec:   bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: -1}, {Key: "b", Value: 1}}}, {Key: "name", Value: "ab"}},
			docs:   []bson.D{{{Key: "_id", Value: "p"}, {Key: "a", Value: 1}, {Key: "b", Value: 1}}, {{Key: "_id", Value: "q"}, {Key: "a", Value: 2}, {Key: "b", Value: 1}}, {{Key: "_id", Value: "r"}, {Key: "a", Value: 1}, {Key: "b", Value: 1}}, {{Key: "_id", Value: "s"}, {Key: "a", Value: 2}, {Key: "b", Value: 1}}},
			groups: [][]any{{"q", "s"}, {"p", "r"}},
		},
		{
			name: "sparse: missing fields do not conflict",
			spec: bson.D{{Key: "key", Value: bson.D{{Key: "x", Value: 1}}}, {Key: "name", Value: "x_1"}, {Key: "sparse", Value: true}},
			docs: []bson.D{{{Key: "_id", Value: int32(1)}}, {{Key: "_id", Value: int32(2)}}, {{Key: "_id", Value: int32(3)}, {Key: "x", Value: 1}}},
		},
		{
			name: "no duplicates",
			spec: bson.D{{Key: "key", Value: bson.D{{Key: "x", Value: 1}}}, {Key: "name", Value: "x_1"}},
			docs: []bson.D{{{Key: "_id", Value: int32(1)}, {Key: "x", Value: int32(1)}}, {{Key: "_id", Value: int32(2)}, {Key: "x", Value: int64(2)}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c, eng := openCatalog(t, vfs.NewMem())
			defer eng.Close()
			coll, err := c.Create(ctx, "db", "c", catalog.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i, err := range insert(t, c, coll, tc.docs...) {
				if err != nil {
					t.Fatalf("doc %d: %v", i, err)
				}
			}
			if _, _, _, err := c.CreateIndexes(ctx, "db", "c", []bson.D{tc.spec}); err != nil {
				t.Fatal(err)
			}
			name := tc.spec[1].Value.(string)
			mod := catalog.IndexMod{Name: name, Unique: ptr(true)}
			if _, err := c.ModifyIndex(ctx, "db", "c", mod); !mongoerr.Is(err, mongoerr.InvalidOptions) {
				t.Fatalf("unique before prepareUnique: %v", err)
			}
			res, err := c.ModifyIndex(ctx, "db", "c", catalog.IndexMod{Name: name, PrepareUnique: ptr(true)})
			if err != nil || *res.PrepareUniqueOld || !*res.PrepareUniqueNew {
				t.Fatalf("prepareUnique: %+v, %v", res, err)
			}
			dry := mod
			dry.DryRun = true
			for _, m := range []catalog.IndexMod{dry, mod} {
				res, err = c.ModifyIndex(ctx, "db", "c", m)
				if tc.groups != nil {
					if got := violations(t, err); !reflect.DeepEqual(got, tc.groups) {
						t.Fatalf("violations (dryRun %v) = %v, want %v", m.DryRun, got, tc.groups)
					}
				} else if err != nil {
					t.Fatalf("conversion (dryRun %v): %v", m.DryRun, err)
				}
			}
			ix := c.Collection("db", "c").Index(name)
			if tc.groups != nil {
				if ix.Unique || !ix.PrepareUnique {
					t.Fatalf("a failed conversion changed the index: %+v", ix)
				}
				return
			}
			if !res.UniqueNew || !ix.Unique || ix.PrepareUnique {
				t.Fatalf("after conversion: %+v, index %+v", res, ix)
			}
			// The entries are in the unique layout: a duplicate is caught
			// by the unique check, and scans see every document once.
			coll = c.Collection("db", "c")
			dup := append(bson.D{{Key: "_id", Value: int32(99)}}, tc.docs[len(tc.docs)-1][1:]...)
			if errs := insert(t, c, coll, dup); !mongoerr.Is(errs[0], mongoerr.DuplicateKey) {
				t.Fatalf("duplicate after conversion: %v", errs[0])
			}
			snap, err := c.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Close()
			it, err := snap.ScanIndex(coll, ix, nil, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			n := 0
			for it.Next() {
				raw, err := snap.FetchEncoded(coll, it.ID())
				if err != nil || raw == nil {
					t.Fatalf("entry %d points nowhere: %v", n, err)
				}
				n++
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, d := range tc.docs {
				for _, e := range d[1:] {
					if e.Key == "x" || e.Key == "a" {
						want++
					}
				}
			}
			if n != want {
				t.Fatalf("%d index entries after conversion, want %d", n, want)
			}
		})
	}
}

func TestPrepareUniqueWrites(t *testing.T) {
	ctx := context.Background()
	c, eng := openCatalog(t, vfs.NewMem())
	defer eng.Close()
	coll, err := c.Create(ctx, "db", "c", catalog.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	insert(t, c, coll, bson.D{{Key: "_id", Value: 1}, {Key: "x", Value: 1}}, bson.D{{Key: "_id", Value: 2}, {Key: "x", Value: 1}})
	if _, _, _, err := c.CreateIndexes(ctx, "db", "c", []bson.D{{{Key: "key", Value: bson.D{{Key: "x", Value: 1}}}, {Key: "name", Value: "x_1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyIndex(ctx, "db", "c", catalog.IndexMod{KeyPattern: bson.D{{Key: "x", Value: 1.0}}, PrepareUnique: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	coll = c.Collection("db", "c")
	errs := insert(t, c, coll,
		bson.D{{Key: "_id", Value: 3}, {Key: "x", Value: 1}},            // duplicate
		bson.D{{Key: "_id", Value: 4}, {Key: "x", Value: int64(1)}},     // the same key
		bson.D{{Key: "_id", Value: 5}, {Key: "x", Value: 2}},            // new key
		bson.D{{Key: "_id", Value: 6}, {Key: "x", Value: bson.A{2}}},    // duplicate of 5, inside an array
		bson.D{{Key: "_id", Value: 7}, {Key: "x", Value: bson.A{3, 3}}}, // one document, one key
	)
	for i, want := range []bool{true, true, false, true, false} {
		if got := mongoerr.Is(errs[i], mongoerr.DuplicateKey); got != want {
			t.Errorf("insert %d: %v (want duplicate: %v)", i, errs[i], want)
		}
	}
	// Replacing a document that keeps its (duplicated) key is fine; moving
	// one onto another's key is not.
	err = c.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
		old, err := w.FindID(coll, 1)
		if err != nil {
			return err
		}
		if err := w.Replace(coll, old, nil, bson.D{{Key: "_id", Value: 1}, {Key: "x", Value: 1}, {Key: "y", Value: 1}}); err != nil {
			t.Errorf("replace keeping the key: %v", err)
		}
		old, err = w.FindID(coll, 5)
		if err != nil {
			return err
		}
		if err := w.Replace(coll, old, nil, bson.D{{Key: "_id", Value: 5}, {Key: "x", Value: 1}}); !mongoerr.Is(err, mongoerr.DuplicateKey) {
			t.Errorf("replace onto a duplicate key: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// prepareUnique false lifts the restriction.
	res, err := c.ModifyIndex(ctx, "db", "c", catalog.IndexMod{Name: "x_1", PrepareUnique: ptr(false)})
	if err != nil || !*res.PrepareUniqueOld || *res.PrepareUniqueNew {
		t.Fatalf("prepareUnique false: %+v, %v", res, err)
	}
	if errs := insert(t, c, c.Collection("db", "c"), bson.D{{Key: "_id", Value: 8}, {Key: "x", Value: 1}}); errs[0] != nil {
		t.Fatalf("insert after prepareUnique false: %v", errs[0])
	}
}
