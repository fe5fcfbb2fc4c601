package catalog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestIndexMultikeyRemembered: the multikey state a snapshot reports
// follows the writes although an exclusive catalog remembers it between
// queries: not multikey while no document has an array on the key path,
// multikey from the commit of the first that has one (also when that
// document arrives through an index build), and the state a failed write
// leaves is the stored one after a reopen. On a shared engine two
// catalogs see each other's markers.
func TestIndexMultikeyRemembered(t *testing.T) {
	ctx := context.Background()
	errAbort := errors.New("abort")
	multikey := func(t *testing.T, c *catalog.Catalog, name string) bool {
		t.Helper()
		coll := c.Collection("db", "c")
		ix := coll.Index(name)
		if ix == nil {
			t.Fatalf("no index %s", name)
		}
		s, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mk, err := s.IndexMultikey(coll, ix)
		if err != nil {
			t.Fatal(err)
		}
		return mk
	}
	want := func(t *testing.T, c *catalog.Catalog, name string, w bool) {
		t.Helper()
		for range 2 { // the second answer may come from memory
			if got := multikey(t, c, name); got != w {
				t.Fatalf("index %s: multikey %v, want %v", name, got, w)
			}
		}
	}
	// abortedInsert inserts doc in a write that then fails.
	abortedInsert := func(t *testing.T, c *catalog.Catalog, doc bson.D) {
		t.Helper()
		err := c.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
			d, err := catalog.PrepareInsert(doc)
			if err != nil {
				return err
			}
			if err := w.Insert(c.Collection("db", "c"), d); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("aborted write: %v", err)
		}
	}
	createIndex := func(t *testing.T, c *catalog.Catalog, field string) {
		t.Helper()
		spec := bson.D{{Key: "key", Value: bson.D{{Key: field, Value: int32(1)}}}, {Key: "name", Value: field + "_1"}}
		if _, _, _, err := c.CreateIndexes(ctx, "db", "c", []bson.D{spec}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("exclusive", func(t *testing.T) {
		fs := vfs.NewMem()
		c, eng := openCatalog(t, fs)
		_, err := c.Create(ctx, "db", "c", catalog.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		createIndex(t, c, "a")
		insert(t, c, c.Collection("db", "c"), bson.D{{Key: "a", Value: int32(1)}, {Key: "b", Value: bson.A{int32(1)}}})
		want(t, c, "a_1", false)

		// A write that fails after making the index multikey.
		abortedInsert(t, c, bson.D{{Key: "a", Value: bson.A{int32(1), int32(2)}}})

		insert(t, c, c.Collection("db", "c"), bson.D{{Key: "a", Value: bson.A{int32(3), int32(4)}}})
		want(t, c, "a_1", true)

		// An index built over a document with an array.
		createIndex(t, c, "b")
		want(t, c, "b_1", true)

		// The stored markers survive a reopen, the failed write's does not.
		createIndex(t, c, "x")
		abortedInsert(t, c, bson.D{{Key: "x", Value: bson.A{}}})
		if err := eng.Close(); err != nil {
			t.Fatal(err)
		}
		c, eng = openCatalog(t, fs)
		defer eng.Close()
		want(t, c, "a_1", true)
		want(t, c, "b_1", true)
		want(t, c, "x_1", false)
	})

	t.Run("shared", func(t *testing.T) {
		eng, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem()})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		c1, err := catalog.Open(sharedEngine{eng}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c1.Create(ctx, "db", "c", catalog.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		createIndex(t, c1, "a")
		insert(t, c1, c1.Collection("db", "c"), bson.D{{Key: "a", Value: int32(1)}})
		want(t, c1, "a_1", false)
		// Another process's catalog over the same data makes it multikey.
		c2, err := catalog.Open(sharedEngine{eng}, nil)
		if err != nil {
			t.Fatal(err)
		}
		insert(t, c2, c2.Collection("db", "c"), bson.D{{Key: "a", Value: bson.A{int32(1), int32(2)}}})
		want(t, c1, "a_1", true)
	})
}
