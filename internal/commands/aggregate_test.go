package commands_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/aggregate"
	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/server/servertest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// aggDocs runs a pipeline on coll and returns all results.
func aggDocs(t *testing.T, coll *mongo.Collection, pipeline bson.A, opts ...options.Lister[options.AggregateOptions]) []bson.D {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Aggregate(ctx, pipeline, opts...)
	if err != nil {
		t.Fatalf("aggregate %v: %v", pipeline, err)
	}
	var out []bson.D
	if err := cur.All(ctx, &out); err != nil {
		t.Fatalf("aggregate %v: %v", pipeline, err)
	}
	return out
}

// aggErrCode runs a pipeline that must fail and returns the error code.
func aggErrCode(t *testing.T, coll *mongo.Collection, pipeline bson.A) int32 {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Aggregate(ctx, pipeline)
	if err == nil {
		var out []bson.D
		err = cur.All(ctx, &out)
		if err == nil {
			t.Fatalf("aggregate %v: expected an error, got %v", pipeline, out)
		}
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("aggregate %v: expected a server error, got %v", pipeline, err)
	}
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		return ce.Code
	}
	t.Fatalf("aggregate %v: unexpected error type %T: %v", pipeline, err, err)
	return 0
}

func findAll(t *testing.T, coll *mongo.Collection) []bson.D {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var out []bson.D
	if err := cur.All(ctx, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func insertDocs(t *testing.T, coll *mongo.Collection, docs ...bson.D) {
	t.Helper()
	in := make([]any, len(docs))
	for i, d := range docs {
		in[i] = d
	}
	if _, err := coll.InsertMany(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func sameDocs(t *testing.T, what string, got []bson.D, want ...bson.D) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d documents %v, want %v", what, len(got), got, want)
	}
	for i := range got {
		if bsonutil.Compare(got[i], want[i]) != 0 || len(got[i]) != len(want[i]) {
			t.Fatalf("%s: document %d: got %v, want %v", what, i, got[i], want[i])
		}
	}
}

func tmpCollections(t *testing.T, db *mongo.Database) []string {
	t.Helper()
	names, err := db.ListCollectionNames(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var tmp []string
	for _, n := range names {
		if strings.HasPrefix(n, "tmp.agg_out.") {
			tmp = append(tmp, n)
		}
	}
	return tmp
}

func TestAggregateOut(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("aggout")
	src, dst := db.Collection("books"), db.Collection("authors")
	insertDocs(t, src,
		bson.D{{Key: "_id", Value: 1}, {Key: "author", Value: "Dante"}, {Key: "title", Value: "Inferno"}},
		bson.D{{Key: "_id", Value: 2}, {Key: "author", Value: "Homer"}, {Key: "title", Value: "Iliad"}},
		bson.D{{Key: "_id", Value: 3}, {Key: "author", Value: "Dante"}, {Key: "title", Value: "Paradiso"}},
	)
	insertDocs(t, dst, bson.D{{Key: "_id", Value: "stale"}})
	if _, err := dst.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "n", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	pipeline := bson.A{
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$author"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		bson.D{{Key: "$out", Value: "authors"}},
	}
	if got := aggDocs(t, src, pipeline); len(got) != 0 {
		t.Fatalf("$out returned documents: %v", got)
	}
	sameDocs(t, "after $out", findAll(t, dst),
		bson.D{{Key: "_id", Value: "Dante"}, {Key: "n", Value: int32(2)}}, bson.D{{Key: "_id", Value: "Homer"}, {Key: "n", Value: int32(1)}})
	specs, err := dst.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[1].Name != "n_1" {
		t.Fatalf("indexes after $out: %v, want _id_ and n_1", specs)
	}

	// A failing pipeline leaves the target alone and no temp collection.
	code := aggErrCode(t, src, bson.A{
		bson.D{{Key: "$project", Value: bson.D{{Key: "x", Value: bson.D{{Key: "$add", Value: bson.A{"$author", 1}}}}}}},
		bson.D{{Key: "$out", Value: "authors"}},
	})
	if code != 16554 {
		t.Fatalf("failing $out: code %d, want 16554", code)
	}
	sameDocs(t, "after failed $out", findAll(t, dst),
		bson.D{{Key: "_id", Value: "Dante"}, {Key: "n", Value: int32(2)}}, bson.D{{Key: "_id", Value: "Homer"}, {Key: "n", Value: int32(1)}})
	if tmp := tmpCollections(t, db); len(tmp) != 0 {
		t.Fatalf("temporary collections left: %v", tmp)
	}

	// $out to another database.
	aggDocs(t, src, bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "_id", Value: 2}}}}, bson.D{{Key: "$out", Value: bson.D{{Key: "db", Value: "aggout2"}, {Key: "coll", Value: "x"}}}}})
	sameDocs(t, "other db", findAll(t, db.Client().Database("aggout2").Collection("x")),
		bson.D{{Key: "_id", Value: 2}, {Key: "author", Value: "Homer"}, {Key: "title", Value: "Iliad"}})

	// $out onto the collection being aggregated.
	aggDocs(t, dst, bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "n", Value: 1}}}}, bson.D{{Key: "$out", Value: "authors"}}})
	sameDocs(t, "self", findAll(t, dst), bson.D{{Key: "_id", Value: "Homer"}, {Key: "n", Value: int32(1)}})

	if code := aggErrCode(t, src, bson.A{bson.D{{Key: "$out", Value: "x"}}, bson.D{{Key: "$limit", Value: 1}}}); code != 40601 {
		t.Fatalf("$out not last: code %d, want 40601", code)
	}
}

