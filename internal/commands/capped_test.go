package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/server/servertest"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// runDoc runs cmd and returns its reply.
func runDoc(t *testing.T, db *mongo.Database, cmd bson.D) bson.D {
	t.Helper()
	var out bson.D
	if err := db.RunCommand(context.Background(), cmd).Decode(&out); err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	return out
}

// findIDs returns the _ids find returns, in order.
func findIDs(t *testing.T, coll *mongo.Collection, filter bson.D, opts ...options.Lister[options.FindOptions]) []any {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.D
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	out := make([]any, len(docs))
	for i, d := range docs {
		out[i] = bsonutil.Get(d, "_id")
	}
	return out
}

func wantIDs(t *testing.T, what string, got []any, want ...any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: _ids %v, want %v", what, got, want)
	}
	for i := range got {
		if bsonutil.Compare(got[i], want[i]) != 0 {
			t.Fatalf("%s: _ids %v, want %v", what, got, want)
		}
	}
}

// writeErrCode returns the code of the single write error of err.
func writeErrCode(t *testing.T, err error) int {
	t.Helper()
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) == 0 {
		t.Fatalf("expected a write error, got %v", err)
	}
	return we.WriteErrors[0].Code
}

func collectionOptions(t *testing.T, db *mongo.Database, name string) (typ string, opts bson.D) {
	t.Helper()
	ctx := context.Background()
	cur, err := db.ListCollections(ctx, bson.D{{Key: "name", Value: name}})
	if err != nil {
		t.Fatal(err)
	}
	var infos []bson.D
	if err := cur.All(ctx, &infos); err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 {
		t.Fatalf("listCollections %s: %v", name, infos)
	}
	typ, _ = bsonutil.Get(infos[0], "type").(string)
	opts, _ = bsonutil.Get(infos[0], "options").(bson.D)
	return typ, opts
}

