package catalog_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func ids(docs []bson.D) []any {
	out := make([]any, len(docs))
	for i, d := range docs {
		out[i] = d[0].Value
	}
	return out
}

func sameIDs(t *testing.T, what string, got []bson.D, want ...any) {
	t.Helper()
	g := ids(got)
	if len(g) != len(want) {
		t.Fatalf("%s: _ids %v, want %v", what, g, want)
	}
	for i := range g {
		if g[i] != want[i] {
			t.Fatalf("%s: _ids %v, want %v", what, g, want)
		}
	}
}

func createCapped(t *testing.T, c *catalog.Catalog, name string, size, max int64) *catalog.Collection {
	t.Helper()
	coll, err := c.Create(context.Background(), "db", name, catalog.CreateOptions{Capped: &catalog.CappedLimits{Size: size, Max: max}})
	if err != nil {
		t.Fatal(err)
	}
	return coll
}

func validate(t *testing.T, c *catalog.Catalog, name string) {
	t.Helper()
	res, err := c.Validate(context.Background(), "db", name, catalog.ValidateOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Valid {
		t.Fatalf("validate %s: %v", name, res.Errors)
	}
}

// modify runs fn on every document of coll (read through the writer, as
// update and delete do) in one write.
func modify(t *testing.T, c *catalog.Catalog, coll *catalog.Collection, fn func(w *catalog.Writer, raw bson.Raw, doc bson.D) error) {
	t.Helper()
	err := c.Write(context.Background(), storage.UpdateOptions{}, func(w *catalog.Writer) error {
		it, err := w.Scan(coll, false)
		if err != nil {
			return err
		}
		var raws []bson.Raw
		for {
			raw, err := it.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				it.Close()
				return err
			}
			raws = append(raws, raw)
		}
		it.Close()
		for _, raw := range raws {
			var d bson.D
			if err := bson.Unmarshal(raw, &d); err != nil {
				return err
			}
			if err := fn(w, raw, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCappedNaturalOrderAndMax(t *testing.T) {
	c, _ := openCatalog(t, vfs.NewMem())
	coll := createCapped(t, c, "capped", 1<<20, 3)
	if !coll.RecordIDKeyed() {
		t.Fatal("capped collection is not record-id keyed")
	}
	if l, ok := coll.Capped(); !ok || l.Size != 1<<20 || l.Max != 3 {
		t.Fatalf("Capped() = %+v %v", l, ok)
	}
	// Insertion order, not _id order.
	errs := insert(t, c, coll, bson.D{{Key: "_id", Value: int32(5)}}, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(3)}})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sameIDs(t, "natural order", all(t, c, coll), int32(5), int32(1), int32(3))
	// The _id index is unique.
	if errs := insert(t, c, coll, bson.D{{Key: "_id", Value: int64(1)}}); !mongoerr.Is(errs[0], mongoerr.DuplicateKey) {
		t.Fatalf("duplicate _id in a capped collection: %v", errs[0])
	}
	sameIDs(t, "after refused duplicate", all(t, c, coll), int32(5), int32(1), int32(3))
	// A fourth document evicts the oldest; a batch evicts several.
	insert(t, c, coll, bson.D{{Key: "_id", Value: int32(7)}})
	sameIDs(t, "max 3 after one more", all(t, c, coll), int32(1), int32(3), int32(7))
	insert(t, c, coll, bson.D{{Key: "_id", Value: int32(8)}}, bson.D{{Key: "_id", Value: int32(9)}}, bson.D{{Key: "_id", Value: int32(10)}}, bson.D{{Key: "_id", Value: int32(11)}})
	sameIDs(t, "max 3 after a batch", all(t, c, coll), int32(9), int32(10), int32(11))
	snap, _ := c.Snapshot()
	defer snap.Close()
	if n, _, _ := snap.Stats(coll); n != 3 {
		t.Fatalf("count = %d, want 3", n)
	}
	// An evicted _id can be inserted again (its index entry went too).
	if errs := insert(t, c, coll, bson.D{{Key: "_id", Value: int32(5)}}); errs[0] != nil {
		t.Fatalf("re-insert of an evicted _id: %v", errs[0])
	}
	raw, err := snap.FindID(coll, int32(9))
	if err != nil || raw == nil {
		t.Fatalf("FindID(9) = %v, %v", raw, err)
	}
	validate(t, c, "capped")
}

func TestCappedSize(t *testing.T) {
	c, _ := openCatalog(t, vfs.NewMem())
	coll := createCapped(t, c, "bysize", 1000, 0)
	pad := string(make([]byte, 300))
	for i := int32(0); i < 10; i++ {
		if errs := insert(t, c, coll, bson.D{{Key: "_id", Value: i}, {Key: "pad", Value: pad}}); errs[0] != nil {
			t.Fatal(errs[0])
		}
		snap, _ := c.Snapshot()
		n, size, _ := snap.Stats(coll)
		snap.Close()
		if size > 1000 || n > 3 {
			t.Fatalf("after %d inserts: %d documents, %d bytes > capped size 1000", i+1, n, size)
		}
	}
	// Each document is ~320 bytes: three fit.
	sameIDs(t, "size-capped", all(t, c, coll), int32(7), int32(8), int32(9))
	big := string(make([]byte, 2000))
	if errs := insert(t, c, coll, bson.D{{Key: "pad", Value: big}}); !mongoerr.Is(errs[0], mongoerr.BadValue) {
		t.Fatalf("document larger than the capped size: %v", errs[0])
	}
	sameIDs(t, "after refused large document", all(t, c, coll), int32(7), int32(8), int32(9))
	validate(t, c, "bysize")
}

func TestCappedUpdateDeleteAndIndexes(t *testing.T) {
	ctx := context.Background()
	c, _ := openCatalog(t, vfs.NewMem())
	coll := createCapped(t, c, "c", 1<<20, 0)
	insert(t, c, coll, bson.D{{Key: "_id", Value: int32(1)}, {Key: "x", Value: "a"}}, bson.D{{Key: "_id", Value: int32(2)}, {Key: "x", Value: "b"}}, bson.D{{Key: "_id", Value: int32(3)}, {Key: "x", Value: "c"}})
	if _, _, _, err := c.CreateIndexes(ctx, "db", "c", []bson.D{{{Key: "key", Value: bson.D{{Key: "x", Value: int32(1)}}}, {Key: "name", Value: "x_1"}}}); err != nil {
		t.Fatal(err)
	}
	coll = c.Collection("db", "c")
	validate(t, c, "c")
	// Grow every document and delete the middle one.
	modify(t, c, coll, func(w *catalog.Writer, raw bson.Raw, d bson.D) error {
		if d[0].Value == int32(2) {
			return w.Delete(coll, raw)
		}
		return w.Replace(coll, raw, nil, append(d, bson.E{Key: "grown", Value: "yes, with a longer value"}))
	})
	got := all(t, c, coll)
	sameIDs(t, "after update and delete", got, int32(1), int32(3))
	if len(got[0]) != 3 || len(got[1]) != 3 {
		t.Fatalf("documents were not replaced: %v", got)
	}
	validate(t, c, "c")
	// A document not read through the writer is found through the _id index.
	err := c.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
		raw, err := bson.Marshal(got[1])
		if err != nil {
			return err
		}
		return w.Delete(coll, raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "after delete by bytes", all(t, c, coll), int32(1))
	validate(t, c, "c")
	snap, _ := c.Snapshot()
	defer snap.Close()
	it, err := snap.ScanIndex(coll, coll.Index("_id_"), nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.Next() {
		raw, err := snap.FetchEncoded(coll, it.ID())
		if err != nil || raw == nil {
			t.Fatalf("fetch through the _id index: %v %v", raw, err)
		}
		n++
	}
	it.Close()
	if n != 1 {
		t.Fatalf("_id index entries = %d, want 1", n)
	}
}

func TestTimeseriesRecords(t *testing.T) {
	ctx := context.Background()
	c, _ := openCatalog(t, vfs.NewMem())
	coll, err := c.Create(ctx, "db", "ts", catalog.CreateOptions{TimeField: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(coll.Indexes) != 0 || coll.TimeField() != "t" {
		t.Fatalf("time series collection: indexes %d, time field %q", len(coll.Indexes), coll.TimeField())
	}
	now := bson.NewDateTimeFromTime(time.Unix(1700000000, 0))
	errs := insert(t, c, coll,
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "t", Value: now}},
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "t", Value: now + 1}},
		bson.D{{Key: "_id", Value: int32(2)}, {Key: "t", Value: "not a date"}},
		bson.D{{Key: "_id", Value: int32(3)}})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("duplicate _id in a time series collection: %v", errs)
	}
	if !mongoerr.Is(errs[2], mongoerr.BadValue) || !mongoerr.Is(errs[3], mongoerr.BadValue) {
		t.Fatalf("time field not a date: %v", errs[2:])
	}
	sameIDs(t, "time series", all(t, c, coll), int32(1), int32(1))
	// Replacing one of two documents with the same _id changes that one.
	modify(t, c, coll, func(w *catalog.Writer, raw bson.Raw, d bson.D) error {
		if d[1].Value == now+1 {
			return w.Replace(coll, raw, nil, append(d, bson.E{Key: "second", Value: true}))
		}
		return nil
	})
	got := all(t, c, coll)
	if len(got) != 2 || len(got[0]) != 2 || len(got[1]) != 3 {
		t.Fatalf("after replace: %v", got)
	}
	// The time field must stay a date.
	err = c.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
		raw, _ := bson.Marshal(got[0])
		return w.Replace(coll, raw, nil, bson.D{{Key: "_id", Value: int32(1)}, {Key: "t", Value: int32(0)}})
	})
	if !mongoerr.Is(err, mongoerr.BadValue) {
		t.Fatalf("replace with a non-date time field: %v", err)
	}
	modify(t, c, coll, func(w *catalog.Writer, raw bson.Raw, d bson.D) error {
		if len(d) == 2 {
			return w.Delete(coll, raw)
		}
		return nil
	})
	if got := all(t, c, coll); len(got) != 1 || len(got[0]) != 3 {
		t.Fatalf("after deleting the first: %v", got)
	}
	validate(t, c, "ts")
}

