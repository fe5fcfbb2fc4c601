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

func mongoIndex(field string) mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: field, Value: int32(1)}}}
}

func TestTimeseriesCreateAndList(t *testing.T) {
	db := connect(t).Database("ts")
	for _, c := range []struct {
		name string
		ts   bson.D
		want bson.D // options.timeseries as listCollections reports it
	}{
		{"all", bson.D{{Key: "timeField", Value: "time"}, {Key: "metaField", Value: "meta"}, {Key: "granularity", Value: "minutes"}},
			bson.D{{Key: "timeField", Value: "time"}, {Key: "metaField", Value: "meta"}, {Key: "granularity", Value: "minutes"}, {Key: "bucketMaxSpanSeconds", Value: int32(86400)}}},
		{"defaults", bson.D{{Key: "timeField", Value: "time"}},
			bson.D{{Key: "timeField", Value: "time"}, {Key: "granularity", Value: "seconds"}, {Key: "bucketMaxSpanSeconds", Value: int32(3600)}}},
		{"bucketing", bson.D{{Key: "timeField", Value: "time"}, {Key: "bucketMaxSpanSeconds", Value: int32(600)}, {Key: "bucketRoundingSeconds", Value: int32(600)}},
			bson.D{{Key: "timeField", Value: "time"}, {Key: "bucketRoundingSeconds", Value: int32(600)}, {Key: "bucketMaxSpanSeconds", Value: int32(600)}}},
	} {
		runDoc(t, db, bson.D{{Key: "create", Value: c.name}, {Key: "timeseries", Value: c.ts}, {Key: "expireAfterSeconds", Value: int32(604800)}})
		typ, opts := collectionOptions(t, db, c.name)
		got, _ := bsonutil.Get(opts, "timeseries").(bson.D)
		if typ != "timeseries" || bsonutil.Compare(got, c.want) != 0 || len(got) != len(c.want) {
			t.Errorf("%s: type %q, options %v; want timeseries %v", c.name, typ, opts, c.want)
		}
		if bsonutil.Compare(bsonutil.Get(opts, "expireAfterSeconds"), int32(604800)) != 0 {
			t.Errorf("%s: expireAfterSeconds not reported: %v", c.name, opts)
		}
		// Creating it again with the same options is a no-op.
		runDoc(t, db, bson.D{{Key: "create", Value: c.name}, {Key: "timeseries", Value: c.ts}, {Key: "expireAfterSeconds", Value: int32(604800)}})
	}
	// A filter on type finds them; they have no indexes.
	names, err := db.ListCollectionNames(context.Background(), bson.D{{Key: "type", Value: "timeseries"}})
	if err != nil || len(names) != 3 {
		t.Fatalf("time series collections = %v, %v", names, err)
	}
	cur, err := db.Collection("all").Indexes().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ixs []bson.D
	if err := cur.All(context.Background(), &ixs); err != nil || len(ixs) != 0 {
		t.Fatalf("indexes of a time series collection = %v, %v", ixs, err)
	}

	for _, c := range []struct {
		ts   any
		code int32
	}{
		{"time", 14},
		{bson.D{{Key: "metaField", Value: "m"}}, 40414},
		{bson.D{{Key: "timeField", Value: int32(1)}}, 14},
		{bson.D{{Key: "timeField", Value: "t"}, {Key: "metaField", Value: "t"}}, 72},
		{bson.D{{Key: "timeField", Value: "t"}, {Key: "metaField", Value: "_id"}}, 72},
		{bson.D{{Key: "timeField", Value: "t"}, {Key: "granularity", Value: "days"}}, 2},
		{bson.D{{Key: "timeField", Value: "t"}, {Key: "other", Value: 1}}, 40415},
		{bson.D{{Key: "timeField", Value: "t"}, {Key: "granularity", Value: "hours"}, {Key: "bucketMaxSpanSeconds", Value: int32(60)}, {Key: "bucketRoundingSeconds", Value: int32(60)}}, 72},
		{bson.D{{Key: "timeField", Value: "t"}, {Key: "bucketMaxSpanSeconds", Value: int32(60)}}, 72},
		{bson.D{{Key: "timeField", Value: "t"}, {Key: "bucketMaxSpanSeconds", Value: int32(60)}, {Key: "bucketRoundingSeconds", Value: int32(30)}}, 72},
		{bson.D{{Key: "timeField", Value: "t"}, {Key: "bucketMaxSpanSeconds", Value: int32(0)}, {Key: "bucketRoundingSeconds", Value: int32(0)}}, 51024},
	} {
		if code, _ := runErr(t, db, bson.D{{Key: "create", Value: "bad"}, {Key: "timeseries", Value: c.ts}}); code != c.code {
			t.Errorf("timeseries %v: code %d, want %d", c.ts, code, c.code)
		}
	}
}

