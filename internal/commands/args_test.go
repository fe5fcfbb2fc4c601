package commands

import (
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
)

// TestWriteOptions maps write concerns to storage durability as the
// manual's "Acknowledgment Behavior" table does for a standalone mongod:
// w:1 (the default) is acknowledged once applied, j:true once in the
// on-disk journal, w:"majority" with j unspecified in the journal too.
// Cairn's "applied" is stronger than MongoDB's in-memory: the commit is
// in the log file (Written), so it survives kill -9.
func TestWriteOptions(t *testing.T) {
	synced := storage.UpdateOptions{}
	written := storage.UpdateOptions{Written: true}
	buffered := storage.UpdateOptions{NoSync: true}
	for _, tc := range []struct {
		name  string
		wc    any // nil: no writeConcern field
		want  storage.UpdateOptions
		unack bool
	}{
		{"absent", nil, written, false},
		{"empty", bson.D{}, written, false},
		{"w1", bson.D{{Key: "w", Value: int32(1)}}, written, false},
		{"w1.0", bson.D{{Key: "w", Value: 1.0}}, written, false},
		{"w1 j:false", bson.D{{Key: "w", Value: int32(1)}, {Key: "j", Value: false}}, written, false},
		{"w1 j:true", bson.D{{Key: "w", Value: int32(1)}, {Key: "j", Value: true}}, synced, false},
		{"j:true", bson.D{{Key: "j", Value: true}}, synced, false},
		{"j:1", bson.D{{Key: "j", Value: int32(1)}}, synced, false},
		{"j:null", bson.D{{Key: "j", Value: bson.Null{}}}, written, false},
		{"majority", bson.D{{Key: "w", Value: "majority"}}, synced, false},
		{"majority j:false", bson.D{{Key: "w", Value: "majority"}, {Key: "j", Value: false}}, written, false},
		{"majority wtimeout", bson.D{{Key: "w", Value: "majority"}, {Key: "wtimeout", Value: int32(100)}}, synced, false},
		{"w0", bson.D{{Key: "w", Value: int32(0)}}, buffered, true},
		{"w0 j:false", bson.D{{Key: "w", Value: int64(0)}, {Key: "j", Value: false}}, buffered, true},
		{"w0 j:true", bson.D{{Key: "w", Value: int32(0)}, {Key: "j", Value: true}}, synced, false},
		{"tag", bson.D{{Key: "w", Value: "dc1"}}, written, false},
		{"w50", bson.D{{Key: "w", Value: int32(50)}}, written, false},
		{"fsync:true", bson.D{{Key: "fsync", Value: true}}, synced, false},
		{"fsync:false", bson.D{{Key: "fsync", Value: false}}, written, false},
		{"j:true fsync:false", bson.D{{Key: "j", Value: true}, {Key: "fsync", Value: false}}, synced, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bson.D{{Key: "insert", Value: "c"}}
			if tc.wc != nil {
				body = append(body, bson.E{Key: "writeConcern", Value: tc.wc})
			}
			got, unack, err := writeOptions(&Request{DB: "test", Name: "insert", Body: body})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || unack != tc.unack {
				t.Fatalf("writeOptions = %+v, unacknowledged %v; want %+v, %v", got, unack, tc.want, tc.unack)
			}
		})
	}
	if _, _, err := writeOptions(&Request{DB: "test", Name: "insert", Body: bson.D{{Key: "insert", Value: "c"}, {Key: "writeConcern", Value: "x"}}}); err == nil {
		t.Fatal("a writeConcern that is not a document was accepted")
	}
}

// TestWriteConcernRefused checks the write concerns mongod's parser
// refuses, with its codes and messages (write_concern_options.cpp).
func TestWriteConcernRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		wc   bson.D
		msg  string
	}{
		{"j string", bson.D{{Key: "j", Value: "yes"}}, "j must be numeric or a boolean value"},
		{"j document", bson.D{{Key: "w", Value: int32(1)}, {Key: "j", Value: bson.D{}}}, "j must be numeric or a boolean value"},
		{"fsync string", bson.D{{Key: "fsync", Value: "x"}}, "fsync must be numeric or a boolean value"},
		{"j and fsync", bson.D{{Key: "j", Value: true}, {Key: "fsync", Value: int32(1)}}, "fsync and j options cannot be used together"},
		{"w negative", bson.D{{Key: "w", Value: int32(-1)}}, "w has to be a non-negative number and not greater than 50"},
		{"w 51", bson.D{{Key: "w", Value: 51.0}}, "w has to be a non-negative number and not greater than 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bson.D{{Key: "insert", Value: "c"}, {Key: "writeConcern", Value: tc.wc}}
			_, _, err := writeOptions(&Request{DB: "test", Name: "insert", Body: body})
			var me *mongoerr.Error
			if !errors.As(err, &me) || me.Code != mongoerr.FailedToParse || me.Msg != tc.msg {
				t.Fatalf("writeOptions error = %v, want FailedToParse %q", err, tc.msg)
			}
		})
	}
}
