package commands_test

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestInsertSequenceDocuments inserts through the Go driver, which sends
// an insert's documents as an OP_MSG document sequence, into a collection
// that stores them as sent (only the _id index) and into ones that decode
// them (a secondary index, a validator), and reads them back.
func TestInsertSequenceDocuments(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("rawins")
	if _, err := db.Collection("indexed").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCollection(ctx, "validated", options.CreateCollection().SetValidator(bson.D{{Key: "a", Value: bson.D{{Key: "$type", Value: "int"}}}})); err != nil {
		t.Fatal(err)
	}
	docs := []any{
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: int32(1)}, {Key: "s", Value: bson.A{"x", bson.D{{Key: "y", Value: true}}}}},
		bson.D{{Key: "a", Value: int32(2)}, {Key: "_id", Value: int32(2)}}, // _id not first
		bson.D{{Key: "a", Value: int32(3)}},                                                  // no _id: the driver adds one
		bson.D{{Key: "_id", Value: "s"}, {Key: "a", Value: int32(4)}, {Key: "$x", Value: 1}}, // $-prefixed names are stored
		bson.D{{Key: "_id", Value: bson.D{{Key: "k", Value: 1}}}, {Key: "a", Value: int32(5)}},
	}
	for _, name := range []string{"plain", "indexed", "validated"} {
		coll := db.Collection(name)
		res, err := coll.InsertMany(ctx, docs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, id := range res.InsertedIDs {
			var got bson.D
			if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&got); err != nil {
				t.Fatalf("%s: find document %d: %v", name, i, err)
			}
			if got[0].Key != "_id" || len(got) != len(docs[i].(bson.D))+btoi(i == 2) {
				t.Fatalf("%s: document %d stored as %v", name, i, got)
			}
		}
		if n, err := coll.CountDocuments(ctx, bson.D{{Key: "a", Value: bson.D{{Key: "$gte", Value: 1}}}}); err != nil || n != 5 {
			t.Fatalf("%s: count %d, %v", name, n, err)
		}
		// Duplicates, and _id values that may not be stored, are write errors.
		bad := []any{
			bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: int32(1)}},
			bson.D{{Key: "_id", Value: bson.A{1}}, {Key: "a", Value: int32(1)}},
			bson.D{{Key: "_id", Value: bson.D{{Key: "$k", Value: 1}}}, {Key: "a", Value: int32(1)}},
			bson.D{{Key: "_id", Value: int32(9)}, {Key: "a", Value: int32(9)}},
		}
		_, err = coll.InsertMany(ctx, bad, options.InsertMany().SetOrdered(false))
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || len(bwe.WriteErrors) != 3 {
			t.Fatalf("%s: bad inserts: %v, want 3 write errors", name, err)
		}
		for i, code := range []int{11000, 53, 52} {
			if we := bwe.WriteErrors[i]; we.Index != i || we.Code != code {
				t.Fatalf("%s: write error %d: index %d code %d, want index %d code %d", name, i, we.Index, we.Code, i, code)
			}
		}
		var v struct {
			Valid    bool  `bson:"valid"`
			NRecords int64 `bson:"nrecords"`
		}
		if err := db.RunCommand(ctx, bson.D{{Key: "validate", Value: name}, {Key: "full", Value: true}}).Decode(&v); err != nil {
			t.Fatal(err)
		}
		if n, err := coll.EstimatedDocumentCount(ctx); err != nil || n != 6 || !v.Valid || v.NRecords != 6 {
			t.Fatalf("%s: estimated count %d (%v), validate valid %v nrecords %d; want 6, true, 6", name, n, err, v.Valid, v.NRecords)
		}
	}
	// The validator still applies.
	if _, err := db.Collection("validated").InsertOne(ctx, bson.D{{Key: "_id", Value: 100}, {Key: "a", Value: "no"}}); err == nil {
		t.Fatal("insert breaking the validator succeeded")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
