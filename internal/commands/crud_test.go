package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cairndb/cairn/internal/server/servertest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func connect(t *testing.T) *mongo.Client {
	t.Helper()
	uri, _ := servertest.Start(t)
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

// runErr runs cmd and returns the server error's code and name.
func runErr(t *testing.T, db *mongo.Database, cmd bson.D) (int32, string) {
	t.Helper()
	err := db.RunCommand(context.Background(), cmd).Err()
	var ce mongo.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("%v: expected a command error, got %v", cmd, err)
	}
	return ce.Code, ce.Name
}

func TestInsertFindTutorial(t *testing.T) {
	ctx := context.Background()
	coll := connect(t).Database("test_database").Collection("test_collection")
	res, err := coll.InsertOne(ctx, bson.D{{Key: "key", Value: "value"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.InsertedID.(bson.ObjectID); !ok {
		t.Fatalf("inserted id %T, want ObjectID", res.InsertedID)
	}
	if _, err := coll.DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	docs := make([]any, 2000)
	for i := range docs {
		docs[i] = bson.D{{Key: "i", Value: int32(i)}}
	}
	many, err := coll.InsertMany(ctx, docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(many.InsertedIDs) != 2000 {
		t.Fatalf("inserted %d", len(many.InsertedIDs))
	}
	var one bson.D
	if err := coll.FindOne(ctx, bson.D{{Key: "i", Value: bson.D{{Key: "$lt", Value: 1}}}}).Decode(&one); err != nil {
		t.Fatal(err)
	}
	if len(one) != 2 || one[0].Key != "_id" || one[1].Key != "i" || one[1].Value != int32(0) {
		t.Fatalf("find_one = %v", one)
	}
	cur, err := coll.Find(ctx, bson.D{{Key: "i", Value: bson.D{{Key: "$lt", Value: 4}}}},
		options.Find().SetSort(bson.D{{Key: "i", Value: -1}}).SetSkip(1).SetLimit(2))
	if err != nil {
		t.Fatal(err)
	}
	var got []bson.D
	if err := cur.All(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0][1].Value != int32(2) || got[1][1].Value != int32(1) {
		t.Fatalf("sorted find = %v", got)
	}
	// All 2000 through getMore batches.
	cur, err = coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(150))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for cur.Next(ctx) {
		n++
	}
	if err := cur.Err(); err != nil || n != 2000 {
		t.Fatalf("iterated %d docs, err %v", n, err)
	}
	for _, c := range []struct {
		filter bson.D
		want   int64
	}{{bson.D{}, 2000}, {bson.D{{Key: "i", Value: bson.D{{Key: "$gt", Value: 1000}}}}, 999}} {
		got, err := coll.CountDocuments(ctx, c.filter)
		if err != nil || got != c.want {
			t.Fatalf("count_documents(%v) = %d, %v; want %d", c.filter, got, err, c.want)
		}
	}
	est, err := coll.EstimatedDocumentCount(ctx)
	if err != nil || est != 2000 {
		t.Fatalf("estimated count = %d, %v", est, err)
	}
	// replace_one keeps _id.
	var old bson.D
	if err := coll.FindOne(ctx, bson.D{{Key: "i", Value: 50}}).Decode(&old); err != nil {
		t.Fatal(err)
	}
	id := old[0].Value
	rr, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "key", Value: "value"}})
	if err != nil || rr.ModifiedCount != 1 {
		t.Fatalf("replace: %+v %v", rr, err)
	}
	var nd bson.D
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&nd); err != nil {
		t.Fatal(err)
	}
	if len(nd) != 2 || nd[0].Key != "_id" || nd[1].Key != "key" {
		t.Fatalf("replaced doc = %v", nd)
	}
	ur, err := coll.UpdateOne(ctx, bson.D{{Key: "i", Value: 51}}, bson.D{{Key: "$set", Value: bson.D{{Key: "key", Value: "value"}}}})
	if err != nil || ur.ModifiedCount != 1 || ur.MatchedCount != 1 {
		t.Fatalf("update: %+v %v", ur, err)
	}
	dr, err := coll.DeleteMany(ctx, bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: 1000}}}})
	if err != nil || dr.DeletedCount != 1000 {
		t.Fatalf("delete: %+v %v", dr, err)
	}
	var distinct bson.M
	if err := coll.Database().RunCommand(ctx, bson.D{{Key: "distinct", Value: "test_collection"}, {Key: "key", Value: "i"}}).Decode(&distinct); err != nil {
		t.Fatal(err)
	}
	if vals, _ := distinct["values"].(bson.A); len(vals) != 999 {
		t.Fatalf("distinct returned %d values", len(vals))
	}
}

