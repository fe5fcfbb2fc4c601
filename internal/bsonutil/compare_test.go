package bsonutil

import (
	"math"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func dec(s string) bson.Decimal128 {
	d, err := bson.ParseDecimal128(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestCompare(t *testing.T) {
	oid1, _ := bson.ObjectIDFromHex("000000000000000000000001")
	oid2, _ := bson.ObjectIDFromHex("000000000000000000000002")
	cases := []struct {
		name string
		a, b any
		want int
	}{
		{"minkey below null", bson.MinKey{}, nil, -1},
		{"null equals missing", nil, Missing, 0},
		{"null equals undefined", bson.Null{}, bson.Undefined{}, 0},
		{"null below number", nil, int32(0), -1},
		{"int32 vs int64 equal", int32(1), int64(1), 0},
		{"int vs double equal", int32(1), 1.0, 0},
		{"int vs decimal equal", int64(1), dec("1.0"), 0},
		{"double vs decimal", 1.5, dec("1.25"), 1},
		{"int64 vs double fraction", int64(3), 3.5, -1},
		{"big int64 vs double", int64(9007199254740993), 9007199254740992.0, 1},
		{"NaN below -inf", math.NaN(), math.Inf(-1), -1},
		{"NaN equals NaN", math.NaN(), math.NaN(), 0},
		{"decimal NaN equals double NaN", dec("NaN"), math.NaN(), 0},
		{"-0 equals 0", math.Copysign(0, -1), int32(0), 0},
		{"number below string", int64(100), "a", -1},
		{"symbol equals string", bson.Symbol("a"), "a", 0},
		{"string order", "a", "b", -1},
		{"string below object", "z", bson.D{}, -1},
		{"object below array", bson.D{{Key: "a", Value: 1}}, bson.A{}, -1},
		{"array below binary", bson.A{int32(1)}, bson.Binary{Data: []byte{1}}, -1},
		{"binary by length first", bson.Binary{Data: []byte{9}}, bson.Binary{Data: []byte{1, 1}}, -1},
		{"binary below objectid", bson.Binary{}, oid1, -1},
		{"objectid order", oid1, oid2, -1},
		{"objectid below bool", oid2, false, -1},
		{"false below true", false, true, -1},
		{"bool below date", true, bson.DateTime(0), -1},
		{"date below timestamp", bson.DateTime(1e12), bson.Timestamp{T: 1}, -1},
		{"timestamp below regex", bson.Timestamp{T: 1}, bson.Regex{Pattern: "a"}, -1},
		{"regex below maxkey", bson.Regex{Pattern: "a"}, bson.MaxKey{}, -1},
		{"doc field by field", bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "a", Value: int32(2)}}, -1},
		{"doc shorter first", bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "a", Value: int32(1)}, {Key: "b", Value: int32(0)}}, -1},
		{"doc value type before name", bson.D{{Key: "b", Value: int32(1)}}, bson.D{{Key: "a", Value: "x"}}, -1},
		{"doc name order", bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "b", Value: int32(1)}}, -1},
		{"array elementwise", bson.A{int32(1), int32(2)}, bson.A{int32(1), int32(3)}, -1},
		{"array numeric cross type", bson.A{int32(1)}, bson.A{1.0}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Compare(c.a, c.b); got != c.want {
				t.Errorf("Compare(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
			}
			if got := Compare(c.b, c.a); got != -c.want {
				t.Errorf("Compare(%v, %v) = %d, want %d (reversed)", c.b, c.a, got, -c.want)
			}
		})
	}
}

func TestTypeNames(t *testing.T) {
	cases := []struct {
		v    any
		name string
		num  int
	}{
		{1.5, "double", 1}, {"s", "string", 2}, {bson.D{}, "object", 3}, {bson.A{}, "array", 4},
		{bson.Binary{}, "binData", 5}, {bson.ObjectID{}, "objectId", 7}, {true, "bool", 8},
		{bson.DateTime(0), "date", 9}, {nil, "null", 10}, {bson.Regex{}, "regex", 11},
		{int32(1), "int", 16}, {bson.Timestamp{}, "timestamp", 17}, {int64(1), "long", 18},
		{dec("1"), "decimal", 19}, {bson.MinKey{}, "minKey", -1}, {bson.MaxKey{}, "maxKey", 127},
	}
	for _, c := range cases {
		if got := TypeName(c.v); got != c.name {
			t.Errorf("TypeName(%v) = %q, want %q", c.v, got, c.name)
		}
		if got := TypeNumber(c.v); got != c.num {
			t.Errorf("TypeNumber(%v) = %d, want %d", c.v, got, c.num)
		}
		if TypeAliases[c.name] != c.num {
			t.Errorf("TypeAliases[%q] = %d, want %d", c.name, TypeAliases[c.name], c.num)
		}
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{bson.D{{Key: "_id", Value: int32(1)}}, "{ _id: 1 }"},
		{bson.D{{Key: "a", Value: "x"}, {Key: "b", Value: bson.A{int64(1), 2.5}}}, `{ a: "x", b: [ 1, 2.5 ] }`},
		{bson.D{}, "{}"},
		{nil, "null"},
	}
	for _, c := range cases {
		if got := Format(c.v); got != c.want {
			t.Errorf("Format(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestToInt64(t *testing.T) {
	cases := []struct {
		v  any
		n  int64
		ok bool
	}{
		{int32(5), 5, true}, {2.0, 2, true}, {2.5, 0, false}, {dec("7"), 7, true}, {dec("7.5"), 0, false}, {"x", 0, false},
	}
	for _, c := range cases {
		n, ok := ToInt64(c.v)
		if n != c.n || ok != c.ok {
			t.Errorf("ToInt64(%v) = %d, %v; want %d, %v", c.v, n, ok, c.n, c.ok)
		}
	}
}
