package catalog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// sharedEngine hides the engine's Exclusive capability, as an engine that
// several processes share would.
type sharedEngine struct{ storage.Engine }

// TestInsertIDBound checks duplicate _id detection around the in-memory
// bound of each collection's record keys (idhigh.go): inserts above it
// skip the read, so every way the bound could be stale must still find
// duplicates. The same steps run with the bound off (a shared engine).
func TestInsertIDBound(t *testing.T) {
	for _, shared := range []bool{false, true} {
		name := map[bool]string{false: "exclusive", true: "shared"}[shared]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			fs := vfs.NewMem()
			open := func() (*catalog.Catalog, *pebble.Engine) {
				eng, err := pebble.Open("db", &pebble.Options{FS: fs})
				if err != nil {
					t.Fatal(err)
				}
				var e storage.Engine = eng
				if shared {
					e = sharedEngine{eng}
				}
				c, err := catalog.Open(e, nil)
				if err != nil {
					t.Fatal(err)
				}
				return c, eng
			}
			c, eng := open()
			coll, err := c.Ensure(ctx, "db", "c")
			if err != nil {
				t.Fatal(err)
			}
			one := func(id int32) error {
				t.Helper()
				return insert(t, c, coll, bson.D{{Key: "_id", Value: id}})[0]
			}
			wantDup := func(step string, err error) {
				t.Helper()
				if !mongoerr.Is(err, mongoerr.DuplicateKey) {
					t.Fatalf("%s: got %v, want a duplicate key error", step, err)
				}
			}
			wantOK := func(step string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			for id := int32(1); id <= 5; id++ {
				wantOK("ascending insert", one(id))
			}
			wantDup("the largest _id again", one(5))
			wantDup("a smaller _id again", one(3))
			// Within one transaction, the bound moves with each insert.
			errs := insert(t, c, coll, bson.D{{Key: "_id", Value: int32(7)}}, bson.D{{Key: "_id", Value: int32(7)}})
			wantOK("first of a batch", errs[0])
			wantDup("repeat in the same batch", errs[1])

			// An aborted transaction may leave the bound high; the ids it
			// did not store are still free.
			abort := errors.New("abort")
			err = c.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
				if err := w.Insert(coll, bson.D{{Key: "_id", Value: int32(20)}}); err != nil {
					return err
				}
				return abort
			})
			if !errors.Is(err, abort) {
				t.Fatalf("aborted write: %v", err)
			}
			wantOK("an id an aborted write used", one(20))
			wantOK("an id under the raised bound", one(10))
			wantDup("a stored id under the raised bound", one(10))

			// Concurrent clients deliver ascending ids a little out of
			// order: an id under the largest but above the floor is new
			// unless it was inserted since.
			wantOK("a new largest _id", one(40))
			wantOK("an _id just under it", one(35))
			wantDup("that _id again", one(35))
			// A deleted _id is free again though it is remembered.
			err = c.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
				raw, err := w.FindID(coll, int32(35))
				if err != nil {
					return err
				}
				return w.Delete(coll, raw)
			})
			wantOK("delete", err)
			wantOK("a deleted _id", one(35))
			wantDup("it again", one(35))
			// More inserts than are remembered: the floor rises past the
			// first ones, which are then read from storage.
			for id := int32(1000); id < 1600; id++ {
				wantOK("a long ascending run", one(id))
			}
			wantDup("the run's first _id", one(1000))
			wantDup("an _id from the run's middle", one(1300))
			wantDup("the run's last _id", one(1599))
			wantOK("a free _id under the risen floor", one(999))
			wantOK("a free _id above the floor", one(1700))

			// A new process starts without bounds and reads them.
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
			c, eng = open()
			coll = c.Collection("db", "c")
			wantDup("the largest _id after reopening", one(20))
			wantDup("a smaller _id after reopening", one(1))
			wantOK("a new largest _id after reopening", one(21))
			wantDup("the new largest again", one(21))

			// A dropped and recreated collection has a new id and bound.
			if _, err := c.Drop(ctx, "db", "c"); err != nil {
				t.Fatal(err)
			}
			if coll, err = c.Ensure(ctx, "db", "c"); err != nil {
				t.Fatal(err)
			}
			wantOK("an id the dropped collection held", one(1))
			wantDup("it again", one(1))
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
