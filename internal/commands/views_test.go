package commands_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/cairndb/cairn/internal/server/servertest"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// seedViews creates vw.src with five documents and the views
//
//	v1 on src: _id > 1, with b = a*10
//	v2 on v1:  b >= 30
func seedViews(t *testing.T, db *mongo.Database) {
	t.Helper()
	ctx := context.Background()
	docs := []any{
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: int32(1)}, {Key: "g", Value: "x"}, {Key: "tags", Value: bson.A{"p", "q"}}},
		bson.D{{Key: "_id", Value: int32(2)}, {Key: "a", Value: int32(2)}, {Key: "g", Value: "y"}, {Key: "tags", Value: bson.A{"q"}}},
		bson.D{{Key: "_id", Value: int32(3)}, {Key: "a", Value: int32(3)}, {Key: "g", Value: "x"}, {Key: "tags", Value: bson.A{"r"}}},
		bson.D{{Key: "_id", Value: int32(4)}, {Key: "a", Value: int32(4)}, {Key: "g", Value: "y"}, {Key: "tags", Value: bson.A{}}},
		bson.D{{Key: "_id", Value: int32(5)}, {Key: "a", Value: int32(5)}, {Key: "g", Value: "x"}, {Key: "tags", Value: bson.A{"p"}}},
	}
	if _, err := db.Collection("src").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	v1 := bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: 1}}}}}},
		bson.D{{Key: "$addFields", Value: bson.D{{Key: "b", Value: bson.D{{Key: "$multiply", Value: bson.A{"$a", 10}}}}}}},
	}
	if err := db.CreateView(ctx, "v1", "src", v1); err != nil {
		t.Fatal(err)
	}
	v2 := bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "b", Value: bson.D{{Key: "$gte", Value: 30}}}}}}}
	if err := db.CreateView(ctx, "v2", "v1", v2); err != nil {
		t.Fatal(err)
	}
}

// ids returns the _id values of docs as ints.
func viewIDs(t *testing.T, docs []bson.D) []int {
	t.Helper()
	out := []int{}
	for _, d := range docs {
		for _, e := range d {
			if e.Key == "_id" {
				n, ok := e.Value.(int32)
				if !ok {
					t.Fatalf("_id %v (%T)", e.Value, e.Value)
				}
				out = append(out, int(n))
			}
		}
	}
	return out
}

func viewFind(t *testing.T, coll *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) []bson.D {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		t.Fatalf("find on %s: %v", coll.Name(), err)
	}
	var out []bson.D
	if err := cur.All(ctx, &out); err != nil {
		t.Fatalf("find on %s: %v", coll.Name(), err)
	}
	return out
}

func wantViewCode(t *testing.T, what string, err error, code int32) {
	t.Helper()
	var se mongo.ServerError
	if !errors.As(err, &se) || !se.HasErrorCode(int(code)) {
		t.Fatalf("%s: got %v, want error code %d", what, err, code)
	}
}

