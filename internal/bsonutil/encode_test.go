package bsonutil

import (
	"bytes"
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestMarshalMatchesDriver: Marshal must produce bson.Marshal's bytes, and
// fail where it fails.
func TestMarshalMatchesDriver(t *testing.T) {
	raw, _ := bson.Marshal(bson.D{{Key: "x", Value: int32(1)}, {Key: "y", Value: bson.A{"a", 2.5}}})
	dec, _ := bson.ParseDecimal128("1.25")
	oid := bson.NewObjectID()
	big := make(bson.A, 25)
	for i := range big {
		big[i] = int64(i)
	}
	tests := []struct {
		name string
		doc  bson.D
	}{
		{"empty", bson.D{}},
		{"scalars", bson.D{
			{Key: "null", Value: nil}, {Key: "s", Value: "héllo"}, {Key: "i32", Value: int32(-7)},
			{Key: "i64", Value: int64(math.MaxInt64)}, {Key: "f", Value: math.Inf(-1)}, {Key: "nan", Value: math.NaN()},
			{Key: "t", Value: true}, {Key: "oid", Value: oid}, {Key: "dt", Value: bson.DateTime(1552949630482)},
			{Key: "bin", Value: bson.Binary{Subtype: 4, Data: []byte{1, 2, 3}}}, {Key: "ts", Value: bson.Timestamp{T: 5, I: 6}},
			{Key: "dec", Value: dec}, {Key: "re", Value: bson.Regex{Pattern: "^a", Options: "xmi"}},
			{Key: "min", Value: bson.MinKey{}}, {Key: "max", Value: bson.MaxKey{}}, {Key: "undef", Value: bson.Undefined{}},
			{Key: "js", Value: bson.JavaScript("f()")}, {Key: "sym", Value: bson.Symbol("s")},
		}},
		{"nested", bson.D{{Key: "d", Value: bson.D{{Key: "a", Value: bson.A{bson.D{}, bson.A{}, bson.A{nil}}}}}, {Key: "big", Value: big}}},
		{"raw", bson.D{{Key: "cursor", Value: bson.D{{Key: "firstBatch", Value: bson.A{bson.Raw(raw), bson.Raw(raw)}}, {Key: "id", Value: int64(0)}}}, {Key: "ok", Value: 1.0}}},
		{"reflected types", bson.D{
			{Key: "int", Value: 5}, {Key: "bigint", Value: math.MaxInt64}, {Key: "time", Value: time.UnixMilli(1000).UTC()},
			{Key: "m", Value: bson.M{"k": "v"}}, {Key: "strs", Value: []string{"a", "b"}}, {Key: "u8", Value: uint8(3)},
			{Key: "cws", Value: bson.CodeWithScope{Code: "c", Scope: bson.D{{Key: "a", Value: int32(1)}}}},
			{Key: "dbp", Value: bson.DBPointer{DB: "db.c", Pointer: oid}}, {Key: "f32", Value: float32(1.5)},
		}},
		{"NUL in key", bson.D{{Key: "a\x00b", Value: int32(1)}}},
		{"NUL in nested key", bson.D{{Key: "a", Value: bson.D{{Key: "\x00", Value: int32(1)}}}}},
		{"NUL in regex", bson.D{{Key: "r", Value: bson.Regex{Pattern: "a\x00"}}}},
		{"malformed raw", bson.D{{Key: "r", Value: bson.Raw{5, 0, 0, 0, 1}}}},
		{"unsupported", bson.D{{Key: "c", Value: make(chan int)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, werr := bson.Marshal(tt.doc)
			got, err := Marshal(tt.doc)
			if (werr != nil) != (err != nil) {
				t.Fatalf("Marshal error %v, bson.Marshal error %v", err, werr)
			}
			if werr == nil && !bytes.Equal(got, want) {
				t.Fatalf("Marshal =\n%x\nbson.Marshal =\n%x", got, want)
			}
		})
	}
}

func BenchmarkMarshalReply(b *testing.B) {
	doc := bson.D{{Key: "_id", Value: int64(1)}, {Key: "i", Value: int64(1)}}
	for i := 0; i < 10; i++ {
		doc = append(doc, bson.E{Key: "f" + string(rune('0'+i)), Value: string(make([]byte, 100))})
	}
	raw, _ := bson.Marshal(doc)
	batch := make(bson.A, 20)
	for i := range batch {
		batch[i] = bson.Raw(raw)
	}
	reply := bson.D{{Key: "cursor", Value: bson.D{{Key: "firstBatch", Value: batch}, {Key: "id", Value: int64(0)}, {Key: "ns", Value: "db.c"}}}, {Key: "ok", Value: 1.0}}
	b.Run("bsonutil", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Marshal(reply); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("driver", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := bson.Marshal(reply); err != nil {
				b.Fatal(err)
			}
		}
	})
}