func TestAggregateMerge(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("aggmerge")
	src, dst := db.Collection("sales"), db.Collection("totals")
	insertDocs(t, src,
		bson.D{{Key: "_id", Value: 1}, {Key: "region", Value: "eu"}, {Key: "amount", Value: 10}},
		bson.D{{Key: "_id", Value: 2}, {Key: "region", Value: "us"}, {Key: "amount", Value: 5}},
		bson.D{{Key: "_id", Value: 3}, {Key: "region", Value: "eu"}, {Key: "amount", Value: 1}},
	)
	insertDocs(t, dst, bson.D{{Key: "_id", Value: 100}, {Key: "region", Value: "eu"}, {Key: "total", Value: 1000}, {Key: "note", Value: "keep"}})
	group := bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$region"}, {Key: "total", Value: bson.D{{Key: "$sum", Value: "$amount"}}}}}}
	project := bson.D{{Key: "$project", Value: bson.D{{Key: "_id", Value: 0}, {Key: "region", Value: "$_id"}, {Key: "total", Value: 1}}}}
	merge := bson.D{{Key: "$merge", Value: bson.D{{Key: "into", Value: "totals"}, {Key: "on", Value: "region"}}}}

	if code := aggErrCode(t, src, bson.A{group, project, merge}); code != 51183 {
		t.Fatalf("$merge without unique index: code %d, want 51183", code)
	}
	if _, err := dst.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "region", Value: 1}}, Options: options.Index().SetUnique(true)}); err != nil {
		t.Fatal(err)
	}
	aggDocs(t, src, bson.A{group, project, merge})
	var eu bson.D
	if err := dst.FindOne(ctx, bson.D{{Key: "region", Value: "eu"}}).Decode(&eu); err != nil {
		t.Fatal(err)
	}
	sameDocs(t, "merged eu", []bson.D{eu}, bson.D{{Key: "_id", Value: 100}, {Key: "region", Value: "eu"}, {Key: "total", Value: int32(11)}, {Key: "note", Value: "keep"}})
	n, err := dst.CountDocuments(ctx, bson.D{})
	if err != nil || n != 2 {
		t.Fatalf("count after $merge: %d, %v; want 2", n, err)
	}

	// whenMatched pipeline with $$new; whenNotMatched discard.
	aggDocs(t, src, bson.A{group, project, bson.D{{Key: "$merge", Value: bson.D{
		{Key: "into", Value: "totals"}, {Key: "on", Value: "region"},
		{Key: "whenMatched", Value: bson.A{bson.D{{Key: "$set", Value: bson.D{{Key: "total", Value: bson.D{{Key: "$add", Value: bson.A{"$total", "$$new.total"}}}}}}}}},
		{Key: "whenNotMatched", Value: "discard"},
	}}}})
	if err := dst.FindOne(ctx, bson.D{{Key: "region", Value: "eu"}}).Decode(&eu); err != nil {
		t.Fatal(err)
	}
	if v := bsonutil.Get(eu, "total"); bsonutil.Compare(v, int32(22)) != 0 {
		t.Fatalf("pipeline merge: total %v, want 22", v)
	}

	// whenMatched fail reports a duplicate key.
	if code := aggErrCode(t, src, bson.A{group, project, bson.D{{Key: "$merge", Value: bson.D{{Key: "into", Value: "totals"}, {Key: "on", Value: "region"}, {Key: "whenMatched", Value: "fail"}}}}}); code != 11000 {
		t.Fatalf("whenMatched fail: code %d, want 11000", code)
	}
}

