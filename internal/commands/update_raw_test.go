package commands_test

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestUpdateSetTopLevel covers updates that set top-level fields to
// scalars, which the server applies to the stored bytes when no index
// reads the fields (update.ApplyRaw), next to the same updates on
// indexed fields and under a validator, which take the decoding path.
func TestUpdateSetTopLevel(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("rawset")
	coll := db.Collection("c")
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "i", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	for k := int32(1); k <= 5; k++ {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: k}, {Key: "i", Value: k}, {Key: "f", Value: "a"}, {Key: "g", Value: int32(1)}}); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int64 {
		t.Helper()
		var st struct {
			Size int64 `bson:"size"`
		}
		if err := db.RunCommand(ctx, bson.D{{Key: "collStats", Value: "c"}}).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st.Size
	}
	get := func(id int32) bson.D {
		t.Helper()
		var d bson.D
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	update := func(filter, upd bson.D, many bool, matched, modified int64) {
		t.Helper()
		var res *mongo.UpdateResult
		var err error
		if many {
			res, err = coll.UpdateMany(ctx, filter, upd)
		} else {
			res, err = coll.UpdateOne(ctx, filter, upd)
		}
		if err != nil {
			t.Fatalf("update %v %v: %v", filter, upd, err)
		}
		if res.MatchedCount != matched || res.ModifiedCount != modified {
			t.Fatalf("update %v %v: matched %d modified %d, want %d and %d", filter, upd, res.MatchedCount, res.ModifiedCount, matched, modified)
		}
	}
	want := func(id int32, doc string) {
		t.Helper()
		var w bson.D
		if err := bson.UnmarshalExtJSON([]byte(doc), false, &w); err != nil {
			t.Fatal(err)
		}
		got := get(id)
		gb, _ := bson.MarshalExtJSON(got, false, false)
		wb, _ := bson.MarshalExtJSON(w, false, false)
		if string(gb) != string(wb) {
			t.Fatalf("_id %d: %s, want %s", id, gb, wb)
		}
	}

	s0 := size()
	// Replaced where it stands; growing by two bytes.
	update(bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "f", Value: "abc"}}}}, false, 1, 1)
	want(1, `{"_id": 1, "i": 1, "f": "abc", "g": 1}`)
	if s := size(); s != s0+2 {
		t.Fatalf("collStats size %d after a 2-byte growth, want %d", s, s0+2)
	}
	// The same value again: matched, not modified; a different type is a change.
	update(bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "f", Value: "abc"}, {Key: "g", Value: int32(1)}}}}, false, 1, 0)
	update(bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "g", Value: int64(1)}}}}, false, 1, 1)
	want(1, `{"_id": 1, "i": 1, "f": "abc", "g": {"$numberLong": "1"}}`)
	// New fields go last, in name order.
	update(bson.D{{Key: "_id", Value: int32(2)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "h", Value: 5.5}, {Key: "a", Value: true}, {Key: "f", Value: nil}}}}, false, 1, 1)
	want(2, `{"_id": 2, "i": 2, "f": null, "g": 1, "a": true, "h": 5.5}`)
	// No such document.
	update(bson.D{{Key: "_id", Value: int32(99)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "f", Value: "x"}}}}, false, 0, 0)
	// Through the {i: 1} index, several documents.
	update(bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: int32(3)}}}}, bson.D{{Key: "$set", Value: bson.D{{Key: "f", Value: "z"}}}}, true, 3, 3)
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "f", Value: "z"}}); err != nil || n != 3 {
		t.Fatalf("count f: z = %d, %v; want 3", n, err)
	}
	// An indexed field: the index must follow.
	update(bson.D{{Key: "_id", Value: int32(4)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "i", Value: int32(40)}}}}, false, 1, 1)
	cur, err := coll.Find(ctx, bson.D{{Key: "i", Value: int32(40)}}, options.Find().SetHint(bson.D{{Key: "i", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var hits []bson.D
	if err := cur.All(ctx, &hits); err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 {
		t.Fatalf("find i: 40 through the index: %d documents, want 1", len(hits))
	}
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "i", Value: int32(4)}}, options.Count().SetHint(bson.D{{Key: "i", Value: 1}})); err != nil || n != 0 {
		t.Fatalf("count i: 4 through the index = %d, %v; want 0 (stale entry)", n, err)
	}
	// _id cannot change.
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: int32(5)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "_id", Value: int32(6)}}}}); err == nil {
		t.Fatal("$set of _id succeeded")
	}
	if err := db.RunCommand(ctx, bson.D{{Key: "validate", Value: "c"}, {Key: "full", Value: true}}).Err(); err != nil {
		t.Fatal(err)
	}

	// A validator still sees the update.
	if err := db.CreateCollection(ctx, "v", options.CreateCollection().SetValidator(bson.D{{Key: "f", Value: bson.D{{Key: "$type", Value: "string"}}}})); err != nil {
		t.Fatal(err)
	}
	vc := db.Collection("v")
	if _, err := vc.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "f", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	_, err = vc.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "f", Value: int32(1)}}}})
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 || we.WriteErrors[0].Code != 121 {
		t.Fatalf("update breaking the validator: %v, want DocumentValidationFailure (121)", err)
	}
}
