package commands_test

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func TestDocumentValidation(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("val")
	err := db.CreateCollection(ctx, "c", options.CreateCollection().SetValidator(bson.D{{Key: "x", Value: bson.D{{Key: "$type", Value: "string"}}}}))
	if err != nil {
		t.Fatal(err)
	}
	coll := db.Collection("c")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "x", Value: "ok"}}); err != nil {
		t.Fatal(err)
	}
	_, err = coll.InsertOne(ctx, bson.D{{Key: "x", Value: 1}})
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 || we.WriteErrors[0].Code != 121 {
		t.Fatalf("invalid insert: %v", err)
	}
	// Bypass works.
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "x", Value: 1}}, options.InsertOne().SetBypassDocumentValidation(true)); err != nil {
		t.Fatalf("bypass: %v", err)
	}
	// findAndModify reports errInfo.failingDocumentId.
	err = coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 2}}}}).Err()
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 121 {
		t.Fatalf("findAndModify into invalid doc: %v", err)
	}
	if id, _ := ce.Raw.Lookup("errInfo", "failingDocumentId").Int32OK(); id != 1 {
		t.Fatalf("errInfo = %v", ce.Raw)
	}
	// A validator Cairn cannot evaluate is refused when it is set.
	err = db.CreateCollection(ctx, "js", options.CreateCollection().SetValidator(bson.D{{Key: "$jsonSchema", Value: bson.D{}}}))
	if err == nil {
		t.Fatal("$jsonSchema validator accepted")
	}
}

func TestDollarFieldNames(t *testing.T) {
	ctx := context.Background()
	coll := connect(t).Database("dd").Collection("c")
	// MongoDB 5.0+ stores top-level $-prefixed and dotted field names.
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "$a", Value: 1}, {Key: "b.c", Value: 2}}); err != nil {
		t.Fatal(err)
	}
	// But not inside _id.
	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$a", Value: 1}}}})
	var we mongo.WriteException
	if !errors.As(err, &we) || we.WriteErrors[0].Code != 52 {
		t.Fatalf("$ in _id: %v", err)
	}
	// update with sort is a MongoDB 8.0 feature: a 7.0 server refuses it.
	err = coll.Database().RunCommand(ctx, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{
		bson.D{{Key: "q", Value: bson.D{}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "z", Value: 1}}}}}, {Key: "sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	}}}).Err()
	if err == nil {
		// The error is reported per statement.
		var res bson.M
		_ = coll.Database().RunCommand(ctx, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{
			bson.D{{Key: "q", Value: bson.D{}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "z", Value: 1}}}}}, {Key: "sort", Value: bson.D{{Key: "_id", Value: 1}}}},
		}}}).Decode(&res)
		if res["writeErrors"] == nil {
			t.Fatalf("update with sort accepted: %v", res)
		}
	}
}