func TestViewReads(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("vw")
	seedViews(t, db)
	v1, v2 := db.Collection("v1"), db.Collection("v2")

	// find: filter, sort, projection, skip and limit run after the view's
	// pipeline.
	got := viewFind(t, v1, bson.D{{Key: "g", Value: "x"}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetProjection(bson.D{{Key: "b", Value: 1}}).SetLimit(2))
	want := []bson.D{
		{{Key: "_id", Value: int32(5)}, {Key: "b", Value: int32(50)}},
		{{Key: "_id", Value: int32(3)}, {Key: "b", Value: int32(30)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("find on v1 = %v, want %v", got, want)
	}
	if got := viewIDs(t, viewFind(t, v1, bson.D{}, options.Find().SetSort(bson.D{{Key: "a", Value: 1}}).SetSkip(1))); !reflect.DeepEqual(got, []int{3, 4, 5}) {
		t.Fatalf("find with skip = %v", got)
	}
	// Small batches go through getMore on the view's namespace.
	cur, err := v1.Find(ctx, bson.D{}, options.Find().SetBatchSize(1))
	if err != nil {
		t.Fatal(err)
	}
	var batched []bson.D
	if err := cur.All(ctx, &batched); err != nil {
		t.Fatal(err)
	}
	if got := viewIDs(t, batched); !reflect.DeepEqual(got, []int{2, 3, 4, 5}) {
		t.Fatalf("batched find = %v", got)
	}
	// findOne sends limit 1 with singleBatch.
	var one bson.D
	if err := v2.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: 1}})).Decode(&one); err != nil {
		t.Fatal(err)
	}
	if viewIDs(t, []bson.D{one})[0] != 3 {
		t.Fatalf("findOne on v2 = %v", one)
	}
	// A view on a view.
	if got := viewIDs(t, viewFind(t, v2, bson.D{})); !reflect.DeepEqual(got, []int{3, 4, 5}) {
		t.Fatalf("find on v2 = %v", got)
	}
	// The cursor reports the view's namespace.
	var raw bson.Raw
	if raw, err = db.RunCommand(ctx, bson.D{{Key: "find", Value: "v2"}, {Key: "batchSize", Value: 1}}).Raw(); err != nil {
		t.Fatal(err)
	}
	if ns := raw.Lookup("cursor", "ns").StringValue(); ns != "vw.v2" {
		t.Fatalf("cursor ns = %q", ns)
	}

	// count: estimatedDocumentCount sends {count: view}.
	if n, err := v1.EstimatedDocumentCount(ctx); err != nil || n != 4 {
		t.Fatalf("estimatedDocumentCount(v1) = %d, %v", n, err)
	}
	if n, err := v2.CountDocuments(ctx, bson.D{{Key: "g", Value: "x"}}); err != nil || n != 2 {
		t.Fatalf("countDocuments(v2) = %d, %v", n, err)
	}
	var cnt struct{ N int64 }
	err = db.RunCommand(ctx, bson.D{{Key: "count", Value: "v1"}, {Key: "query", Value: bson.D{{Key: "b", Value: bson.D{{Key: "$gt", Value: 20}}}}},
		{Key: "skip", Value: 1}, {Key: "limit", Value: 1}}).Decode(&cnt)
	if err != nil || cnt.N != 1 {
		t.Fatalf("count with query/skip/limit = %d, %v", cnt.N, err)
	}

	// distinct sees the view's documents only (_id 1 is filtered out, so
	// "p" comes from _id 5 alone and the computed field exists).
	res := v1.Distinct(ctx, "tags", bson.D{})
	var tags []string
	if err := res.Decode(&tags); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tags, []string{"q", "r", "p"}) {
		t.Fatalf("distinct tags on v1 = %v", tags)
	}
	var bs []int32
	if err := v2.Distinct(ctx, "b", bson.D{{Key: "g", Value: "y"}}).Decode(&bs); err != nil || !reflect.DeepEqual(bs, []int32{40}) {
		t.Fatalf("distinct b on v2 = %v, %v", bs, err)
	}

	// aggregate appends its stages to the view's pipeline.
	cur, err = v1.Aggregate(ctx, bson.A{
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$g"}, {Key: "sum", Value: bson.D{{Key: "$sum", Value: "$b"}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var groups []bson.D
	if err := cur.All(ctx, &groups); err != nil {
		t.Fatal(err)
	}
	wantGroups := []bson.D{{{Key: "_id", Value: "x"}, {Key: "sum", Value: int32(80)}}, {{Key: "_id", Value: "y"}, {Key: "sum", Value: int32(60)}}}
	if !reflect.DeepEqual(groups, wantGroups) {
		t.Fatalf("aggregate on v1 = %v", groups)
	}

	// $lookup and $unionWith read views through their pipelines.
	cur, err = db.Collection("src").Aggregate(ctx, bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "_id", Value: int32(4)}}}},
		bson.D{{Key: "$lookup", Value: bson.D{{Key: "from", Value: "v2"}, {Key: "localField", Value: "g"}, {Key: "foreignField", Value: "g"}, {Key: "as", Value: "same"}}}},
		bson.D{{Key: "$unionWith", Value: "v2"}},
		bson.D{{Key: "$project", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$size", Value: bson.D{{Key: "$ifNull", Value: bson.A{"$same", bson.A{}}}}}}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var looked []bson.D
	if err := cur.All(ctx, &looked); err != nil {
		t.Fatal(err)
	}
	// _id 4 (g y) finds v2's one "y" document (4); then v2's three documents.
	if got := viewIDs(t, looked); !reflect.DeepEqual(got, []int{4, 3, 4, 5}) || looked[0][1].Value != int32(1) {
		t.Fatalf("$lookup/$unionWith from a view = %v", looked)
	}

	// explain of a find on a view explains the aggregation.
	if err := db.RunCommand(ctx, bson.D{{Key: "explain", Value: bson.D{{Key: "find", Value: "v2"}, {Key: "filter", Value: bson.D{{Key: "g", Value: "x"}}}}}}).Err(); err != nil {
		t.Fatalf("explain find on view: %v", err)
	}

	// Options an aggregation cannot express are refused.
	err = db.RunCommand(ctx, bson.D{{Key: "find", Value: "v1"}, {Key: "min", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "hint", Value: bson.D{{Key: "a", Value: 1}}}}).Err()
	wantViewCode(t, "find with min on a view", err, 168)
	err = db.RunCommand(ctx, bson.D{{Key: "find", Value: "v1"}, {Key: "singleBatch", Value: true}}).Err()
	wantViewCode(t, "find with singleBatch on a view", err, 168)
}

func TestViewWritesRefused(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("vw")
	seedViews(t, db)
	v1 := db.Collection("v1")
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"insert", func() error { _, err := v1.InsertOne(ctx, bson.D{{Key: "a", Value: 1}}); return err }},
		{"update", func() error {
			_, err := v1.UpdateOne(ctx, bson.D{}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 9}}}})
			return err
		}},
		{"upsert", func() error {
			_, err := v1.UpdateOne(ctx, bson.D{{Key: "_id", Value: 9}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 9}}}}, options.UpdateOne().SetUpsert(true))
			return err
		}},
		{"delete", func() error { _, err := v1.DeleteMany(ctx, bson.D{}); return err }},
		{"findAndModify", func() error {
			return v1.FindOneAndUpdate(ctx, bson.D{}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 9}}}}).Err()
		}},
		{"createIndexes", func() error {
			_, err := v1.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}}})
			return err
		}},
		{"listIndexes", func() error { _, err := v1.Indexes().List(ctx); return err }},
		{"collStats", func() error { return db.RunCommand(ctx, bson.D{{Key: "collStats", Value: "v1"}}).Err() }},
		{"$out", func() error {
			_, err := db.Collection("src").Aggregate(ctx, bson.A{bson.D{{Key: "$out", Value: "v1"}}})
			return err
		}},
		{"$merge", func() error {
			_, err := db.Collection("src").Aggregate(ctx, bson.A{bson.D{{Key: "$merge", Value: bson.D{{Key: "into", Value: "v1"}}}}})
			return err
		}},
		{"explain update", func() error {
			return db.RunCommand(ctx, bson.D{{Key: "explain", Value: bson.D{{Key: "update", Value: "v1"}, {Key: "updates", Value: bson.A{
				bson.D{{Key: "q", Value: bson.D{}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 1}}}}}},
			}}}}}).Err()
		}},
	} {
		wantViewCode(t, tc.name, tc.run(), 166)
	}
	// Renaming a view, or a collection onto a view, is refused.
	err := db.Client().Database("admin").RunCommand(ctx, bson.D{{Key: "renameCollection", Value: "vw.v1"}, {Key: "to", Value: "vw.v9"}}).Err()
	wantViewCode(t, "rename a view", err, 166)
	err = db.Client().Database("admin").RunCommand(ctx, bson.D{{Key: "renameCollection", Value: "vw.src"}, {Key: "to", Value: "vw.v1"}}).Err()
	wantViewCode(t, "rename onto a view", err, 48)
	// The underlying collection is untouched.
	if n, err := db.Collection("src").CountDocuments(ctx, bson.D{}); err != nil || n != 5 {
		t.Fatalf("src count = %d, %v", n, err)
	}
}