func TestRecordIDsSurviveReopen(t *testing.T) {
	fs := vfs.NewMem()
	c, eng := openCatalog(t, fs)
	coll := createCapped(t, c, "c", 1<<20, 2)
	insert(t, c, coll, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "_id", Value: "b"}}, bson.D{{Key: "_id", Value: "c"}})
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	c2, _ := openCatalog(t, fs)
	coll2 := c2.Collection("db", "c")
	if l, ok := coll2.Capped(); !ok || l.Max != 2 {
		t.Fatalf("reopened capped limits = %+v %v", l, ok)
	}
	sameIDs(t, "reopened", all(t, c2, coll2), "b", "c")
	// The sequence continues: a new document goes last, evicting "b".
	insert(t, c2, coll2, bson.D{{Key: "_id", Value: "0"}})
	sameIDs(t, "after insert on reopened", all(t, c2, coll2), "c", "0")
	snap, _ := c2.Snapshot()
	defer snap.Close()
	next, low, err := snap.RecordIDs(coll2)
	if err != nil || next != 5 || low != 3 {
		t.Fatalf("record ids next=%d low=%d (%v), want 5 and 3", next, low, err)
	}
	validate(t, c2, "c")
}

func TestScanAfterAndInsertSignal(t *testing.T) {
	c, _ := openCatalog(t, vfs.NewMem())
	coll := createCapped(t, c, "c", 1<<20, 0)
	insert(t, c, coll, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(2)}})
	var pos uint64
	read := func() []any {
		snap, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		it, err := snap.ScanAfter(coll, pos, &pos)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []any
		for {
			raw, err := it.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, raw.Lookup("_id").Int32())
		}
	}
	if got := read(); len(got) != 2 || pos != 2 {
		t.Fatalf("first pass %v, position %d", got, pos)
	}
	if got := read(); len(got) != 0 {
		t.Fatalf("second pass without inserts: %v", got)
	}
	sig := c.InsertSignal(coll)
	select {
	case <-sig:
		t.Fatal("signal closed before any insert")
	default:
	}
	insert(t, c, coll, bson.D{{Key: "_id", Value: int32(3)}})
	select {
	case <-sig:
	default:
		t.Fatal("insert did not close the signal")
	}
	if got := read(); len(got) != 1 || got[0] != int32(3) || pos != 3 {
		t.Fatalf("pass after insert %v, position %d", got, pos)
	}
}
