package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// cursorBatch returns the id and batch of a find or getMore reply.
func cursorBatch(t *testing.T, reply bson.D) (int64, []bson.D) {
	t.Helper()
	c, _ := bsonutil.Get(reply, "cursor").(bson.D)
	id, _ := bsonutil.Get(c, "id").(int64)
	batch := bsonutil.Get(c, "firstBatch")
	if bsonutil.IsMissing(batch) {
		batch = bsonutil.Get(c, "nextBatch")
	}
	var docs []bson.D
	for _, d := range batch.(bson.A) {
		docs = append(docs, d.(bson.D))
	}
	return id, docs
}

func batchIDs(docs []bson.D) []any {
	out := make([]any, len(docs))
	for i, d := range docs {
		out[i] = bsonutil.Get(d, "_id")
	}
	return out
}

func createCappedColl(t *testing.T, db *mongo.Database, name string, maxDocs int32) *mongo.Collection {
	t.Helper()
	cmd := bson.D{{Key: "create", Value: name}, {Key: "capped", Value: true}, {Key: "size", Value: int32(1 << 20)}}
	if maxDocs > 0 {
		cmd = append(cmd, bson.E{Key: "max", Value: maxDocs})
	}
	runDoc(t, db, cmd)
	return db.Collection(name)
}

func getMore(name string, id int64, extra ...bson.E) bson.D {
	return append(bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: name}}, extra...)
}

// TestTailableGetMore drives a tailable cursor with raw commands: it stays
// open when exhausted and later returns the documents inserted since,
// filtered and projected.
func TestTailableGetMore(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("tail")
	coll := createCappedColl(t, db, "log", 0)
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(1)}, {Key: "x", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(2)}, {Key: "x", Value: int32(2)}})

	id, docs := cursorBatch(t, runDoc(t, db, bson.D{{Key: "find", Value: "log"}, {Key: "tailable", Value: true}, {Key: "batchSize", Value: int32(2)}}))
	wantIDs(t, "first batch", batchIDs(docs), int32(1), int32(2))
	if id == 0 {
		t.Fatal("tailable cursor closed after the first batch")
	}
	next, docs := cursorBatch(t, runDoc(t, db, getMore("log", id)))
	if next != id || len(docs) != 0 {
		t.Fatalf("getMore at the end: id %d (want %d), batch %v", next, id, docs)
	}
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(3)}, {Key: "x", Value: int32(3)}}, bson.D{{Key: "_id", Value: int32(0)}, {Key: "x", Value: int32(4)}})
	next, docs = cursorBatch(t, runDoc(t, db, getMore("log", id)))
	wantIDs(t, "getMore after inserts", batchIDs(docs), int32(3), int32(0))
	if next != id {
		t.Fatalf("cursor id changed to %d", next)
	}
	_, docs = cursorBatch(t, runDoc(t, db, getMore("log", id)))
	if len(docs) != 0 {
		t.Fatalf("getMore without new documents: %v", docs)
	}
	killed := runDoc(t, db, bson.D{{Key: "killCursors", Value: "log"}, {Key: "cursors", Value: bson.A{id}}})
	if k, _ := bsonutil.Get(killed, "cursorsKilled").(bson.A); len(k) != 1 {
		t.Fatalf("killCursors = %v", killed)
	}

	// Filter and projection apply to later batches too.
	id, docs = cursorBatch(t, runDoc(t, db, bson.D{{Key: "find", Value: "log"}, {Key: "tailable", Value: true},
		{Key: "filter", Value: bson.D{{Key: "x", Value: bson.D{{Key: "$gte", Value: int32(3)}}}}},
		{Key: "projection", Value: bson.D{{Key: "x", Value: 0}}}}))
	wantIDs(t, "filtered first batch", batchIDs(docs), int32(3), int32(0))
	if id == 0 || len(docs[0]) != 1 {
		t.Fatalf("filtered tailable cursor: id %d, docs %v", id, docs)
	}
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(5)}, {Key: "x", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(6)}, {Key: "x", Value: int32(6)}})
	_, docs = cursorBatch(t, runDoc(t, db, getMore("log", id)))
	wantIDs(t, "filtered getMore", batchIDs(docs), int32(6))
	if len(docs[0]) != 1 {
		t.Fatalf("projection not applied: %v", docs)
	}

	// A limit closes the cursor once reached.
	id, docs = cursorBatch(t, runDoc(t, db, bson.D{{Key: "find", Value: "log"}, {Key: "tailable", Value: true}, {Key: "limit", Value: int32(2)}}))
	if id != 0 || len(docs) != 2 {
		t.Fatalf("tailable with limit: id %d, %d documents", id, len(docs))
	}

	// On an empty capped collection the cursor is not kept (as in MongoDB).
	createCappedColl(t, db, "empty", 0)
	if id, _ := cursorBatch(t, runDoc(t, db, bson.D{{Key: "find", Value: "empty"}, {Key: "tailable", Value: true}})); id != 0 {
		t.Fatalf("tailable cursor on an empty collection has id %d", id)
	}
	_ = ctx
}

