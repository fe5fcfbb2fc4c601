package update

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestUpsertSeed(t *testing.T) {
	tests := []struct {
		name, filter, want string
		code               int32
		msg                string
	}{
		{name: "plain equality", filter: `{"a": 1, "b": {"$gt": 2}}`, want: `{"a": 1}`},
		{name: "id first and dotted paths", filter: `{"x.z": 2, "_id": 5, "x.y": 1}`, want: `{"_id": 5, "x": {"y": 1, "z": 2}}`},
		{name: "fields sorted by path", filter: `{"b": 1, "a": 2}`, want: `{"a": 2, "b": 1}`},
		{name: "eq operator", filter: `{"a": {"$eq": {"b": 1}}}`, want: `{"a": {"b": 1}}`},
		{name: "single in", filter: `{"a": {"$in": [3]}}`, want: `{"a": 3}`},
		{name: "multi in", filter: `{"a": {"$in": [3, 4]}}`, want: `{}`},
		{name: "and", filter: `{"$and": [{"a": 1}, {"b": {"$eq": 2}}]}`, want: `{"a": 1, "b": 2}`},
		{name: "nested and", filter: `{"$and": [{"$and": [{"a": 1}]}, {"c": 3}]}`, want: `{"a": 1, "c": 3}`},
		{name: "or with two clauses", filter: `{"$or": [{"a": 1}, {"b": 2}]}`, want: `{}`},
		{name: "or with one clause", filter: `{"$or": [{"a": 1}]}`, want: `{"a": 1}`},
		{name: "regex is not equality", filter: `{"a": {"$regularExpression": {"pattern": "x", "options": ""}}}`, want: `{}`},
		{name: "literal document", filter: `{"a": {"b": 1, "c": [1, 2]}}`, want: `{"a": {"b": 1, "c": [1, 2]}}`},
		{name: "array value", filter: `{"tags": ["x", "y"]}`, want: `{"tags": ["x", "y"]}`},
		{name: "null value", filter: `{"a": null}`, want: `{"a": null}`},
		{name: "empty filter", filter: `{}`, want: `{}`},
		{name: "expr ignored", filter: `{"$expr": {"$eq": ["$a", 1]}, "b": 2}`, want: `{"b": 2}`},
		{name: "prefix conflict", filter: `{"a": 1, "a.b": 2}`, code: 54, msg: "cannot infer query fields to set, both paths 'a.b' and 'a' are matched"},
		{name: "path twice", filter: `{"$and": [{"a": 1}, {"a": 2}]}`, code: 54, msg: "cannot infer query fields to set, path 'a' is matched twice"},
		{name: "path twice via eq", filter: `{"a": 1, "$and": [{"a": {"$eq": 1}}]}`, code: 54},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UpsertSeed(extDoc(t, tc.filter))
			if tc.code != 0 {
				if err == nil {
					t.Fatalf("got %s, want error %d", fmtValue(got), tc.code)
				}
				checkErr(t, err, tc.code, tc.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := extDoc(t, tc.want)
			if len(want) == 0 && len(got) == 0 {
				return
			}
			if !identical(got, want) {
				t.Fatalf("got  %s\nwant %s", fmtValue(got), fmtValue(want))
			}
		})
	}
}

