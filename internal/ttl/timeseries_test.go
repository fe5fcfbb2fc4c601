package ttl_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cairndb/cairn/internal/ttl"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestPassTimeseries(t *testing.T) {
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
	for _, c := range []struct {
		name string
		opts bson.D
	}{
		{"expiring", bson.D{{Key: "expireAfterSeconds", Value: int32(3600)}}},
		{"kept", nil},
	} {
		if _, err := cat.Create(ctx, "db", c.name, catalog.CreateOptions{Options: c.opts, TimeField: "t"}); err != nil {
			t.Fatal(err)
		}
		err = cat.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
			coll := w.Collection("db", c.name)
			// Two measurements share an _id; only the old one expires.
			for _, d := range []bson.D{
				{{Key: "_id", Value: int32(1)}, {Key: "t", Value: at(-2 * time.Hour)}},
				{{Key: "_id", Value: int32(1)}, {Key: "t", Value: at(-30 * time.Minute)}},
			} {
				if err := w.Insert(coll, d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := ttl.Pass(ctx, cat, now)
	if err != nil || n != 1 {
		t.Fatalf("Pass deleted %d, %v; want 1", n, err)
	}
	left := func(name string) []bson.DateTime {
		snap, _ := cat.Snapshot()
		defer snap.Close()
		it, err := snap.Scan(cat.Collection("db", name), false)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []bson.DateTime
		for {
			raw, err := it.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, bson.DateTime(raw.Lookup("t").DateTime()))
		}
	}
	if got := left("expiring"); len(got) != 1 || got[0] != at(-30*time.Minute) {
		t.Errorf("expiring collection keeps %v, want only the fresh measurement", got)
	}
	if got := left("kept"); len(got) != 2 {
		t.Errorf("collection without expireAfterSeconds keeps %d measurements, want 2", len(got))
	}
}
