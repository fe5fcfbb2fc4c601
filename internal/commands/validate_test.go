package commands_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

func TestValidateCommand(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("vt")
	coll := db.Collection("c")
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	docs := []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: bson.A{1, 2, 3}}},
		bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: "x"}},
		bson.D{{Key: "_id", Value: 3}},
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: bson.A{"y", "z"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: 3}}); err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{false, true} {
		var res bson.D
		if err := db.RunCommand(ctx, bson.D{{Key: "validate", Value: "c"}, {Key: "full", Value: full}}).Decode(&res); err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for _, e := range res {
			m[e.Key] = e.Value
		}
		for _, k := range []string{"ns", "uuid", "nInvalidDocuments", "nNonCompliantDocuments", "nrecords", "nIndexes",
			"keysPerIndex", "indexDetails", "valid", "repaired", "warnings", "errors", "extraIndexEntries",
			"missingIndexEntries", "corruptRecords", "ok"} {
			if _, ok := m[k]; !ok {
				t.Errorf("reply lacks %q: %v", k, res)
			}
		}
		if m["valid"] != true || m["ns"] != "vt.c" || m["nrecords"] != int64(2) || m["nIndexes"] != int32(2) || m["repaired"] != false {
			t.Errorf("full=%v: reply %v", full, res)
		}
		keys, _ := m["keysPerIndex"].(bson.D)
		want := bson.D{{Key: "_id_", Value: int64(2)}, {Key: "a_1", Value: int64(5)}}
		if len(keys) != 2 || keys[0] != want[0] || keys[1] != want[1] {
			t.Errorf("keysPerIndex = %v, want %v", keys, want)
		}
		details, _ := m["indexDetails"].(bson.D)
		if len(details) != 2 || details[1].Key != "a_1" {
			t.Errorf("indexDetails = %v", details)
		}
	}

	errs := []struct {
		name string
		cmd  bson.D
		code int32
	}{
		{"missing collection", bson.D{{Key: "validate", Value: "nope"}}, 26},
		{"bad name type", bson.D{{Key: "validate", Value: 1}}, 73},
		{"bad full type", bson.D{{Key: "validate", Value: "c"}, {Key: "full", Value: "yes"}}, 14},
		{"unknown field", bson.D{{Key: "validate", Value: "c"}, {Key: "bogus", Value: 1}}, 40415},
		{"background and full", bson.D{{Key: "validate", Value: "c"}, {Key: "full", Value: true}, {Key: "background", Value: true}}, 72},
		{"repair", bson.D{{Key: "validate", Value: "c"}, {Key: "repair", Value: true}}, 238},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := runErr(t, db, tc.cmd); code != tc.code {
				t.Errorf("code %d, want %d", code, tc.code)
			}
		})
	}
}