// TestUpsertFlow builds an upsert document the way the update command does.
func TestUpsertFlow(t *testing.T) {
	tests := []struct {
		name, filter, update, want string
		code                       int32
	}{
		{name: "operators on seed", filter: `{"_id": 1, "item": "apple"}`,
			update: `{"$set": {"qty": 5}, "$setOnInsert": {"created": true}, "$inc": {"n": 1}}`,
			want:   `{"_id": 1, "item": "apple", "created": true, "n": 1, "qty": 5}`},
		{name: "dotted seed merges with set", filter: `{"a.b": 1}`, update: `{"$set": {"a.c": 2}}`, want: `{"a": {"b": 1, "c": 2}}`},
		{name: "set overrides seed value", filter: `{"a": 1}`, update: `{"$set": {"a": 2}}`, want: `{"a": 2}`},
		{name: "set _id on seed without _id", filter: `{"a": 1}`, update: `{"$set": {"_id": 9}}`, want: `{"a": 1, "_id": 9}`},
		{name: "changing seeded _id", filter: `{"_id": 1}`, update: `{"$set": {"_id": 2}}`, code: 66},
		{name: "positional on insert", filter: `{"a": 1}`, update: `{"$set": {"b.$": 1}}`, code: 2},
		{name: "replacement keeps seeded _id only", filter: `{"_id": 3, "a": 1}`, update: `{"b": 2}`, want: `{"_id": 3, "b": 2}`},
		{name: "replacement without _id", filter: `{"a": 1}`, update: `{"b": 2}`, want: `{"b": 2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seed, err := UpsertSeed(extDoc(t, tc.filter))
			if err != nil {
				t.Fatal(err)
			}
			u, err := Parse(extDoc(t, tc.update), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := u.Apply(seed, &ApplyContext{MatchPos: -1, Inserting: true, Now: testNow})
			if tc.code != 0 {
				if err == nil {
					t.Fatalf("got %s, want error %d", fmtValue(got), tc.code)
				}
				checkErr(t, err, tc.code, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := extDoc(t, tc.want); !identical(got, want) {
				t.Fatalf("got  %s\nwant %s", fmtValue(got), fmtValue(want))
			}
		})
	}
}

func TestParseKinds(t *testing.T) {
	u, err := Parse(bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 1}}}}, nil)
	if err != nil || u.Kind() != Operators {
		t.Fatalf("operators: kind %v err %v", u.Kind(), err)
	}
	u, err = Parse(bson.D{{Key: "a", Value: 1}}, nil)
	if err != nil || u.Kind() != Replacement {
		t.Fatalf("replacement: kind %v err %v", u.Kind(), err)
	}
	u, err = Parse(bson.A{bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 1}}}}}, nil)
	if err != nil || u.Kind() != Pipeline {
		t.Fatalf("pipeline: kind %v err %v", u.Kind(), err)
	}
	_, err = Parse(bson.A{bson.D{}}, &Options{ArrayFilters: []bson.D{{{Key: "x", Value: 1}}}})
	checkErr(t, err, 9, "arrayFilters may not be specified for pipeline-syle updates")
	_, err = Parse("x", nil)
	checkErr(t, err, 9, "")
}

func TestIdentical(t *testing.T) {
	tests := []struct {
		a, b any
		want bool
	}{
		{int32(1), int32(1), true},
		{int32(1), int64(1), false},
		{1.0, 1.0, true},
		{0.0, -0.0 * 1, true},
		{nil, bson.Null{}, true},
		{bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 2}}, bson.D{{Key: "b", Value: 2}, {Key: "a", Value: 1}}, false},
		{bson.A{int32(1), "x"}, bson.A{int32(1), "x"}, true},
		{bson.A{int32(1)}, bson.A{int32(1), int32(2)}, false},
		{bson.Binary{Subtype: 0, Data: []byte{1}}, bson.Binary{Subtype: 0, Data: []byte{1}}, true},
		{bson.Binary{Subtype: 0, Data: []byte{1}}, bson.Binary{Subtype: 4, Data: []byte{1}}, false},
	}
	for i, tc := range tests {
		if got := identical(tc.a, tc.b); got != tc.want {
			t.Errorf("%d: identical(%v, %v) = %v, want %v", i, tc.a, tc.b, got, tc.want)
		}
	}
}

func TestArith(t *testing.T) {
	dec := func(s string) bson.Decimal128 {
		d, err := bson.ParseDecimal128(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		op   arithOp
		a, b any
		want any
		ok   bool
	}{
		{opAdd, int32(1), int32(2), int32(3), true},
		{opAdd, int32(-2147483648), int32(-1), int64(-2147483649), true},
		{opAdd, int64(9223372036854775807), int32(1), nil, false},
		{opAdd, int64(-9223372036854775808), int64(-1), nil, false},
		{opMul, int32(65536), int32(65536), int64(4294967296), true},
		{opMul, int64(4294967296), int64(4294967296), nil, false},
		{opMul, int64(-1), int64(-9223372036854775808), nil, false},
		{opMul, int32(0), int64(5), int64(0), true},
		{opAdd, int32(1), 2.5, 3.5, true},
		{opAdd, dec("9999999999999999999999999999999999"), int32(1), dec("1.000000000000000000000000000000000E+34"), true},
		{opAdd, dec("Infinity"), int32(1), dec("Infinity"), true},
		{opMul, dec("-1.5"), int32(2), dec("-3.0"), true},
		{opMul, dec("NaN"), int32(2), dec("NaN"), true},
	}
	for i, tc := range tests {
		got, ok := arith(tc.op, tc.a, tc.b)
		if ok != tc.ok || (ok && !identical(got, tc.want)) {
			t.Errorf("%d: arith(%v, %v) = %v (%T), %v; want %v (%T), %v", i, tc.a, tc.b, got, got, ok, tc.want, tc.want, tc.ok)
		}
	}
}

func TestComparePaths(t *testing.T) {
	tests := []struct {
		a, b []string
		want int
	}{
		{[]string{"a", "2"}, []string{"a", "10"}, -1},
		{[]string{"a", "b"}, []string{"a", "10"}, 1},
		{[]string{"B"}, []string{"a"}, -1},
		{[]string{"a"}, []string{"a", "b"}, -1},
		{[]string{"a", "$[]"}, []string{"a", "$[]"}, 0},
	}
	for _, tc := range tests {
		got := comparePaths(tc.a, tc.b)
		if (got < 0) != (tc.want < 0) || (got > 0) != (tc.want > 0) {
			t.Errorf("comparePaths(%v, %v) = %d, want sign %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestApplyDoesNotShareSpecValues checks that values placed by $set are
// copies, so that mutating one result does not affect another.
func TestApplyDoesNotShareSpecValues(t *testing.T) {
	u, err := Parse(bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: bson.D{{Key: "x", Value: int32(1)}}}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d1, _, err := u.Apply(bson.D{{Key: "_id", Value: int32(1)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d1[1].Value.(bson.D)[0].Value = int32(99)
	d2, _, err := u.Apply(bson.D{{Key: "_id", Value: int32(2)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := d2[1].Value.(bson.D)[0].Value; v != int32(1) {
		t.Fatalf("second result saw mutation of the first: %v", v)
	}
}