func TestViewDefinitions(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("vw")
	seedViews(t, db)
	match := bson.A{bson.D{{Key: "$match", Value: bson.D{}}}}
	create := func(name string, extra ...bson.E) error {
		cmd := append(bson.D{{Key: "create", Value: name}}, extra...)
		return db.RunCommand(ctx, cmd).Err()
	}
	viewOn := func(s string) bson.E { return bson.E{Key: "viewOn", Value: s} }
	pipeline := func(p bson.A) bson.E { return bson.E{Key: "pipeline", Value: p} }

	wantViewCode(t, "view over a collection", create("src", viewOn("v1")), 48)
	wantViewCode(t, "view over a view with another definition", create("v1", viewOn("src"), pipeline(match)), 48)
	if err := create("v2", viewOn("v1"), pipeline(bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "b", Value: bson.D{{Key: "$gte", Value: 30}}}}}}})); err != nil {
		t.Fatalf("re-creating a view with its definition: %v", err)
	}
	wantViewCode(t, "collection over a view", db.CreateCollection(ctx, "v1"), 48)
	wantViewCode(t, "pipeline without viewOn", create("v3", pipeline(match)), 72)
	wantViewCode(t, "$out in a view", create("v3", viewOn("src"), pipeline(bson.A{bson.D{{Key: "$out", Value: "x"}}})), 167)
	wantViewCode(t, "$merge in a $facet of a view", create("v3", viewOn("src"), pipeline(bson.A{bson.D{{Key: "$facet", Value: bson.D{
		{Key: "f", Value: bson.A{bson.D{{Key: "$merge", Value: bson.D{{Key: "into", Value: "x"}}}}}},
	}}}})), 167)
	wantViewCode(t, "unknown stage", create("v3", viewOn("src"), pipeline(bson.A{bson.D{{Key: "$nope", Value: 1}}})), 40324)
	wantViewCode(t, "empty viewOn", create("v3", viewOn("")), 2)
	wantViewCode(t, "view option capped", create("v3", viewOn("src"), bson.E{Key: "capped", Value: true}), 72)
	// Cycles: directly, and through $lookup.
	wantViewCode(t, "self view", create("v3", viewOn("v3")), 5)
	err := db.RunCommand(ctx, bson.D{{Key: "collMod", Value: "v1"}, viewOn("v2")}).Err()
	wantViewCode(t, "collMod into a cycle", err, 5)
	err = db.RunCommand(ctx, bson.D{{Key: "collMod", Value: "v1"}, pipeline(bson.A{bson.D{{Key: "$lookup", Value: bson.D{
		{Key: "from", Value: "v2"}, {Key: "localField", Value: "a"}, {Key: "foreignField", Value: "a"}, {Key: "as", Value: "x"},
	}}}})}).Err()
	wantViewCode(t, "collMod into a $lookup cycle", err, 5)
	// Views may be stacked 20 deep, not deeper.
	prev := "src"
	for i := 0; i < 20; i++ {
		name := "d" + string(rune('a'+i))
		if err := create(name, viewOn(prev)); err != nil {
			t.Fatalf("view %d of the stack: %v", i+1, err)
		}
		prev = name
	}
	wantViewCode(t, "21st stacked view", create("deep", viewOn(prev)), 165)
	if n, err := db.Collection(prev).CountDocuments(ctx, bson.D{}); err != nil || n != 5 {
		t.Fatalf("count through 20 views = %d, %v", n, err)
	}

	// collMod changes the pipeline (v2 reads through v1 and sees it).
	err = db.RunCommand(ctx, bson.D{{Key: "collMod", Value: "v1"}, pipeline(bson.A{
		bson.D{{Key: "$addFields", Value: bson.D{{Key: "b", Value: "$a"}}}},
	})}).Err()
	if err != nil {
		t.Fatal(err)
	}
	if got := viewIDs(t, viewFind(t, db.Collection("v1"), bson.D{})); !reflect.DeepEqual(got, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("v1 after collMod = %v", got)
	}
	if got := viewFind(t, db.Collection("v2"), bson.D{}); len(got) != 0 {
		t.Fatalf("v2 after collMod of v1 = %v", got)
	}
	err = db.RunCommand(ctx, bson.D{{Key: "collMod", Value: "v1"}, {Key: "validator", Value: bson.D{}}}).Err()
	wantViewCode(t, "validator on a view", err, 72)
	err = db.RunCommand(ctx, bson.D{{Key: "collMod", Value: "src"}, viewOn("v1")}).Err()
	wantViewCode(t, "viewOn on a collection", err, 72)
}