func TestCappedCollection(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("capped")
	runDoc(t, db, bson.D{{Key: "create", Value: "log"}, {Key: "capped", Value: true}, {Key: "size", Value: int32(4096)}, {Key: "max", Value: int32(3)}})
	coll := db.Collection("log")

	// Natural order is insertion order, not _id order; the fourth and
	// later documents evict the oldest.
	for _, id := range []int32{5, 1, 4} {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			t.Fatal(err)
		}
	}
	wantIDs(t, "natural order", findIDs(t, coll, bson.D{}), int32(5), int32(1), int32(4))
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(2)}}, bson.D{{Key: "_id", Value: int32(3)}})
	wantIDs(t, "after eviction by max", findIDs(t, coll, bson.D{}), int32(4), int32(2), int32(3))
	wantIDs(t, "$natural: -1", findIDs(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "$natural", Value: -1}})), int32(3), int32(2), int32(4))
	wantIDs(t, "$natural hint", findIDs(t, coll, bson.D{}, options.Find().SetHint(bson.D{{Key: "$natural", Value: 1}})), int32(4), int32(2), int32(3))
	wantIDs(t, "_id sort", findIDs(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})), int32(2), int32(3), int32(4))
	wantIDs(t, "_id range (through the _id index)", findIDs(t, coll, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: int32(3)}}}}), int32(3), int32(4))
	wantIDs(t, "_id equality", findIDs(t, coll, bson.D{{Key: "_id", Value: int32(2)}}), int32(2))
	if n, err := coll.CountDocuments(ctx, bson.D{}); err != nil || n != 3 {
		t.Fatalf("count = %d, %v", n, err)
	}

	// _id stays unique.
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(4)}}); writeErrCode(t, err) != 11000 {
		t.Fatalf("duplicate _id: %v", err)
	}

	// Updates (growing documents too) and deletes are allowed.
	if _, err := coll.UpdateMany(ctx, bson.D{}, bson.D{{Key: "$set", Value: bson.D{{Key: "note", Value: strings.Repeat("x", 100)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: int32(2)}}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "after update and delete", findIDs(t, coll, bson.D{{Key: "note", Value: bson.D{{Key: "$exists", Value: true}}}}), int32(4), int32(3))
	res := runDoc(t, db, bson.D{{Key: "validate", Value: "log"}})
	if v, _ := bsonutil.Get(res, "valid").(bool); !v {
		t.Fatalf("validate: %v", res)
	}

	// What the collection reports.
	_, opts := collectionOptions(t, db, "log")
	if bsonutil.Get(opts, "capped") != true || bsonutil.Compare(bsonutil.Get(opts, "size"), int32(4096)) != 0 || bsonutil.Compare(bsonutil.Get(opts, "max"), int32(3)) != 0 {
		t.Fatalf("listCollections options = %v", opts)
	}
	stats := runDoc(t, db, bson.D{{Key: "collStats", Value: "log"}})
	if bsonutil.Get(stats, "capped") != true || bsonutil.Compare(bsonutil.Get(stats, "max"), int32(3)) != 0 || bsonutil.Compare(bsonutil.Get(stats, "maxSize"), int32(4096)) != 0 {
		t.Fatalf("collStats = %v", stats)
	}
	agg := aggDocs(t, coll, bson.A{bson.D{{Key: "$collStats", Value: bson.D{{Key: "storageStats", Value: bson.D{}}}}}})
	ss, _ := bsonutil.Get(agg[0], "storageStats").(bson.D)
	if bsonutil.Get(ss, "capped") != true || bsonutil.Compare(bsonutil.Get(ss, "maxSize"), int32(4096)) != 0 {
		t.Fatalf("$collStats storageStats = %v", ss)
	}
	insertDocs(t, db.Collection("plain"), bson.D{})
	plain := runDoc(t, db, bson.D{{Key: "collStats", Value: "plain"}})
	if bsonutil.Get(plain, "capped") != false || !bsonutil.IsMissing(bsonutil.Get(plain, "maxSize")) {
		t.Fatalf("collStats of a normal collection = %v", plain)
	}
}

func TestCappedSizeAndErrors(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("capped")
	// size is rounded up to a multiple of 256.
	runDoc(t, db, bson.D{{Key: "create", Value: "small"}, {Key: "capped", Value: true}, {Key: "size", Value: int32(1000)}})
	if _, opts := collectionOptions(t, db, "small"); bsonutil.Compare(bsonutil.Get(opts, "size"), int32(1024)) != 0 {
		t.Fatalf("size 1000 reported as %v", opts)
	}
	coll := db.Collection("small")
	pad := strings.Repeat("p", 300)
	for i := int32(0); i < 10; i++ {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: i}, {Key: "pad", Value: pad}}); err != nil {
			t.Fatal(err)
		}
	}
	stats := runDoc(t, db, bson.D{{Key: "collStats", Value: "small"}})
	if size, _ := bsonutil.ToInt64(bsonutil.Get(stats, "size")); size > 1024 {
		t.Fatalf("data size %d exceeds the capped size 1024", size)
	}
	wantIDs(t, "eviction by size", findIDs(t, coll, bson.D{}), int32(7), int32(8), int32(9))
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "pad", Value: strings.Repeat("p", 2000)}}); writeErrCode(t, err) != 2 {
		t.Fatalf("document larger than the collection: %v", err)
	}

	for _, c := range []struct {
		cmd  bson.D
		code int32
	}{
		{bson.D{{Key: "create", Value: "x"}, {Key: "capped", Value: true}}, 72},
		{bson.D{{Key: "create", Value: "x"}, {Key: "capped", Value: true}, {Key: "size", Value: int32(0)}}, 51024},
		{bson.D{{Key: "create", Value: "x"}, {Key: "capped", Value: true}, {Key: "size", Value: "big"}}, 14},
		{bson.D{{Key: "create", Value: "x"}, {Key: "capped", Value: true}, {Key: "size", Value: int32(4096)}, {Key: "max", Value: int64(1 << 31)}}, 51024},
		{bson.D{{Key: "create", Value: "x"}, {Key: "capped", Value: true}, {Key: "size", Value: int32(4096)}, {Key: "timeseries", Value: bson.D{{Key: "timeField", Value: "t"}}}}, 72},
		{bson.D{{Key: "find", Value: "plain"}, {Key: "tailable", Value: true}}, 2},
		{bson.D{{Key: "find", Value: "small"}, {Key: "awaitData", Value: true}}, 9},
		{bson.D{{Key: "find", Value: "small"}, {Key: "tailable", Value: true}, {Key: "sort", Value: bson.D{{Key: "_id", Value: 1}}}}, 2},
		{bson.D{{Key: "aggregate", Value: "plain"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$out", Value: "small"}}}}, {Key: "cursor", Value: bson.D{}}}, 17152},
	} {
		if c.cmd[0].Key == "find" || c.cmd[0].Key == "aggregate" {
			if _, err := db.Collection("plain").InsertOne(ctx, bson.D{}); err != nil {
				t.Fatal(err)
			}
		}
		if code, _ := runErr(t, db, c.cmd); code != c.code {
			t.Errorf("%v: code %d, want %d", c.cmd, code, c.code)
		}
	}
	// capped: false is a normal collection; size and max are ignored.
	runDoc(t, db, bson.D{{Key: "create", Value: "notcapped"}, {Key: "capped", Value: false}, {Key: "size", Value: int32(100)}})
	if _, opts := collectionOptions(t, db, "notcapped"); len(opts) != 0 {
		t.Fatalf("non-capped options = %v", opts)
	}
	// Creating the same capped collection again is a no-op.
	runDoc(t, db, bson.D{{Key: "create", Value: "small"}, {Key: "capped", Value: true}, {Key: "size", Value: int32(1000)}})
}

func TestConvertToCapped(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("capped")
	coll := db.Collection("src")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(2)}}, bson.D{{Key: "_id", Value: int32(3)}})
	runDoc(t, db, bson.D{{Key: "cloneCollectionAsCapped", Value: "src"}, {Key: "toCollection", Value: "copy"}, {Key: "size", Value: int32(4096)}})
	wantIDs(t, "clone", findIDs(t, db.Collection("copy"), bson.D{}), int32(1), int32(2), int32(3))
	if _, opts := collectionOptions(t, db, "copy"); bsonutil.Get(opts, "capped") != true {
		t.Fatalf("clone options = %v", opts)
	}
	runDoc(t, db, bson.D{{Key: "convertToCapped", Value: "src"}, {Key: "size", Value: int32(4096)}})
	if _, opts := collectionOptions(t, db, "src"); bsonutil.Get(opts, "capped") != true {
		t.Fatalf("converted options = %v", opts)
	}
	wantIDs(t, "converted", findIDs(t, coll, bson.D{}), int32(1), int32(2), int32(3))
	if code, _ := runErr(t, db, bson.D{{Key: "convertToCapped", Value: "missing"}, {Key: "size", Value: int32(4096)}}); code != 26 {
		t.Fatalf("convertToCapped of a missing collection: %d", code)
	}
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil || len(names) != 2 {
		t.Fatalf("collections after convert: %v %v", names, err)
	}
}