func TestAggregateLookupAndStages(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("agglookup")
	orders, items := db.Collection("orders"), db.Collection("inventory")
	insertDocs(t, orders,
		bson.D{{Key: "_id", Value: 1}, {Key: "item", Value: "almonds"}, {Key: "price", Value: 12}, {Key: "quantity", Value: 2}},
		bson.D{{Key: "_id", Value: 2}, {Key: "item", Value: "pecans"}, {Key: "price", Value: 20}, {Key: "quantity", Value: 1}},
		bson.D{{Key: "_id", Value: 3}},
	)
	insertDocs(t, items,
		bson.D{{Key: "_id", Value: 1}, {Key: "sku", Value: "almonds"}, {Key: "instock", Value: 120}},
		bson.D{{Key: "_id", Value: 2}, {Key: "sku", Value: "bread"}, {Key: "instock", Value: 80}},
		bson.D{{Key: "_id", Value: 3}, {Key: "sku", Value: "cashews"}, {Key: "instock", Value: 60}},
		bson.D{{Key: "_id", Value: 4}, {Key: "sku", Value: "pecans"}, {Key: "instock", Value: 70}},
		bson.D{{Key: "_id", Value: 5}, {Key: "sku", Value: nil}},
		bson.D{{Key: "_id", Value: 6}},
	)
	if _, err := items.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "sku", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	got := aggDocs(t, orders, bson.A{
		bson.D{{Key: "$lookup", Value: bson.D{{Key: "from", Value: "inventory"}, {Key: "localField", Value: "item"}, {Key: "foreignField", Value: "sku"}, {Key: "as", Value: "inv"}}}},
		bson.D{{Key: "$project", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$size", Value: "$inv"}}}}}},
	})
	sameDocs(t, "$lookup", got,
		bson.D{{Key: "_id", Value: 1}, {Key: "n", Value: int32(1)}}, bson.D{{Key: "_id", Value: 2}, {Key: "n", Value: int32(1)}}, bson.D{{Key: "_id", Value: 3}, {Key: "n", Value: int32(2)}})

	// Leading $sort + $limit pushed down to the planner.
	got = aggDocs(t, items, bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "instock", Value: bson.D{{Key: "$gt", Value: 0}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "instock", Value: -1}}}},
		bson.D{{Key: "$limit", Value: 2}},
		bson.D{{Key: "$project", Value: bson.D{{Key: "sku", Value: 1}}}},
	})
	sameDocs(t, "sort+limit", got, bson.D{{Key: "_id", Value: 1}, {Key: "sku", Value: "almonds"}}, bson.D{{Key: "_id", Value: 2}, {Key: "sku", Value: "bread"}})

	// $collStats and $indexStats.
	got = aggDocs(t, items, bson.A{bson.D{{Key: "$collStats", Value: bson.D{{Key: "count", Value: bson.D{}}, {Key: "storageStats", Value: bson.D{}}}}}})
	if len(got) != 1 || bsonutil.Compare(bsonutil.Get(got[0], "count"), 6) != 0 {
		t.Fatalf("$collStats: %v", got)
	}
	if ss, ok := bsonutil.Get(got[0], "storageStats").(bson.D); !ok || bsonutil.Compare(bsonutil.Get(ss, "nindexes"), 2) != 0 {
		t.Fatalf("$collStats storageStats: %v", got)
	}
	got = aggDocs(t, items, bson.A{bson.D{{Key: "$indexStats", Value: bson.D{}}}, bson.D{{Key: "$project", Value: bson.D{{Key: "_id", Value: 0}, {Key: "name", Value: 1}}}}})
	sameDocs(t, "$indexStats", got, bson.D{{Key: "name", Value: "_id_"}}, bson.D{{Key: "name", Value: "sku_1"}})
	if code := aggErrCode(t, items, bson.A{bson.D{{Key: "$match", Value: bson.D{}}}, bson.D{{Key: "$indexStats", Value: bson.D{}}}}); code != 40602 {
		t.Fatalf("$indexStats not first: code %d, want 40602", code)
	}

	// Spilling through the server: a $sort and a $group with allowDiskUse.
	got = aggDocs(t, items, bson.A{
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$type", Value: "$sku"}}}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	}, options.Aggregate().SetAllowDiskUse(true))
	sameDocs(t, "group by type", got,
		bson.D{{Key: "_id", Value: "missing"}, {Key: "n", Value: int32(1)}}, bson.D{{Key: "_id", Value: "null"}, {Key: "n", Value: int32(1)}}, bson.D{{Key: "_id", Value: "string"}, {Key: "n", Value: int32(4)}})
}

func TestAggregateExplain(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("aggexplain")
	insertDocs(t, db.Collection("c"), bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}})
	var res bson.D
	err := db.RunCommand(ctx, bson.D{
		{Key: "aggregate", Value: "c"},
		{Key: "pipeline", Value: bson.A{
			bson.D{{Key: "$match", Value: bson.D{{Key: "a", Value: 1}}}},
			bson.D{{Key: "$sort", Value: bson.D{{Key: "a", Value: -1}}}},
			bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$a"}}}},
		}},
		{Key: "explain", Value: true},
	}).Decode(&res)
	if err != nil {
		t.Fatal(err)
	}
	stages, ok := bsonutil.Get(res, "stages").(bson.A)
	if !ok || len(stages) != 2 {
		t.Fatalf("explain stages: %v", res)
	}
	cursor, _ := stages[0].(bson.D)
	cd, _ := bsonutil.Get(cursor, "$cursor").(bson.D)
	qp, _ := bsonutil.Get(cd, "queryPlanner").(bson.D)
	if qp == nil {
		t.Fatalf("explain: no $cursor.queryPlanner in %v", stages[0])
	}
	if bsonutil.Compare(bsonutil.Get(qp, "parsedQuery"), bson.D{{Key: "a", Value: bson.D{{Key: "$eq", Value: 1}}}}) != 0 {
		t.Fatalf("explain parsedQuery: %v", qp)
	}
	plan, _ := bsonutil.Get(qp, "winningPlan").(bson.D)
	if bsonutil.Get(plan, "stage") != "SORT" {
		t.Fatalf("explain winningPlan: %v, want a SORT over the scan", plan)
	}
	if g, _ := stages[1].(bson.D); len(g) != 1 || g[0].Key != "$group" {
		t.Fatalf("explain second stage: %v", stages[1])
	}
}

