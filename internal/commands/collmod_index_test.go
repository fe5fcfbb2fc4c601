package commands_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// collMod runs {collMod: coll, index: index, extra...} and returns the
// reply without ok.
func collMod(t *testing.T, db *mongo.Database, coll string, index bson.D, extra ...bson.E) (bson.D, error) {
	t.Helper()
	cmd := append(bson.D{{Key: "collMod", Value: coll}, {Key: "index", Value: index}}, extra...)
	var reply bson.D
	err := db.RunCommand(context.Background(), cmd).Decode(&reply)
	if err != nil {
		return nil, err
	}
	out := bson.D{}
	for _, e := range reply {
		if e.Key != "ok" {
			out = append(out, e)
		}
	}
	return out, nil
}

// indexSpec returns the listIndexes entry of the index named name.
func indexSpec(t *testing.T, coll *mongo.Collection, name string) bson.D {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Indexes().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var specs []bson.D
	if err := cur.All(ctx, &specs); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		for _, e := range s {
			if e.Key == "name" && e.Value == name {
				return s
			}
		}
	}
	t.Fatalf("no index %s in %v", name, specs)
	return nil
}

func field(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

func TestCollModIndexHiddenAndTTL(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("cm")
	coll := db.Collection("c")
	if _, err := coll.Indexes().CreateMany(ctx, []mongo.IndexModel{
		{Keys: bson.D{{Key: "x", Value: 1}}},
		{Keys: bson.D{{Key: "t", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(100)},
		{Keys: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 1}}},
	}); err != nil {
		t.Fatal(err)
	}
	byKey := bson.D{{Key: "keyPattern", Value: bson.D{{Key: "x", Value: 1}}}}

	// hidden toggles; the reply has old and new values only on a change.
	for _, tc := range []struct {
		hidden bool
		reply  bson.D
	}{
		{true, bson.D{{Key: "hidden_old", Value: false}, {Key: "hidden_new", Value: true}}},
		{true, bson.D{}},
		{false, bson.D{{Key: "hidden_old", Value: true}, {Key: "hidden_new", Value: false}}},
	} {
		reply, err := collMod(t, db, "c", append(byKey, bson.E{Key: "hidden", Value: tc.hidden}))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(reply, tc.reply) {
			t.Fatalf("hidden %v: reply %v, want %v", tc.hidden, reply, tc.reply)
		}
		if got := field(indexSpec(t, coll, "x_1"), "hidden"); (got == true) != tc.hidden {
			t.Fatalf("hidden %v: listIndexes says %v", tc.hidden, got)
		}
	}
	// A hidden index is not used for a hint.
	if _, err := collMod(t, db, "c", append(byKey, bson.E{Key: "hidden", Value: true})); err != nil {
		t.Fatal(err)
	}
	_, err := coll.Find(ctx, bson.D{}, options.Find().SetHint("x_1"))
	if err == nil {
		t.Fatal("hint on a hidden index accepted")
	}

	// expireAfterSeconds, by name.
	reply, err := collMod(t, db, "c", bson.D{{Key: "name", Value: "t_1"}, {Key: "expireAfterSeconds", Value: 200}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (bson.D{{Key: "expireAfterSeconds_old", Value: int64(100)}, {Key: "expireAfterSeconds_new", Value: int64(200)}}); !reflect.DeepEqual(reply, want) {
		t.Fatalf("TTL reply %v, want %v", reply, want)
	}
	if n, _ := field(indexSpec(t, coll, "t_1"), "expireAfterSeconds").(int64); n != 200 {
		t.Fatalf("listIndexes expireAfterSeconds = %v", field(indexSpec(t, coll, "t_1"), "expireAfterSeconds"))
	}
	// A single-field index becomes a TTL index (no _old).
	reply, err = collMod(t, db, "c", append(byKey, bson.E{Key: "expireAfterSeconds", Value: 5}))
	if err != nil || !reflect.DeepEqual(reply, bson.D{{Key: "expireAfterSeconds_new", Value: int64(5)}}) {
		t.Fatalf("make x_1 TTL: %v, %v", reply, err)
	}

	for _, tc := range []struct {
		what  string
		index bson.D
		extra []bson.E
		code  int32
	}{
		{"compound TTL", bson.D{{Key: "name", Value: "a_1_b_1"}, {Key: "expireAfterSeconds", Value: 5}}, nil, 72},
		{"_id TTL", bson.D{{Key: "name", Value: "_id_"}, {Key: "expireAfterSeconds", Value: 5}}, nil, 72},
		{"negative TTL", bson.D{{Key: "name", Value: "t_1"}, {Key: "expireAfterSeconds", Value: -1}}, nil, 72},
		{"TTL not a number", bson.D{{Key: "name", Value: "t_1"}, {Key: "expireAfterSeconds", Value: "1"}}, nil, 14},
		{"hide _id", bson.D{{Key: "name", Value: "_id_"}, {Key: "hidden", Value: true}}, nil, 2},
		{"no index", bson.D{{Key: "name", Value: "nope"}, {Key: "hidden", Value: true}}, nil, 27},
		{"no index by key", bson.D{{Key: "keyPattern", Value: bson.D{{Key: "nope", Value: 1}}}, {Key: "hidden", Value: true}}, nil, 27},
		{"name and key", bson.D{{Key: "name", Value: "x_1"}, {Key: "keyPattern", Value: bson.D{{Key: "x", Value: 1}}}, {Key: "hidden", Value: true}}, nil, 72},
		{"neither name nor key", bson.D{{Key: "hidden", Value: true}}, nil, 72},
		{"no modification", bson.D{{Key: "name", Value: "x_1"}}, nil, 72},
		{"unknown field", bson.D{{Key: "name", Value: "x_1"}, {Key: "sparse", Value: true}}, nil, 40415},
		{"unique without prepareUnique", bson.D{{Key: "name", Value: "x_1"}, {Key: "unique", Value: true}}, nil, 72},
		{"unique false", bson.D{{Key: "name", Value: "x_1"}, {Key: "unique", Value: false}}, nil, 2},
		{"dryRun without unique", bson.D{{Key: "name", Value: "x_1"}, {Key: "hidden", Value: false}}, []bson.E{{Key: "dryRun", Value: true}}, 72},
		{"prepareUnique with another change", bson.D{{Key: "name", Value: "x_1"}, {Key: "prepareUnique", Value: true}, {Key: "hidden", Value: false}}, nil, 72},
	} {
		_, err := collMod(t, db, "c", tc.index, tc.extra...)
		var ce mongo.CommandError
		if !errors.As(err, &ce) || ce.Code != tc.code {
			t.Errorf("%s: got %v, want code %d", tc.what, err, tc.code)
		}
	}
	// Nothing above changed x_1.
	if s := indexSpec(t, coll, "x_1"); field(s, "prepareUnique") != nil || field(s, "hidden") != true {
		t.Fatalf("x_1 after refused collMods = %v", s)
	}
	_, err = collMod(t, db, "nope", bson.D{{Key: "name", Value: "x_1"}, {Key: "hidden", Value: true}})
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 26 {
		t.Fatalf("collMod of a missing collection: %v", err)
	}
}

func TestCollModPrepareUniqueAndConvert(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("cm")
	coll := db.Collection("u")
	if _, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "x", Value: int32(1)}},
		bson.D{{Key: "_id", Value: int32(2)}, {Key: "x", Value: int32(1)}},
		bson.D{{Key: "_id", Value: int32(3)}, {Key: "x", Value: int32(2)}},
		bson.D{{Key: "_id", Value: int32(4)}, {Key: "x", Value: int32(2)}},
		bson.D{{Key: "_id", Value: int32(5)}, {Key: "x", Value: int32(3)}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "x", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	byKey := bson.D{{Key: "keyPattern", Value: bson.D{{Key: "x", Value: 1}}}}

	reply, err := collMod(t, db, "u", append(byKey, bson.E{Key: "prepareUnique", Value: true}))
	if err != nil {
		t.Fatal(err)
	}
	if want := (bson.D{{Key: "prepareUnique_old", Value: false}, {Key: "prepareUnique_new", Value: true}}); !reflect.DeepEqual(reply, want) {
		t.Fatalf("prepareUnique reply %v", reply)
	}
	if field(indexSpec(t, coll, "x_1"), "prepareUnique") != true {
		t.Fatalf("listIndexes: %v", indexSpec(t, coll, "x_1"))
	}

	// New duplicates are refused, by inserts and updates; other writes,
	// and documents that keep their key, are fine.
	dup := func(what string, err error) {
		t.Helper()
		var se mongo.ServerError
		if !errors.As(err, &se) || !se.HasErrorCode(11000) {
			t.Fatalf("%s: got %v, want a duplicate key error", what, err)
		}
	}
	_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(6)}, {Key: "x", Value: int32(3)}})
	dup("insert of a duplicate", err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: int32(5)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: int32(1)}}}})
	dup("update into a duplicate", err)
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(6)}, {Key: "x", Value: int32(9)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "y", Value: 1}}}}); err != nil {
		t.Fatalf("update of a document that keeps a duplicated key: %v", err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: int32(6)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: int32(10)}}}}); err != nil {
		t.Fatal(err)
	}

	// unique: true with duplicates fails with 359 and the violations, one
	// group per duplicated key; dryRun reports the same.
	wantViolations := bson.A{
		bson.D{{Key: "ids", Value: bson.A{int32(1), int32(2)}}},
		bson.D{{Key: "ids", Value: bson.A{int32(3), int32(4)}}},
	}
	for _, extra := range [][]bson.E{{{Key: "dryRun", Value: true}}, nil} {
		_, err = collMod(t, db, "u", append(byKey, bson.E{Key: "unique", Value: true}), extra...)
		var ce mongo.CommandError
		if !errors.As(err, &ce) || ce.Code != 359 || ce.Name != "CannotConvertIndexToUnique" {
			t.Fatalf("unique with duplicates (%v): %v", extra, err)
		}
		var got struct{ Violations bson.A }
		if err := bson.Unmarshal(ce.Raw, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Violations, wantViolations) {
			t.Fatalf("violations %v, want %v", got.Violations, wantViolations)
		}
	}
	if s := indexSpec(t, coll, "x_1"); field(s, "unique") != nil || field(s, "prepareUnique") != true {
		t.Fatalf("x_1 after failed conversions = %v", s)
	}

	// Resolve the duplicates: dryRun now passes without changing anything,
	// then the conversion succeeds.
	if _, err := coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{2, 4}}}}}); err != nil {
		t.Fatal(err)
	}
	reply, err = collMod(t, db, "u", append(byKey, bson.E{Key: "unique", Value: true}), bson.E{Key: "dryRun", Value: true})
	if err != nil || len(reply) != 0 {
		t.Fatalf("dryRun without duplicates: %v, %v", reply, err)
	}
	if field(indexSpec(t, coll, "x_1"), "unique") != nil {
		t.Fatal("dryRun converted the index")
	}
	reply, err = collMod(t, db, "u", append(byKey, bson.E{Key: "unique", Value: true}))
	if err != nil || !reflect.DeepEqual(reply, bson.D{{Key: "unique_new", Value: true}}) {
		t.Fatalf("conversion: %v, %v", reply, err)
	}
	s := indexSpec(t, coll, "x_1")
	if field(s, "unique") != true || field(s, "prepareUnique") != nil {
		t.Fatalf("x_1 after conversion = %v", s)
	}
	// Converting again is a no-op.
	if reply, err := collMod(t, db, "u", append(byKey, bson.E{Key: "unique", Value: true})); err != nil || len(reply) != 0 {
		t.Fatalf("second conversion: %v, %v", reply, err)
	}

	// The unique index enforces uniqueness, reports its key, and still
	// serves queries.
	_, err = coll.InsertOne(ctx, bson.D{{Key: "x", Value: int32(3)}})
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 || we.WriteErrors[0].Code != 11000 {
		t.Fatalf("insert of a duplicate into the unique index: %v", err)
	}
	got := viewIDs(t, viewFind(t, coll, bson.D{{Key: "x", Value: bson.D{{Key: "$gte", Value: int32(2)}}}}, options.Find().SetHint("x_1")))
	if !reflect.DeepEqual(got, []int{3, 5, 6}) {
		t.Fatalf("find through the converted index = %v", got)
	}
	var v struct{ Valid bool }
	if err := db.RunCommand(ctx, bson.D{{Key: "validate", Value: "u"}, {Key: "full", Value: true}}).Decode(&v); err != nil || !v.Valid {
		t.Fatalf("validate after conversion: %v, %v", v, err)
	}
}

func TestCreateIndexPrepareUnique(t *testing.T) {
	ctx := context.Background()
	coll := connect(t).Database("cm").Collection("p")
	if _, err := coll.InsertMany(ctx, []any{bson.D{{Key: "x", Value: 1}}, bson.D{{Key: "x", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	// An index created with prepareUnique keeps the duplicates it finds
	// but refuses new ones.
	err := coll.Database().RunCommand(ctx, bson.D{{Key: "createIndexes", Value: "p"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "x", Value: 1}}}, {Key: "name", Value: "x_1"}, {Key: "prepareUnique", Value: true}},
	}}}).Err()
	if err != nil {
		t.Fatal(err)
	}
	_, err = coll.InsertOne(ctx, bson.D{{Key: "x", Value: 1}})
	var we mongo.WriteException
	if !errors.As(err, &we) || we.WriteErrors[0].Code != 11000 {
		t.Fatalf("duplicate under prepareUnique: %v", err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "x", Value: 2}}); err != nil {
		t.Fatal(err)
	}
}