func TestDuplicateKey(t *testing.T) {
	ctx := context.Background()
	coll := connect(t).Database("d").Collection("c")
	_, err := coll.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}}},
		options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || len(bwe.WriteErrors) != 1 || bwe.WriteErrors[0].Code != 11000 || bwe.WriteErrors[0].Index != 1 {
		t.Fatalf("unordered dup insert: %v", err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.D{}); n != 2 {
		t.Fatalf("count after unordered insert = %d, want 2", n)
	}
	// Unique secondary index (on a fresh collection: documents without x
	// would collide on null).
	coll = coll.Database().Collection("u")
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "x", Value: 1}}, Options: options.Index().SetUnique(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "x", Value: 5}}); err != nil {
		t.Fatal(err)
	}
	_, err = coll.InsertOne(ctx, bson.D{{Key: "x", Value: 5.0}})
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("unique index dup: %v", err)
	}
	// Updating into a duplicate fails and leaves the document unchanged.
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "u"}, {Key: "x", Value: 6}}); err != nil {
		t.Fatal(err)
	}
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "u"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 5}}}})
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("update into dup: %v", err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.D{{Key: "x", Value: 6}}); n != 1 {
		t.Fatalf("document changed by failed update")
	}
}

func TestUpsertAndFindAndModify(t *testing.T) {
	ctx := context.Background()
	coll := connect(t).Database("d").Collection("fam")
	ur, err := coll.UpdateOne(ctx, bson.D{{Key: "name", Value: "a"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil || ur.UpsertedCount != 1 || ur.UpsertedID == nil {
		t.Fatalf("upsert: %+v %v", ur, err)
	}
	var doc bson.D
	err = coll.FindOneAndUpdate(ctx, bson.D{{Key: "name", Value: "a"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if doc[1].Value != "a" || doc[2].Value != int32(2) {
		t.Fatalf("findOneAndUpdate after = %v", doc)
	}
	err = coll.FindOneAndDelete(ctx, bson.D{{Key: "name", Value: "a"}}).Decode(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.D{}); n != 0 {
		t.Fatalf("count after delete = %d", n)
	}
	if err := coll.FindOneAndDelete(ctx, bson.D{}).Err(); !errors.Is(err, mongo.ErrNoDocuments) {
		t.Fatalf("findOneAndDelete on empty: %v", err)
	}
}

func TestCommandErrors(t *testing.T) {
	db := connect(t).Database("errs")
	cases := []struct {
		name string
		cmd  bson.D
		code int32
	}{
		{"unknown command", bson.D{{Key: "frobnicate", Value: 1}}, 59},
		{"find non-string collection", bson.D{{Key: "find", Value: 1}}, 73},
		{"find filter wrong type", bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: "x"}}, 14},
		{"find unknown field", bson.D{{Key: "find", Value: "c"}, {Key: "bogus", Value: 1}}, 40415},
		{"find negative limit", bson.D{{Key: "find", Value: "c"}, {Key: "limit", Value: -1}}, 51024},
		{"unknown query operator", bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$frob", Value: 1}}}}}}, 2},
		{"insert documents missing", bson.D{{Key: "insert", Value: "c"}}, 40414},
		{"invalid collection name", bson.D{{Key: "insert", Value: "a$b"}, {Key: "documents", Value: bson.A{bson.D{}}}}, 73},
		{"getMore unknown cursor", bson.D{{Key: "getMore", Value: int64(12345)}, {Key: "collection", Value: "c"}}, 43},
		{"findAndModify neither", bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{}}}, 9},
		{"create exists", nil, 48},
		{"drop index _id", bson.D{{Key: "dropIndexes", Value: "made"}, {Key: "index", Value: "_id_"}}, 72},
		{"drop missing index", bson.D{{Key: "dropIndexes", Value: "made"}, {Key: "index", Value: "nope"}}, 27},
		{"text index refused", bson.D{{Key: "createIndexes", Value: "made"}, {Key: "indexes", Value: bson.A{bson.D{{Key: "key", Value: bson.D{{Key: "t", Value: "text"}}}, {Key: "name", Value: "t"}}}}}, 67},
		{"aggregate without cursor", bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{}}}, 9},
		{"unknown collation locale", bson.D{{Key: "find", Value: "c"}, {Key: "collation", Value: bson.D{{Key: "locale", Value: "xx"}}}}, 2},
		{"collation without locale", bson.D{{Key: "find", Value: "c"}, {Key: "collation", Value: bson.D{{Key: "strength", Value: 2}}}}, 40414},
	}
	ctx := context.Background()
	if err := db.CreateCollection(ctx, "made"); err != nil {
		t.Fatal(err)
	}
	if err := db.Collection("made").Database().RunCommand(ctx, bson.D{{Key: "create", Value: "made"}, {Key: "validator", Value: bson.D{{Key: "a", Value: 1}}}}).Err(); err == nil {
		t.Fatal("create with different options on an existing collection succeeded")
	}
	for _, c := range cases {
		if c.cmd == nil {
			c.cmd = bson.D{{Key: "create", Value: "made"}, {Key: "validator", Value: bson.D{{Key: "a", Value: 1}}}}
		}
		t.Run(c.name, func(t *testing.T) {
			code, _ := runErr(t, db, c.cmd)
			if code != c.code {
				t.Errorf("code = %d, want %d", code, c.code)
			}
		})
	}
	// The connection survives every error above.
	if err := db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestCollectionAdmin(t *testing.T) {
	ctx := context.Background()
	client := connect(t)
	db := client.Database("adm")
	if _, err := db.Collection("a").InsertOne(ctx, bson.D{{Key: "x", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCollection(ctx, "system_like"); err != nil {
		t.Fatal(err)
	}
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil || len(names) != 2 {
		t.Fatalf("collections = %v, %v", names, err)
	}
	dbs, err := client.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range dbs {
		found = found || d == "adm"
	}
	if !found {
		t.Fatalf("listDatabases = %v", dbs)
	}
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "renameCollection", Value: "adm.a"}, {Key: "to", Value: "adm.b"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Collection("b").CountDocuments(ctx, bson.D{}); n != 1 {
		t.Fatalf("renamed collection has %d docs", n)
	}
	var stats bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "collStats", Value: "b"}}).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	if stats["count"] != int64(1) || stats["size"].(int64) <= 0 {
		t.Fatalf("collStats = %v", stats)
	}
	if err := db.Collection("b").Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	names, _ = db.ListCollectionNames(ctx, bson.D{})
	if len(names) != 0 {
		t.Fatalf("collections after dropDatabase = %v", names)
	}
}

func TestAggregateCount(t *testing.T) {
	ctx := context.Background()
	coll := connect(t).Database("agg").Collection("c")
	var docs []any
	for i := 0; i < 10; i++ {
		docs = append(docs, bson.D{{Key: "i", Value: i}, {Key: "g", Value: i % 2}})
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	cur, err := coll.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: 2}}}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$g"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []bson.M
	if err := cur.All(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0]["n"] != int32(4) || out[1]["n"] != int32(4) {
		t.Fatalf("group = %v", out)
	}
}

