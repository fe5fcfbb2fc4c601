package catalog

import (
	"context"
	"testing"

	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func scanSetup(t *testing.T) (*Catalog, *Collection) {
	t.Helper()
	eng, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	c, err := Open(eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Create(ctx, "db", "c", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	specs := []bson.D{
		{{Key: "key", Value: bson.D{{Key: "a", Value: int32(1)}}}, {Key: "name", Value: "a_1"}},
		{{Key: "key", Value: bson.D{{Key: "a", Value: int32(-1)}, {Key: "b", Value: int32(1)}}}, {Key: "name", Value: "a_-1_b_1"}},
		{{Key: "key", Value: bson.D{{Key: "u", Value: int32(1)}}}, {Key: "name", Value: "u_1"}, {Key: "unique", Value: true}},
	}
	if _, _, _, err := c.CreateIndexes(ctx, "db", "c", specs); err != nil {
		t.Fatal(err)
	}
	coll := c.Collection("db", "c")
	err = c.Write(ctx, storage.UpdateOptions{}, func(w *Writer) error {
		for i := 0; i < 10; i++ {
			d := bson.D{{Key: "_id", Value: int32(i)}, {Key: "a", Value: int32(i % 5)}, {Key: "b", Value: int32(i)}, {Key: "u", Value: int32(100 - i)}}
			if i == 9 {
				d[1].Value = bson.A{int32(7), int32(8)}
			}
			if err := w.Insert(coll, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, coll
}

func enc(v any) []byte { return index.AppendValue(nil, v, false) }

func decodeID(t *testing.T, b []byte) any {
	t.Helper()
	v, _, _, err := index.DecodeValue(b, false)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScanIndex(t *testing.T) {
	c, coll := scanSetup(t)
	snap, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	inv := func(b []byte) []byte {
		out := append([]byte(nil), b...)
		for i := range out {
			out[i] = ^out[i]
		}
		return out
	}
	cases := []struct {
		name         string
		index        string
		lower, upper []byte
		reverse      bool
		want         []float64 // decoded _ids, in order
	}{
		{"a = 2", "a_1", enc(int32(2)), enc(int32(3)), false, []float64{2, 7}},
		{"a >= 3 reverse", "a_1", enc(int32(3)), nil, true, []float64{9, 9, 4, 8, 3}},
		{"multikey entries", "a_1", enc(int32(7)), nil, false, []float64{9, 9}},
		{"desc compound a = 4", "a_-1_b_1", inv(enc(int32(4))), storage.PrefixEnd(inv(enc(int32(4)))), false, []float64{4}},
		{"unique u < 93", "u_1", nil, enc(int32(93)), false, []float64{9, 8}},
		{"_id in [3, 5)", "_id_", enc(int32(3)), enc(int32(5)), false, []float64{3, 4}},
		{"empty range", "a_1", enc(int32(5)), enc(int32(6)), false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix := coll.Index(tc.index)
			it, err := snap.ScanIndex(coll, ix, tc.lower, tc.upper, tc.reverse)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			var got []float64
			for it.Next() {
				id := decodeID(t, it.ID()).(float64)
				got = append(got, id)
				raw, err := snap.FetchEncoded(coll, it.ID())
				if err != nil || raw == nil {
					t.Fatalf("fetch %v: %v, %v", id, raw, err)
				}
				if ix.IsID() && it.Record() == nil {
					t.Fatalf("_id scan without record")
				}
				if _, rest, err := index.SplitKey(it.Key(), ix.KeyDesc()); !ix.IsID() && (err != nil || len(rest) != 0) {
					t.Fatalf("key does not split: %v", err)
				}
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got ids %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got ids %v, want %v", got, tc.want)
				}
			}
			if it.Examined() != int64(len(tc.want)) {
				t.Fatalf("examined %d, want %d", it.Examined(), len(tc.want))
			}
		})
	}
}

func TestMultikeyMarker(t *testing.T) {
	c, coll := scanSetup(t)
	defer func(old bool) { multikeyTracked = old }(multikeyTracked)
	ix := coll.Index("a_1")
	u := coll.Index("u_1")
	check := func(name string, ix *Index, want bool) {
		t.Helper()
		snap, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		got, err := snap.IndexMultikey(coll, ix)
		if err != nil || got != want {
			t.Fatalf("%s: IndexMultikey(%s) = %v, %v; want %v", name, ix.Name, got, err, want)
		}
	}
	multikeyTracked = false
	check("untracked", u, true)
	check("untracked _id", coll.Indexes[0], false)
	multikeyTracked = true
	check("tracked, no marker", u, false)
	err := c.Write(context.Background(), storage.UpdateOptions{}, func(w *Writer) error {
		for _, d := range []bson.D{{{Key: "a", Value: int32(1)}}, {{Key: "a", Value: bson.A{}}}, {{Key: "u", Value: int32(3)}}} {
			for _, x := range []*Index{ix, u} {
				if err := w.noteMultikey(coll, x, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after empty array", ix, true)
	check("scalars only", u, false)
	if !ix.IsMultikeyDoc(bson.D{{Key: "a", Value: bson.A{int32(1)}}}) || ix.IsMultikeyDoc(bson.D{{Key: "a", Value: bson.D{}}}) {
		t.Fatal("IsMultikeyDoc misclassifies")
	}
}