func TestViewListCollectionsAndDrop(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("vw")
	seedViews(t, db)

	cur, err := db.ListCollections(ctx, bson.D{{Key: "type", Value: "view"}})
	if err != nil {
		t.Fatal(err)
	}
	var views []bson.D
	if err := cur.All(ctx, &views); err != nil {
		t.Fatal(err)
	}
	want := bson.D{
		{Key: "name", Value: "v2"},
		{Key: "type", Value: "view"},
		{Key: "options", Value: bson.D{{Key: "viewOn", Value: "v1"}, {Key: "pipeline", Value: bson.A{
			bson.D{{Key: "$match", Value: bson.D{{Key: "b", Value: bson.D{{Key: "$gte", Value: int32(30)}}}}}},
		}}}},
		{Key: "info", Value: bson.D{{Key: "readOnly", Value: true}}},
	}
	if len(views) != 2 || !reflect.DeepEqual(views[1], want) {
		t.Fatalf("listCollections of views = %v", views)
	}
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, []string{"src", "system.views", "v1", "v2"}) {
		t.Fatalf("collection names = %v", names)
	}
	// system.views reads as the view definitions; writes to it are refused.
	defs := viewFind(t, db.Collection("system.views"), bson.D{{Key: "viewOn", Value: "src"}})
	if len(defs) != 1 || defs[0][0].Value != "vw.v1" {
		t.Fatalf("system.views = %v", defs)
	}
	_, err = db.Collection("system.views").InsertOne(ctx, bson.D{{Key: "_id", Value: "vw.x"}})
	wantViewCode(t, "insert into system.views", err, 73)
	var stats struct{ Views int64 }
	if err := db.RunCommand(ctx, bson.D{{Key: "dbStats", Value: 1}}).Decode(&stats); err != nil || stats.Views != 2 {
		t.Fatalf("dbStats views = %d, %v", stats.Views, err)
	}

	// drop drops a view, not what it reads.
	if err := db.Collection("v2").Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if v := viewFind(t, db.Collection("v2"), bson.D{}); len(v) != 0 {
		t.Fatalf("v2 after drop = %v", v)
	}
	if names, _ := db.ListCollectionNames(ctx, bson.D{}); !reflect.DeepEqual(names, []string{"src", "system.views", "v1"}) {
		t.Fatalf("names after dropping v2 = %v", names)
	}
	// The name is free again, even for a collection.
	if err := db.CreateCollection(ctx, "v2"); err != nil {
		t.Fatal(err)
	}
	// Dropping the collection under a view leaves the view, reading nothing.
	if err := db.Collection("src").Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Collection("v1").CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Fatalf("v1 over a dropped collection: %d, %v", n, err)
	}
	// dropDatabase drops the views too.
	if err := db.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if names, _ := db.ListCollectionNames(ctx, bson.D{}); len(names) != 0 {
		t.Fatalf("names after dropDatabase = %v", names)
	}
	if err := db.CreateView(ctx, "v1", "src", bson.A{}); err != nil {
		t.Fatalf("view name after dropDatabase: %v", err)
	}
}

