package catalog

import (
	"context"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestFetcher reads records by encoded _id through a Fetcher, on a
// snapshot (a Get, then the reused cursor) and inside a write (where it
// must see the write's own insert), in and out of key order.
func TestFetcher(t *testing.T) {
	c, coll := scanSetup(t)
	ids := []any{int32(3), int32(4), int32(42), int32(0), int32(9), "x", int32(9)}
	want := []any{int32(3), int32(4), nil, int32(0), int32(9), nil, int32(9)}
	check := func(t *testing.T, f *Fetcher) {
		t.Helper()
		for i, id := range ids {
			raw, err := f.Fetch(enc(id))
			if err != nil {
				t.Fatal(err)
			}
			if want[i] == nil {
				if raw != nil {
					t.Fatalf("Fetch(%v) = %v, want none", id, raw)
				}
				continue
			}
			if raw == nil {
				t.Fatalf("Fetch(%v) found nothing", id)
			}
			if got := raw.Lookup("_id").Int32(); got != want[i] {
				t.Fatalf("Fetch(%v) returned _id %v", id, got)
			}
		}
	}
	t.Run("snapshot", func(t *testing.T) {
		snap, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		f, err := snap.NewFetcher(coll)
		if err != nil {
			t.Fatal(err)
		}
		check(t, f)
		if f.reads.g == nil {
			t.Fatal("the snapshot Fetcher never switched to a reused cursor")
		}
		first, _ := f.Fetch(enc(int32(1)))
		f.Fetch(enc(int32(2)))
		if first.Lookup("_id").Int32() != 1 {
			t.Fatalf("a fetched document changed after the next fetch: %v", first)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("write", func(t *testing.T) {
		err := c.Write(context.Background(), storage.UpdateOptions{}, func(w *Writer) error {
			if err := w.Insert(coll, bson.D{{Key: "_id", Value: "x"}, {Key: "a", Value: int32(1)}}); err != nil {
				return err
			}
			f, err := w.NewFetcher(coll)
			if err != nil {
				return err
			}
			defer f.Close()
			raw, err := f.Fetch(enc("x"))
			if err != nil || raw == nil {
				t.Fatalf("Fetch of the write's own insert = %v, %v", raw, err)
			}
			raw, err = f.Fetch(enc(int32(5)))
			if err != nil || raw == nil || raw.Lookup("_id").Int32() != 5 {
				t.Fatalf("Fetch(5) = %v, %v", raw, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
