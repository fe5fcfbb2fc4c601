package index

import (
	"bytes"
	"math"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestDecodeValue(t *testing.T) {
	oid, _ := bson.ObjectIDFromHex("0102030405060708090a0b0c")
	cases := []struct {
		name  string
		v     any
		exact bool
	}{
		{"minkey", bson.MinKey{}, true},
		{"maxkey", bson.MaxKey{}, true},
		{"null", nil, false},
		{"int32", int32(-7), false},
		{"double", 2.5, false},
		{"NaN", math.NaN(), false},
		{"+Inf", math.Inf(1), false},
		{"big int64", int64(1<<62 + 1), false},
		{"decimal 0.1", dec("0.1"), false},
		{"huge decimal", dec("1E+400"), false},
		{"huge negative decimal", dec("-3.5E+400"), false},
		{"string", "a\x00b", true},
		{"empty string", "", true},
		{"object", bson.D{{Key: "a", Value: "x"}, {Key: "b", Value: bson.D{}}}, true},
		{"object with number", bson.D{{Key: "a", Value: int32(1)}}, false},
		{"array", bson.A{"x", true, bson.A{}}, true},
		{"binary", bson.Binary{Subtype: 4, Data: []byte{1, 2}}, true},
		{"objectid", oid, true},
		{"false", false, true},
		{"true", true, true},
		{"date", bson.DateTime(-12345), true},
		{"timestamp", bson.Timestamp{T: 5, I: 6}, true},
		{"regex", bson.Regex{Pattern: "^a", Options: "i"}, true},
		{"dbpointer", bson.DBPointer{DB: "db.c", Pointer: oid}, true},
		{"code", bson.JavaScript("x()"), true},
		{"code with scope", bson.CodeWithScope{Code: "f", Scope: bson.D{{Key: "s", Value: "t"}}}, true},
	}
	for _, tc := range cases {
		for _, desc := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				b := AppendValue(nil, tc.v, desc)
				b = append(b, 0xAB, 0xCD) // a suffix that must be left alone
				got, n, exact, err := DecodeValue(b, desc)
				if err != nil {
					t.Fatalf("desc=%v: %v", desc, err)
				}
				if n != len(b)-2 {
					t.Fatalf("desc=%v: read %d bytes, want %d", desc, n, len(b)-2)
				}
				if exact != tc.exact {
					t.Fatalf("desc=%v: exact %v, want %v", desc, exact, tc.exact)
				}
				if bsonutil.Compare(got, tc.v) != 0 {
					t.Fatalf("desc=%v: decoded %#v, want %#v", desc, got, tc.v)
				}
				if !bytes.Equal(AppendValue(nil, got, desc), b[:n]) {
					t.Fatalf("desc=%v: re-encoding differs", desc)
				}
				if l, err := ValueLen(b, desc); err != nil || l != n {
					t.Fatalf("desc=%v: ValueLen %d, %v; want %d", desc, l, err, n)
				}
			})
		}
	}
}

func TestSplitKeyAndCorrupt(t *testing.T) {
	desc := []bool{false, true}
	key := AppendKey(nil, []any{"a", int32(3)}, desc)
	id := AppendValue(nil, int32(9), false)
	fields, rest, err := SplitKey(append(key, id...), desc)
	if err != nil || len(fields) != 2 || !bytes.Equal(rest, id) {
		t.Fatalf("SplitKey = %v, %v, %v", fields, rest, err)
	}
	for _, bad := range [][]byte{nil, {tagString, 'a'}, {tagNumber, 1, 2}, {0x99}, {tagObject, 3}} {
		if _, _, _, err := DecodeValue(bad, false); err == nil {
			t.Errorf("DecodeValue(%x) succeeded, want an error", bad)
		}
	}
}