func TestViewCollation(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("vwc")
	if _, err := db.Collection("src").InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "s", Value: "abc"}},
		bson.D{{Key: "_id", Value: int32(2)}, {Key: "s", Value: "ABC"}},
		bson.D{{Key: "_id", Value: int32(3)}, {Key: "s", Value: "abd"}},
	}); err != nil {
		t.Fatal(err)
	}
	ci := &options.Collation{Locale: "en", Strength: 2}
	if err := db.CreateView(ctx, "ci", "src", bson.A{}, options.CreateView().SetCollation(ci)); err != nil {
		t.Fatal(err)
	}
	// Reads use the view's collation.
	if got := viewIDs(t, viewFind(t, db.Collection("ci"), bson.D{{Key: "s", Value: "abc"}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Fatalf("case-insensitive view find = %v", got)
	}
	var vals []string
	if err := db.Collection("ci").Distinct(ctx, "s", bson.D{}).Decode(&vals); err != nil || len(vals) != 2 {
		t.Fatalf("distinct under the view's collation = %v, %v", vals, err)
	}
	// Another collation is refused.
	_, err := db.Collection("ci").Find(ctx, bson.D{}, options.Find().SetCollation(&options.Collation{Locale: "fr"}))
	wantViewCode(t, "find with another collation", err, 167)
	// A view on it must have the same collation.
	wantViewCode(t, "view with another collation on it", db.CreateView(ctx, "plain", "ci", bson.A{}), 167)
	if err := db.CreateView(ctx, "same", "ci", bson.A{}, options.CreateView().SetCollation(ci)); err != nil {
		t.Fatal(err)
	}
	// listCollections reports the collation in full.
	spec, err := db.ListCollectionSpecifications(ctx, bson.D{{Key: "name", Value: "ci"}})
	if err != nil || len(spec) != 1 {
		t.Fatalf("listCollections: %v, %v", spec, err)
	}
	if loc, _ := spec[0].Options.Lookup("collation", "locale").StringValueOK(); loc != "en" {
		t.Fatalf("view options = %v", spec[0].Options)
	}
}

func TestViewsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	t.Run("create", func(t *testing.T) {
		client, _ := servertest.Client(t, servertest.WithFS(fs))
		seedViews(t, client.Database("vw"))
	})
	t.Run("reopen", func(t *testing.T) {
		client, _ := servertest.Client(t, servertest.WithFS(fs))
		db := client.Database("vw")
		if got := viewIDs(t, viewFind(t, db.Collection("v2"), bson.D{})); !reflect.DeepEqual(got, []int{3, 4, 5}) {
			t.Fatalf("v2 after restart = %v", got)
		}
		dbs, err := client.ListDatabaseNames(ctx, bson.D{{Key: "name", Value: "vw"}})
		if err != nil || len(dbs) != 1 {
			t.Fatalf("listDatabases = %v, %v", dbs, err)
		}
		wantViewCode(t, "collection over a restored view", db.CreateCollection(ctx, "v1"), 48)
	})
}