func TestTimeseriesData(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("ts")
	runDoc(t, db, bson.D{{Key: "create", Value: "m"}, {Key: "timeseries", Value: bson.D{{Key: "timeField", Value: "time"}, {Key: "metaField", Value: "meta"}}}})
	coll := db.Collection("m")
	base := time.Date(2019, 3, 18, 22, 53, 50, 0, time.UTC)
	at := func(s int) bson.DateTime { return bson.NewDateTimeFromTime(base.Add(time.Duration(s) * time.Second)) }
	// Two measurements with the same _id are both kept.
	insertDocs(t, coll,
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "time", Value: at(2)}, {Key: "meta", Value: "a"}, {Key: "v", Value: int32(10)}},
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "time", Value: at(1)}, {Key: "meta", Value: "b"}, {Key: "v", Value: int32(20)}},
		bson.D{{Key: "time", Value: at(3)}, {Key: "meta", Value: "a"}, {Key: "v", Value: int32(30)}})
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "time", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.D
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 || bsonutil.Get(docs[0], "meta") != "b" || bsonutil.Get(docs[1], "meta") != "a" {
		t.Fatalf("sorted by time: %v", docs)
	}
	if _, ok := bsonutil.Get(docs[2], "_id").(bson.ObjectID); !ok {
		t.Fatalf("no generated _id: %v", docs[2])
	}
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: int32(1)}}); err != nil || n != 2 {
		t.Fatalf("documents with _id 1: %d, %v", n, err)
	}

	// The time field must be a date.
	for _, d := range []bson.D{{{Key: "meta", Value: "a"}}, {{Key: "time", Value: "yesterday"}}} {
		if _, err := coll.InsertOne(ctx, d); writeErrCode(t, err) != 2 {
			t.Fatalf("insert %v: %v", d, err)
		}
	}

	// Aggregation, updates and deletes work on the measurements.
	sums := aggDocs(t, coll, bson.A{
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$meta"}, {Key: "total", Value: bson.D{{Key: "$sum", Value: "$v"}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	if len(sums) != 2 || bsonutil.Compare(bsonutil.Get(sums[0], "total"), int32(40)) != 0 {
		t.Fatalf("$group by meta: %v", sums)
	}
	res, err := coll.UpdateMany(ctx, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "v", Value: int32(1)}}}})
	if err != nil || res.ModifiedCount != 2 {
		t.Fatalf("updateMany of both _id 1 measurements: %+v, %v", res, err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "meta", Value: "b"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "time", Value: int32(0)}}}}); writeErrCode(t, err) != 2 {
		t.Fatalf("update making time a non-date: %v", err)
	}
	del, err := coll.DeleteMany(ctx, bson.D{{Key: "meta", Value: "a"}})
	if err != nil || del.DeletedCount != 2 {
		t.Fatalf("deleteMany: %+v, %v", del, err)
	}
	var left bson.D
	if err := coll.FindOne(ctx, bson.D{}).Decode(&left); err != nil || bsonutil.Compare(bsonutil.Get(left, "v"), int32(21)) != 0 {
		t.Fatalf("remaining measurement: %v, %v", left, err)
	}
	res2 := runDoc(t, db, bson.D{{Key: "validate", Value: "m"}})
	if v, _ := bsonutil.Get(res2, "valid").(bool); !v {
		t.Fatalf("validate: %v", res2)
	}
	// A secondary index works on the measurements.
	if _, err := coll.Indexes().CreateOne(ctx, mongoIndex("meta")); err != nil {
		t.Fatal(err)
	}
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "meta", Value: "b"}}); err != nil || n != 1 {
		t.Fatalf("count through the meta index: %d, %v", n, err)
	}
}