// TestCappedRestart checks that a capped collection, its order and its
// record id sequence survive a restart.
func TestCappedRestart(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	t.Run("before", func(t *testing.T) {
		client, _ := servertest.Client(t, servertest.WithFS(fs))
		db := client.Database("capped")
		runDoc(t, db, bson.D{{Key: "create", Value: "log"}, {Key: "capped", Value: true}, {Key: "size", Value: int32(4096)}, {Key: "max", Value: int32(3)}})
		insertDocs(t, db.Collection("log"), bson.D{{Key: "_id", Value: "c"}}, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "_id", Value: "d"}}, bson.D{{Key: "_id", Value: "b"}})
		runDoc(t, db, bson.D{{Key: "create", Value: "ts"}, {Key: "timeseries", Value: bson.D{{Key: "timeField", Value: "t"}}}})
	})
	t.Run("after", func(t *testing.T) {
		client, _ := servertest.Client(t, servertest.WithFS(fs))
		db := client.Database("capped")
		coll := db.Collection("log")
		wantIDs(t, "reopened", findIDs(t, coll, bson.D{}), "a", "d", "b")
		// New documents go after the old ones and evict the oldest.
		insertDocs(t, coll, bson.D{{Key: "_id", Value: "0"}})
		wantIDs(t, "insert after restart", findIDs(t, coll, bson.D{}), "d", "b", "0")
		if _, opts := collectionOptions(t, db, "log"); bsonutil.Compare(bsonutil.Get(opts, "max"), int32(3)) != 0 {
			t.Fatalf("options after restart = %v", opts)
		}
		if typ, _ := collectionOptions(t, db, "ts"); typ != "timeseries" {
			t.Fatalf("time series type after restart = %q", typ)
		}
		if _, err := db.Collection("ts").InsertOne(ctx, bson.D{{Key: "t", Value: "not a date"}}); writeErrCode(t, err) != 2 {
			t.Fatalf("time series insert after restart: %v", err)
		}
	})
}
