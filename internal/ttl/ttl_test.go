package ttl_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cairndb/cairn/internal/ttl"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestPass(t *testing.T) {
	ctx := context.Background()
	eng, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cat, err := catalog.Open(eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) bson.DateTime { return bson.NewDateTimeFromTime(now.Add(d)) }
	if _, _, _, err := cat.CreateIndexes(ctx, "db", "c", []bson.D{{
		{Key: "key", Value: bson.D{{Key: "t", Value: int32(1)}}}, {Key: "name", Value: "t_1"}, {Key: "expireAfterSeconds", Value: int32(3600)},
	}}); err != nil {
		t.Fatal(err)
	}
	docs := []bson.D{
		{{Key: "_id", Value: "old"}, {Key: "t", Value: at(-2 * time.Hour)}},
		{{Key: "_id", Value: "fresh"}, {Key: "t", Value: at(-30 * time.Minute)}},
		{{Key: "_id", Value: "array"}, {Key: "t", Value: bson.A{at(time.Hour), at(-3 * time.Hour)}}},
		{{Key: "_id", Value: "notadate"}, {Key: "t", Value: int64(0)}},
		{{Key: "_id", Value: "missing"}},
	}
	err = cat.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
		coll := w.Collection("db", "c")
		for _, d := range docs {
			if err := w.Insert(coll, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := ttl.Pass(ctx, cat, now)
	if err != nil || n != 2 {
		t.Fatalf("Pass deleted %d, %v; want 2 (old, array)", n, err)
	}
	snap, _ := cat.Snapshot()
	defer snap.Close()
	coll := cat.Collection("db", "c")
	for _, id := range []string{"fresh", "notadate", "missing"} {
		if raw, _ := snap.FindID(coll, id); raw == nil {
			t.Errorf("%s was deleted", id)
		}
	}
	for _, id := range []string{"old", "array"} {
		if raw, _ := snap.FindID(coll, id); raw != nil {
			t.Errorf("%s was not deleted", id)
		}
	}
}