// TestTailableAwaitData checks that an awaitData getMore returns a
// document inserted while it waits (the insert runs in another goroutine;
// nothing depends on timing), and that one with nothing to return ends
// with an empty batch.
func TestTailableAwaitData(t *testing.T) {
	ctx := context.Background()
	client := connect(t)
	db := client.Database("tail")
	coll := createCappedColl(t, db, "await", 0)
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(1)}})

	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetCursorType(options.TailableAwait).SetMaxAwaitTime(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close(ctx)
	if !cur.Next(ctx) || bsonutil.Compare(cur.Current.Lookup("_id").Int32(), int32(1)) != 0 {
		t.Fatalf("first document: %v %v", cur.Current, cur.Err())
	}
	// Nothing new: an awaitData getMore ends with an empty batch and the
	// cursor stays open.
	if cur.TryNext(ctx) {
		t.Fatalf("TryNext returned %v with nothing inserted", cur.Current)
	}
	if cur.Err() != nil || cur.ID() == 0 {
		t.Fatalf("cursor after an empty awaitData batch: id %d, err %v", cur.ID(), cur.Err())
	}
	done := make(chan error, 1)
	go func() {
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(2)}})
		done <- err
	}()
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if !cur.Next(waitCtx) {
		t.Fatalf("tailable await cursor ended without the inserted document: %v", cur.Err())
	}
	if got := cur.Current.Lookup("_id").Int32(); got != 2 {
		t.Fatalf("awaited document _id %d, want 2", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Raw commands: the getMore waits for the insert (maxTimeMS is far
	// longer than any test run, so it only returns because of the insert).
	id, _ := cursorBatch(t, runDoc(t, db, bson.D{{Key: "find", Value: "await"}, {Key: "tailable", Value: true}, {Key: "awaitData", Value: true}}))
	if id == 0 {
		t.Fatal("awaitData cursor closed")
	}
	go func() {
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(3)}})
		done <- err
	}()
	var docs []bson.D
	for len(docs) == 0 {
		_, docs = cursorBatch(t, runDoc(t, db, getMore("await", id, bson.E{Key: "maxTimeMS", Value: int64(10 * 60 * 1000)})))
	}
	wantIDs(t, "awaited getMore", batchIDs(docs), int32(3))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTailableCappedPositionLost checks that a cursor whose next documents
// were evicted before it read them fails with CappedPositionLost.
func TestTailableCappedPositionLost(t *testing.T) {
	db := connect(t).Database("tail")
	coll := createCappedColl(t, db, "small", 2)
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(2)}})
	id, docs := cursorBatch(t, runDoc(t, db, bson.D{{Key: "find", Value: "small"}, {Key: "tailable", Value: true}, {Key: "batchSize", Value: int32(1)}}))
	wantIDs(t, "first batch", batchIDs(docs), int32(1))
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(3)}}, bson.D{{Key: "_id", Value: int32(4)}}, bson.D{{Key: "_id", Value: int32(5)}})
	// The open pass still sees document 2; the next one finds 3 evicted.
	_, docs = cursorBatch(t, runDoc(t, db, getMore("small", id)))
	wantIDs(t, "rest of the first pass", batchIDs(docs), int32(2))
	if code, _ := runErr(t, db, getMore("small", id)); code != 136 {
		t.Fatalf("getMore after eviction: code %d, want 136 (CappedPositionLost)", code)
	}
}
