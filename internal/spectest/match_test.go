package spectest

import (
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// ej decodes a relaxed Extended JSON document for test tables.
func ej(t *testing.T, s string) bson.D {
	t.Helper()
	var d bson.D
	if err := bson.UnmarshalExtJSON([]byte(s), false, &d); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return d
}

type fakeEntities struct {
	values map[string]any
	lsids  map[string]bson.D
}

func (f fakeEntities) BSONEntity(name string) (any, error) {
	v, ok := f.values[name]
	if !ok {
		return nil, fmt.Errorf("no entity %q", name)
	}
	return v, nil
}

func (f fakeEntities) SessionLsid(name string) (bson.D, error) {
	v, ok := f.lsids[name]
	if !ok {
		return nil, fmt.Errorf("no session %q", name)
	}
	return v, nil
}

func TestMatch(t *testing.T) {
	oid := bson.NewObjectID()
	lsid := bson.D{{Key: "id", Value: bson.Binary{Subtype: 4, Data: []byte("0123456789abcdef")}}}
	m := &Matcher{Entities: fakeEntities{
		values: map[string]any{"oid0": oid, "doc0": bson.D{{Key: "a", Value: int32(1)}}},
		lsids:  map[string]bson.D{"session0": lsid},
	}}
	tests := []struct {
		name     string
		expected string // wrapped as {"v": ...}
		actual   any
		root     bool
		ok       bool
	}{
		{"equal scalars", `1`, int32(1), true, true},
		{"int32 matches int64", `1`, int64(1), true, true},
		{"int32 matches double", `1`, float64(1), true, true},
		{"int32 does not match 1.5", `1`, 1.5, true, false},
		{"double matches long", `{"$numberDouble": "2.0"}`, int64(2), true, true},
		{"decimal is not flexible", `{"$numberDecimal": "1"}`, int32(1), true, false},
		{"string vs number", `"1"`, int32(1), true, false},
		{"null matches null", `null`, nil, true, true},
		{"null does not match missing", `null`, Missing, true, false},
		{"root allows extra fields", `{"x": 1}`, bson.D{{Key: "x", Value: int32(1)}, {Key: "y", Value: int32(2)}}, true, true},
		{"nested forbids extra fields", `{"x": 1}`, bson.D{{Key: "x", Value: int32(1)}, {Key: "y", Value: int32(2)}}, false, false},
		{"nested document in root forbids extra", `{"x": {"y": 1}}`, ej(t, `{"x": {"y": 1, "z": 1}}`), true, false},
		{"missing expected field", `{"x": 1, "y": 1}`, ej(t, `{"x": 1}`), true, false},
		{"key order ignored", `{"x": 1, "y": 1}`, ej(t, `{"y": 1, "x": 1}`), false, true},
		{"array lengths must match", `[1, 2, 3]`, bson.A{int32(1), int32(2), int32(3), int32(4)}, true, false},
		{"array elements inherit root", `[{"x": 1}]`, bson.A{ej(t, `{"x": 1, "y": 2}`)}, true, true},
		{"array elements nested", `[{"x": 1}]`, bson.A{ej(t, `{"x": 1, "y": 2}`)}, false, false},
		{"document vs scalar", `{"x": 1}`, int32(1), true, false},
		{"$$exists true", `{"x": {"$$exists": true}}`, ej(t, `{"x": null}`), false, true},
		{"$$exists true missing", `{"x": {"$$exists": true}}`, bson.D{}, false, false},
		{"$$exists false", `{"x": {"$$exists": false}}`, bson.D{}, false, true},
		{"$$exists false present", `{"x": {"$$exists": false}}`, ej(t, `{"x": 1}`), false, false},
		{"$$type single", `{"$$type": "int"}`, int32(5), true, true},
		{"$$type list", `{"$$type": ["int", "long"]}`, int64(5), true, true},
		{"$$type wrong", `{"$$type": "string"}`, int64(5), true, false},
		{"$$type missing", `{"x": {"$$type": "int"}}`, bson.D{}, false, false},
		{"$$type number alias", `{"$$type": "number"}`, 2.5, true, true},
		{"$$type array not elements", `{"$$type": "array"}`, bson.A{int32(1)}, true, true},
		{"$$type objectId", `{"$$type": "objectId"}`, oid, true, true},
		{"$$unsetOrMatches unset", `{"x": {"$$unsetOrMatches": 1}}`, bson.D{}, false, true},
		{"$$unsetOrMatches matches", `{"x": {"$$unsetOrMatches": 1}}`, ej(t, `{"x": 1}`), false, true},
		{"$$unsetOrMatches differs", `{"x": {"$$unsetOrMatches": 1}}`, ej(t, `{"x": 2}`), false, false},
		{"$$unsetOrMatches whole missing result", `{"$$unsetOrMatches": {"insertedId": 1}}`, Missing, true, true},
		{"$$unsetOrMatches keeps root", `{"$$unsetOrMatches": {"a": 1}}`, ej(t, `{"a": 1, "b": 2}`), true, true},
		{"$$unsetOrMatches keeps nested", `{"$$unsetOrMatches": {"a": 1}}`, ej(t, `{"a": 1, "b": 2}`), false, false},
		{"$$matchesEntity", `{"_id": {"$$matchesEntity": "oid0"}}`, bson.D{{Key: "_id", Value: oid}}, true, true},
		{"$$matchesEntity differs", `{"_id": {"$$matchesEntity": "oid0"}}`, bson.D{{Key: "_id", Value: bson.NewObjectID()}}, true, false},
		{"$$matchesEntity undefined", `{"$$matchesEntity": "nope"}`, int32(1), true, false},
		{"$$matchesHexBytes", `{"$$matchesHexBytes": "12ab"}`, bson.Binary{Data: []byte{0x12, 0xab}}, true, true},
		{"$$matchesHexBytes upper", `{"$$matchesHexBytes": "12AB"}`, []byte{0x12, 0xab}, true, true},
		{"$$matchesHexBytes differs", `{"$$matchesHexBytes": "12ab"}`, []byte{0x12}, true, false},
		{"$$matchesHexBytes malformed", `{"$$matchesHexBytes": "1"}`, []byte{0x01}, true, false},
		{"$$sessionLsid", `{"lsid": {"$$sessionLsid": "session0"}}`, bson.D{{Key: "lsid", Value: lsid}}, true, true},
		{"$$sessionLsid differs", `{"lsid": {"$$sessionLsid": "session0"}}`, ej(t, `{"lsid": {"id": 1}}`), true, false},
		{"$$lte equal", `{"$$lte": 1}`, 1.0, true, true},
		{"$$lte less", `{"$$lte": 1}`, 0.0, true, true},
		{"$$lte greater", `{"$$lte": 1}`, 1.1, true, false},
		{"$$lte missing", `{"x": {"$$lte": 1}}`, bson.D{}, false, false},
		{"$$matchAsDocument", `{"$$matchAsDocument": {"x": 1, "y": "two"}}`, `{"x": 1, "y": "two"}`, true, true},
		{"$$matchAsDocument no extra", `{"$$matchAsDocument": {"x": 1}}`, `{"x": 1, "y": "two"}`, true, false},
		{"$$matchAsDocument with root", `{"$$matchAsDocument": {"$$matchAsRoot": {"x": 1}}}`, `{"x": 1, "y": "two"}`, true, true},
		{"$$matchAsDocument scalar", `{"$$matchAsDocument": {"$$matchAsRoot": {}}}`, `1`, true, false},
		{"$$matchAsDocument bad json", `{"$$matchAsDocument": {}}`, `{"x"}`, true, false},
		{"$$matchAsDocument not string", `{"$$matchAsDocument": {}}`, bson.D{}, true, false},
		{"$$matchAsRoot nested", `{"x": {"$$matchAsRoot": {"y": 1}}}`, ej(t, `{"x": {"y": 1, "z": 2}}`), false, true},
		{"$$matchAsRoot nested mismatch", `{"x": {"$$matchAsRoot": {"y": 3}}}`, ej(t, `{"x": {"y": 1, "z": 2}}`), false, false},
		{"unknown operator", `{"$$bogus": 1}`, int32(1), true, false},
		{"single $ is not an operator", `{"$gt": 1}`, ej(t, `{"$gt": 1}`), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp := ej(t, `{"v": `+tc.expected+`}`)[0].Value
			err := m.Match(exp, tc.actual, tc.root)
			if (err == nil) != tc.ok {
				t.Fatalf("Match(%s, %s, root=%v) = %v, want ok=%v", tc.expected, describe(tc.actual), tc.root, err, tc.ok)
			}
		})
	}
}

func TestValuesEqualStrict(t *testing.T) {
	tests := []struct {
		a, b     any
		flexible bool
		want     bool
	}{
		{int32(1), int64(1), false, false},
		{int32(1), int64(1), true, true},
		{bson.D{{Key: "a", Value: int32(1)}, {Key: "b", Value: "x"}}, bson.D{{Key: "b", Value: "x"}, {Key: "a", Value: int32(1)}}, false, true},
		{bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "a", Value: int32(1)}, {Key: "b", Value: int32(1)}}, false, false},
		{bson.A{int32(1)}, bson.A{float64(1)}, false, false},
		{"x", "x", false, true},
		{bson.DateTime(5), bson.DateTime(5), false, true},
		{bson.DateTime(5), int64(5), true, false},
	}
	for i, tc := range tests {
		if got := ValuesEqual(tc.a, tc.b, tc.flexible); got != tc.want {
			t.Errorf("%d: ValuesEqual(%s, %s, %v) = %v, want %v", i, describe(tc.a), describe(tc.b), tc.flexible, got, tc.want)
		}
	}
}
