package catalog_test

import (
	"context"
	"io"
	"testing"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func openCatalog(t *testing.T, fs vfs.FS) (*catalog.Catalog, *pebble.Engine) {
	t.Helper()
	eng, err := pebble.Open("db", &pebble.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Open(eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, eng
}

func insert(t *testing.T, c *catalog.Catalog, coll *catalog.Collection, docs ...bson.D) []error {
	t.Helper()
	errs := make([]error, len(docs))
	err := c.Write(context.Background(), storage.UpdateOptions{}, func(w *catalog.Writer) error {
		for i, d := range docs {
			p, err := catalog.PrepareInsert(d)
			if err != nil {
				errs[i] = err
				continue
			}
			errs[i] = w.Insert(coll, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

func all(t *testing.T, c *catalog.Catalog, coll *catalog.Collection) []bson.D {
	t.Helper()
	snap, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	it, err := snap.Scan(coll, false)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []bson.D
	for {
		raw, err := it.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var d bson.D
		if err := bson.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
}

func TestPrepareInsert(t *testing.T) {
	d, err := catalog.PrepareInsert(bson.D{{Key: "a", Value: 1}, {Key: "_id", Value: 7}})
	if err != nil || d[0].Key != "_id" || d[1].Key != "a" {
		t.Fatalf("moved _id: %v %v", d, err)
	}
	d, err = catalog.PrepareInsert(bson.D{{Key: "a", Value: 1}})
	if _, ok := d[0].Value.(bson.ObjectID); err != nil || !ok {
		t.Fatalf("generated _id: %v %v", d, err)
	}
	if _, err := catalog.PrepareInsert(bson.D{{Key: "_id", Value: bson.A{1}}}); !mongoerr.Is(err, mongoerr.InvalidIDField) {
		t.Fatalf("array _id: %v", err)
	}
}

func TestRecordsAndUniqueIndex(t *testing.T) {
	ctx := context.Background()
	c, _ := openCatalog(t, vfs.NewMem())
	coll, err := c.Ensure(ctx, "db", "c")
	if err != nil {
		t.Fatal(err)
	}
	errs := insert(t, c, coll, bson.D{{Key: "_id", Value: int32(2)}}, bson.D{{Key: "_id", Value: 1.0}}, bson.D{{Key: "_id", Value: int64(2)}})
	if errs[0] != nil || errs[1] != nil || !mongoerr.Is(errs[2], mongoerr.DuplicateKey) {
		t.Fatalf("insert errors = %v", errs)
	}
	docs := all(t, c, coll)
	if len(docs) != 2 || docs[0][0].Value != 1.0 {
		t.Fatalf("records in _id order = %v", docs)
	}
	if _, _, _, err := c.CreateIndexes(ctx, "db", "c", []bson.D{{{Key: "key", Value: bson.D{{Key: "x", Value: int32(1)}}}, {Key: "name", Value: "x_1"}, {Key: "unique", Value: true}, {Key: "sparse", Value: true}}}); err != nil {
		t.Fatal(err)
	}
	coll = c.Collection("db", "c")
	errs = insert(t, c, coll, bson.D{{Key: "x", Value: bson.A{int32(1), int32(1)}}}, bson.D{{Key: "x", Value: int64(1)}})
	if errs[0] != nil || !mongoerr.Is(errs[1], mongoerr.DuplicateKey) {
		t.Fatalf("unique multikey errors = %v", errs)
	}
	// Documents without x index as null: the first two (already there) collide.
	_, _, _, err = c.CreateIndexes(ctx, "db", "c", []bson.D{{{Key: "key", Value: bson.D{{Key: "y", Value: int32(1)}}}, {Key: "name", Value: "y_1"}, {Key: "unique", Value: true}}})
	if !mongoerr.Is(err, mongoerr.DuplicateKey) {
		t.Fatalf("unique build over duplicate nulls: %v", err)
	}
	if c.Collection("db", "c").Index("y_1") != nil {
		t.Fatal("failed index build left the index behind")
	}
	// Sparse unique ignores missing values.
	if _, _, _, err := c.CreateIndexes(ctx, "db", "c", []bson.D{{{Key: "key", Value: bson.D{{Key: "y", Value: int32(1)}}}, {Key: "name", Value: "y_1"}, {Key: "unique", Value: true}, {Key: "sparse", Value: true}}}); err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsCatalogAndData(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	c, eng := openCatalog(t, fs)
	coll, err := c.Ensure(ctx, "db", "c")
	if err != nil {
		t.Fatal(err)
	}
	insert(t, c, coll, bson.D{{Key: "_id", Value: "a"}, {Key: "v", Value: int32(1)}})
	if _, _, _, err := c.CreateIndexes(ctx, "db", "c", []bson.D{{{Key: "key", Value: bson.D{{Key: "v", Value: int32(-1)}}}, {Key: "name", Value: "v_-1"}}}); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	c2, _ := openCatalog(t, fs)
	coll2 := c2.Collection("db", "c")
	if coll2 == nil || len(coll2.Indexes) != 2 || coll2.ID != coll.ID {
		t.Fatalf("reopened collection = %+v", coll2)
	}
	if docs := all(t, c2, coll2); len(docs) != 1 {
		t.Fatalf("reopened docs = %v", docs)
	}
	snap, _ := c2.Snapshot()
	defer snap.Close()
	if n, _, _ := snap.Stats(coll2); n != 1 {
		t.Fatalf("count after reopen = %d", n)
	}
}

func TestRenameAndDrop(t *testing.T) {
	ctx := context.Background()
	c, _ := openCatalog(t, vfs.NewMem())
	a, _ := c.Ensure(ctx, "db", "a")
	insert(t, c, a, bson.D{{Key: "_id", Value: 1}})
	if err := c.Rename(ctx, "db", "a", "db2", "b", false); err != nil {
		t.Fatal(err)
	}
	if c.Collection("db", "a") != nil || c.Collection("db2", "b") == nil {
		t.Fatal("rename did not move the collection")
	}
	if got := all(t, c, c.Collection("db2", "b")); len(got) != 1 {
		t.Fatalf("renamed docs = %v", got)
	}
	if err := c.DropDatabase(ctx, "db2"); err != nil {
		t.Fatal(err)
	}
	if len(c.Databases()) != 0 {
		t.Fatalf("databases after drop = %v", c.Databases())
	}
	if err := catalog.ValidateCollName("db", "bad$name"); !mongoerr.Is(err, mongoerr.InvalidNamespace) {
		t.Fatalf("bad name: %v", err)
	}
}
