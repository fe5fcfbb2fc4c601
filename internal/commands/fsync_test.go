package commands_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestFsync drives the fsync command through the driver: it answers
// {numFiles: 1, ok: 1} on admin, refuses the lock form with
// CommandNotSupported (115), and other databases with Unauthorized (13),
// as mongod does for an admin-only command. (That it makes writes durable
// is TestSyncMakesDurable in internal/storage/pebble.)
func TestFsync(t *testing.T) {
	ctx := context.Background()
	client := connect(t)
	if _, err := client.Database("test").Collection("c").InsertOne(ctx, bson.D{{Key: "x", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	var out bson.D
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "fsync", Value: 1}}).Decode(&out); err != nil {
		t.Fatal(err)
	}
	want := bson.D{{Key: "numFiles", Value: int32(1)}, {Key: "ok", Value: 1.0}}
	if len(out) != len(want) || out[0] != want[0] || out[1] != want[1] {
		t.Fatalf("fsync replied %v, want %v", out, want)
	}
	for _, tc := range []struct {
		db       string
		cmd      bson.D
		code     int32
		codeName string
	}{
		{"admin", bson.D{{Key: "fsync", Value: 1}, {Key: "lock", Value: true}}, 115, "CommandNotSupported"},
		{"test", bson.D{{Key: "fsync", Value: 1}}, 13, "Unauthorized"},
	} {
		code, name := runErr(t, client.Database(tc.db), tc.cmd)
		if code != tc.code || name != tc.codeName {
			t.Errorf("%v on %s: error %d %s, want %d %s", tc.cmd, tc.db, code, name, tc.code, tc.codeName)
		}
	}
	// lock: false is a plain fsync.
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "fsync", Value: 1}, {Key: "lock", Value: false}}).Err(); err != nil {
		t.Fatalf("fsync with lock: false: %v", err)
	}
}

// TestWriteConcernErrors sends write concerns that mongod refuses, as
// raw commands (the driver would refuse them itself): each write command
// answers FailedToParse (9) and writes nothing.
func TestWriteConcernErrors(t *testing.T) {
	ctx := context.Background()
	client := connect(t)
	db := client.Database("test")
	for _, wc := range []bson.D{
		{{Key: "j", Value: "yes"}},
		{{Key: "fsync", Value: true}, {Key: "j", Value: true}},
		{{Key: "w", Value: int32(-1)}},
	} {
		for _, cmd := range []bson.D{
			{{Key: "insert", Value: "wc"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 1}}}}},
			{{Key: "update", Value: "wc"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}}}, {Key: "upsert", Value: true}}}}},
			{{Key: "delete", Value: "wc"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}, {Key: "limit", Value: 0}}}}},
		} {
			cmd = append(cmd, bson.E{Key: "writeConcern", Value: wc})
			if code, name := runErr(t, db, cmd); code != 9 || name != "FailedToParse" {
				t.Errorf("%v: error %d %s, want 9 FailedToParse", cmd, code, name)
			}
		}
	}
	n, err := db.Collection("wc").CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d documents written by refused commands, want 0", n)
	}
	// fsync: true is accepted, and waits like j: true.
	err = db.RunCommand(ctx, bson.D{{Key: "insert", Value: "wc"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 2}}}},
		{Key: "writeConcern", Value: bson.D{{Key: "fsync", Value: true}}}}).Err()
	if err != nil {
		t.Fatalf("insert with fsync: true: %v", err)
	}
}