func TestCollation(t *testing.T) {
	ctx := context.Background()
	coll := connect(t).Database("coll8n").Collection("c")
	if _, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "x", Value: "ping"}},
		bson.D{{Key: "_id", Value: 2}, {Key: "x", Value: "PING"}},
		bson.D{{Key: "_id", Value: 3}, {Key: "x", Value: "pong"}},
	}); err != nil {
		t.Fatal(err)
	}
	ci := &options.Collation{Locale: "en_US", Strength: 2}
	n, err := coll.CountDocuments(ctx, bson.D{{Key: "x", Value: "Ping"}}, options.Count().SetCollation(ci))
	if err != nil || n != 2 {
		t.Fatalf("case-insensitive count = %d, %v", n, err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.D{{Key: "x", Value: "Ping"}}); n != 0 {
		t.Fatalf("binary count = %d, want 0", n)
	}
	var vals []string
	res := coll.Distinct(ctx, "x", bson.D{}, options.Distinct().SetCollation(ci))
	if err := res.Decode(&vals); err != nil || len(vals) != 2 {
		t.Fatalf("distinct with collation = %v, %v", vals, err)
	}
	ur, err := coll.UpdateMany(ctx, bson.D{{Key: "x", Value: "PiNg"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "y", Value: 1}}}}, options.UpdateMany().SetCollation(ci))
	if err != nil || ur.ModifiedCount != 2 {
		t.Fatalf("update with collation: %+v, %v", ur, err)
	}
	dr, err := coll.DeleteOne(ctx, bson.D{{Key: "x", Value: "PONG"}}, options.DeleteOne().SetCollation(ci))
	if err != nil || dr.DeletedCount != 1 {
		t.Fatalf("delete with collation: %+v, %v", dr, err)
	}
}

func TestClusteredAndSessions(t *testing.T) {
	ctx := context.Background()
	client := connect(t)
	db := client.Database("cl")
	err := db.RunCommand(ctx, bson.D{{Key: "create", Value: "c"}, {Key: "clusteredIndex", Value: bson.D{
		{Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "unique", Value: true}, {Key: "name", Value: "by id"}}}}).Err()
	if err != nil {
		t.Fatal(err)
	}
	cur, err := db.Collection("c").Indexes().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ixs []bson.M
	if err := cur.All(ctx, &ixs); err != nil || len(ixs) != 1 || ixs[0]["name"] != "by id" || ixs[0]["clustered"] != true {
		t.Fatalf("listIndexes on a clustered collection = %v, %v", ixs, err)
	}
	if err := db.RunCommand(ctx, bson.D{{Key: "create", Value: "bad"}, {Key: "clusteredIndex", Value: bson.D{
		{Key: "key", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "unique", Value: true}}}}).Err(); err == nil {
		t.Fatal("clusteredIndex on a field other than _id accepted")
	}
	// $listLocalSessions sees the session the driver uses.
	acur, err := client.Database("admin").Aggregate(ctx, mongo.Pipeline{{{Key: "$listLocalSessions", Value: bson.D{}}}})
	if err != nil {
		t.Fatal(err)
	}
	var sessions []bson.M
	if err := acur.All(ctx, &sessions); err != nil || len(sessions) == 0 {
		t.Fatalf("$listLocalSessions = %v, %v", sessions, err)
	}
}