// TestAggregatePartialDecode runs pipelines through the server, where the
// collection source decodes only the fields the pipeline reads (through the
// planner for a leading $match, straight from the records otherwise), and
// compares each result with the same pipeline run in-process over the
// whole documents as find returns them.
func TestAggregatePartialDecode(t *testing.T) {
	ctx := context.Background()
	coll := connect(t).Database("aggpartial").Collection("c")
	insertDocs(t, coll,
		bson.D{{Key: "_id", Value: 1}, {Key: "g", Value: 1}, {Key: "v", Value: 2.5}, {Key: "a", Value: bson.D{{Key: "b", Value: 1}}}, {Key: "pad", Value: strings.Repeat("x", 300)}},
		bson.D{{Key: "_id", Value: 2}, {Key: "g", Value: int64(2)}, {Key: "a", Value: bson.A{bson.D{{Key: "b", Value: 2}}, bson.D{{Key: "c", Value: 3}}}}},
		bson.D{{Key: "_id", Value: 3}, {Key: "v", Value: "s"}, {Key: "bin", Value: bson.Binary{Data: []byte{1, 2, 3}}}},
		bson.D{{Key: "_id", Value: 4}, {Key: "g", Value: 1.0}, {Key: "v", Value: bson.NewDecimal128(0x3040000000000000, 12)}, {Key: "a", Value: nil}},
		bson.D{{Key: "_id", Value: 5}, {Key: "g", Value: "x"}, {Key: "v", Value: int32(-1)}, {Key: "a", Value: bson.D{{Key: "b", Value: bson.A{1, 2}}}}},
	)
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "g", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	whole := findAll(t, coll)
	d := func(k string, v any) bson.D { return bson.D{{Key: k, Value: v}} }
	cases := []struct {
		name     string
		pipeline []bson.D
	}{
		{"group whole collection", []bson.D{d("$group", bson.D{{Key: "_id", Value: "$g"}, {Key: "n", Value: d("$sum", 1)}})}},
		{"group by missing and dotted paths", []bson.D{d("$group", bson.D{{Key: "_id", Value: "$a.b"}, {Key: "m", Value: d("$push", "$missing")}, {Key: "v", Value: d("$push", "$v")}})}},
		{"indexed match then group", []bson.D{d("$match", d("g", d("$gte", 1))), d("$group", bson.D{{Key: "_id", Value: "$g"}, {Key: "s", Value: d("$sum", "$v")}})}},
		{"unindexed match then group", []bson.D{d("$match", d("v", d("$exists", true))), d("$group", bson.D{{Key: "_id", Value: nil}, {Key: "s", Value: d("$sum", "$v")}, {Key: "ids", Value: d("$push", "$_id")}})}},
		{"sort limit then group", []bson.D{d("$sort", d("_id", -1)), d("$limit", 3), d("$group", bson.D{{Key: "_id", Value: nil}, {Key: "ids", Value: d("$push", "$_id")}})}},
		{"$$ROOT", []bson.D{d("$group", bson.D{{Key: "_id", Value: "$g"}, {Key: "docs", Value: d("$push", "$$ROOT")}})}},
		{"count", []bson.D{d("$count", "n")}},
		{"sortByCount", []bson.D{d("$sortByCount", "$g")}},
		{"project then group", []bson.D{d("$project", bson.D{{Key: "bin", Value: 1}, {Key: "x", Value: d("$type", "$v")}}), d("$group", bson.D{{Key: "_id", Value: "$x"}, {Key: "b", Value: d("$push", "$bin")}})}},
		{"group then $$ROOT", []bson.D{d("$group", bson.D{{Key: "_id", Value: "$g"}}), d("$project", d("r", "$$ROOT"))}},
		{"no barrier", []bson.D{d("$match", d("_id", d("$gt", 2))), d("$project", d("pad", 0))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pa := make(bson.A, len(c.pipeline))
			for i, st := range c.pipeline {
				pa[i] = st
			}
			got := aggDocs(t, coll, pa)
			// Parse the stages as the server receives them (Go ints
			// travel as int32).
			stages := make([]bson.D, len(c.pipeline))
			for i, st := range c.pipeline {
				raw, err := bson.Marshal(st)
				if err != nil {
					t.Fatal(err)
				}
				if err := bson.Unmarshal(raw, &stages[i]); err != nil {
					t.Fatal(err)
				}
			}
			p, err := aggregate.Parse(stages, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Run(ctx, aggregate.SliceSource(slices.Clone(whole)))
			if err != nil {
				t.Fatal(err)
			}
			want, err := aggregate.ReadAll(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatal("no documents: the case tests nothing")
			}
			if len(got) != len(want) {
				t.Fatalf("got %d documents %v, want %v", len(got), got, want)
			}
			for i := range got {
				g, _ := bson.MarshalExtJSON(got[i], true, false)
				w, _ := bson.MarshalExtJSON(want[i], true, false)
				if string(g) != string(w) {
					t.Fatalf("document %d: got %s, want %s", i, g, w)
				}
			}
		})
	}
}

// benchClient starts a server and returns a client for benchmarks.
func benchClient(b *testing.B) *mongo.Client {
	b.Helper()
	uri, _ := servertest.Start(b)
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

func benchInsert(b *testing.B, coll *mongo.Collection, n int, mk func(i int) bson.D) {
	b.Helper()
	const batch = 5000
	for start := 0; start < n; start += batch {
		docs := make([]any, 0, batch)
		for i := start; i < start+batch && i < n; i++ {
			docs = append(docs, mk(i))
		}
		if _, err := coll.InsertMany(context.Background(), docs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAggregateMatchGroup: $match + $group over 100k documents.
func BenchmarkAggregateMatchGroup(b *testing.B) {
	coll := benchClient(b).Database("bench").Collection("events")
	benchInsert(b, coll, 100_000, func(i int) bson.D {
		return bson.D{{Key: "_id", Value: int32(i)}, {Key: "kind", Value: int32(i % 10)},
			{Key: "user", Value: int32(i % 1000)}, {Key: "amount", Value: float64(i%97) * 1.5}}
	})
	pipeline := bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "kind", Value: bson.D{{Key: "$lt", Value: 5}}}}}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$user"},
			{Key: "total", Value: bson.D{{Key: "$sum", Value: "$amount"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	}
	b.ResetTimer()
	for b.Loop() {
		cur, err := coll.Aggregate(context.Background(), pipeline)
		if err != nil {
			b.Fatal(err)
		}
		var out []bson.D
		if err := cur.All(context.Background(), &out); err != nil {
			b.Fatal(err)
		}
		if len(out) != 500 {
			b.Fatalf("got %d groups, want 500", len(out))
		}
	}
}

// BenchmarkAggregateLookup: $lookup between two 10k collections with an
// index on the foreign field.
func BenchmarkAggregateLookup(b *testing.B) {
	db := benchClient(b).Database("bench")
	orders, customers := db.Collection("orders"), db.Collection("customers")
	benchInsert(b, customers, 10_000, func(i int) bson.D {
		return bson.D{{Key: "_id", Value: int32(i)}, {Key: "cid", Value: fmt.Sprintf("c%05d", i)}, {Key: "name", Value: fmt.Sprintf("customer %d", i)}}
	})
	if _, err := customers.Indexes().CreateOne(context.Background(), mongo.IndexModel{Keys: bson.D{{Key: "cid", Value: 1}}}); err != nil {
		b.Fatal(err)
	}
	benchInsert(b, orders, 10_000, func(i int) bson.D {
		return bson.D{{Key: "_id", Value: int32(i)}, {Key: "cid", Value: fmt.Sprintf("c%05d", (i*7)%10_000)}, {Key: "qty", Value: int32(i % 5)}}
	})
	pipeline := bson.A{
		bson.D{{Key: "$lookup", Value: bson.D{{Key: "from", Value: "customers"}, {Key: "localField", Value: "cid"}, {Key: "foreignField", Value: "cid"}, {Key: "as", Value: "c"}}}},
		bson.D{{Key: "$unwind", Value: "$c"}},
		bson.D{{Key: "$count", Value: "n"}},
	}
	b.ResetTimer()
	for b.Loop() {
		cur, err := orders.Aggregate(context.Background(), pipeline)
		if err != nil {
			b.Fatal(err)
		}
		var out []bson.D
		if err := cur.All(context.Background(), &out); err != nil {
			b.Fatal(err)
		}
		if len(out) != 1 || bsonutil.Compare(bsonutil.Get(out[0], "n"), 10_000) != 0 {
			b.Fatalf("lookup result %v", out)
		}
	}
}

// benchUsertable loads n documents shaped like the load tool's usertable
// (cmd/cairn-load): {_id, i, g: i%100, n: 0, f0..f9: 100-byte strings},
// about 1 KB each.
func benchUsertable(b *testing.B, coll *mongo.Collection, n int) {
	b.Helper()
	fill := strings.Repeat("abcdefghij", 10)
	benchInsert(b, coll, n, func(i int) bson.D {
		d := bson.D{{Key: "_id", Value: int64(i)}, {Key: "i", Value: int64(i)},
			{Key: "g", Value: int32(i % 100)}, {Key: "n", Value: int32(0)}}
		for f := 0; f < 10; f++ {
			d = append(d, bson.E{Key: fmt.Sprintf("f%d", f), Value: fill})
		}
		return d
	})
}

// BenchmarkAggregateGroupWhole: the load tool's group workload, a $group
// by a 100-valued field with {$sum: 1} over 100k documents of ~1 KB.
func BenchmarkAggregateGroupWhole(b *testing.B) {
	coll := benchClient(b).Database("bench").Collection("usertable")
	benchUsertable(b, coll, 100_000)
	pipeline := bson.A{
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$g"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	}
	b.ResetTimer()
	for b.Loop() {
		cur, err := coll.Aggregate(context.Background(), pipeline)
		if err != nil {
			b.Fatal(err)
		}
		var out []bson.D
		if err := cur.All(context.Background(), &out); err != nil {
			b.Fatal(err)
		}
		if len(out) != 100 {
			b.Fatalf("got %d groups, want 100", len(out))
		}
	}
}
