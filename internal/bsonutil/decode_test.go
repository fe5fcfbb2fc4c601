package bsonutil

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// TestDecodeMatchesUnmarshal checks Decode against bson.Unmarshal on
// documents of every type, and on every valid case of the shared BSON
// corpus when it is present.
func TestDecodeMatchesUnmarshal(t *testing.T) {
	dec, _ := bson.ParseDecimal128("1.5")
	docs := []bson.D{
		{{Key: "d", Value: 1.5}, {Key: "s", Value: "x"}, {Key: "o", Value: bson.D{{Key: "a", Value: int32(1)}}},
			{Key: "a", Value: bson.A{int64(1), "y", bson.A{}, bson.D{}}}, {Key: "b", Value: bson.Binary{Subtype: 4, Data: []byte{1, 2}}},
			{Key: "u", Value: bson.Undefined{}}, {Key: "oid", Value: bson.NewObjectID()}, {Key: "t", Value: true},
			{Key: "dt", Value: bson.DateTime(123)}, {Key: "n", Value: nil}, {Key: "re", Value: bson.Regex{Pattern: "^a", Options: "i"}},
			{Key: "p", Value: bson.DBPointer{DB: "db.c", Pointer: bson.NewObjectID()}}, {Key: "js", Value: bson.JavaScript("f()")},
			{Key: "sym", Value: bson.Symbol("s")}, {Key: "cws", Value: bson.CodeWithScope{Code: "g()", Scope: bson.D{{Key: "x", Value: int32(1)}}}},
			{Key: "ts", Value: bson.Timestamp{T: 1, I: 2}}, {Key: "dec", Value: dec}, {Key: "min", Value: bson.MinKey{}}, {Key: "max", Value: bson.MaxKey{}}},
		{},
	}
	var raws [][]byte
	for _, d := range docs {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, b)
	}
	corpus, _ := filepath.Glob("../../../shared/spec-tests/bson-corpus/tests/*.json")
	for _, f := range corpus {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var file struct {
			Valid []struct {
				CanonicalBSON string `json:"canonical_bson"`
			} `json:"valid"`
		}
		if err := json.Unmarshal(data, &file); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range file.Valid {
			b, err := hex.DecodeString(v.CanonicalBSON)
			if err != nil {
				t.Fatal(err)
			}
			raws = append(raws, b)
		}
	}
	if len(corpus) == 0 {
		t.Log("shared BSON corpus not found; checking the built-in documents only")
	}
	for i, b := range raws {
		var want bson.D
		werr := bson.Unmarshal(b, &want)
		got, gerr := Decode(b)
		if (werr == nil) != (gerr == nil) {
			// Unmarshal is lenient in places (it accepts some invalid
			// UTF-8); Decode validates strictly. Only a document that
			// Unmarshal accepts and Decode refuses matters here if it is
			// well formed.
			if werr == nil {
				if err := bson.Raw(b).Validate(); err == nil {
					t.Errorf("case %d: Unmarshal ok, Decode error %v", i, gerr)
				}
			}
			continue
		}
		if werr == nil && !sameDoc(got, want) {
			t.Errorf("case %d (%x):\n got %#v\nwant %#v", i, b, got, want)
		}
	}
}

// sameDoc compares two decoded documents by their encodings (NaN != NaN
// defeats reflect.DeepEqual) and their Go types.
func sameDoc(a, b bson.D) bool {
	ea, err1 := bson.Marshal(a)
	eb, err2 := bson.Marshal(b)
	return err1 == nil && err2 == nil && string(ea) == string(eb) && reflect.TypeOf(a) == reflect.TypeOf(b) && sameTypes(a, b)
}

func sameTypes(a, b bson.D) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if reflect.TypeOf(a[i].Value) != reflect.TypeOf(b[i].Value) {
			return false
		}
		if da, ok := a[i].Value.(bson.D); ok && !sameTypes(da, b[i].Value.(bson.D)) {
			return false
		}
	}
	return true
}

func BenchmarkDecode(b *testing.B) {
	d := bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "i", Value: int64(7)}}
	for i := 0; i < 10; i++ {
		d = append(d, bson.E{Key: "field" + string(rune('0'+i)), Value: string(make([]byte, 100))})
	}
	raw, _ := bson.Marshal(d)
	b.Run("Decode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Unmarshal", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var out bson.D
			if err := bson.Unmarshal(raw, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// hasBadOldBinary reports whether doc holds an old-style binary (subtype
// 0x02) whose inner length disagrees with its outer one. bson.Unmarshal
// reads such a value by its inner length and goes on reading the rest of
// the value as elements; Decode refuses it, so the fuzz target does not
// compare the two there.
func hasBadOldBinary(doc []byte) bool {
	return someValue(doc, func(v bsoncore.Value) bool {
		if v.Type != bsoncore.TypeBinary {
			return false
		}
		_, _, ok := readBinary(v.Data)
		return !ok
	})
}

// hasUnterminatedString reports whether doc holds a string (also a
// symbol's, JavaScript code's, a DBPointer's namespace or code with
// scope's code) whose last byte is not the NUL BSON requires. Decode
// refuses such a value; bson.Unmarshal reads code with scope's code
// without checking it, so the fuzz target does not compare the two there.
func hasUnterminatedString(doc []byte) bool {
	return someValue(doc, func(v bsoncore.Value) bool {
		switch v.Type {
		case bsoncore.TypeString, bsoncore.TypeSymbol, bsoncore.TypeJavaScript, bsoncore.TypeDBPointer:
			return !strTerminated(v.Data)
		case bsoncore.TypeCodeWithScope:
			return len(v.Data) <= 4 || !strTerminated(v.Data[4:])
		}
		return false
	})
}

// someValue reports whether pred holds for a value anywhere in doc: its
// elements' values and, recursively, those of embedded documents, arrays
// and code with scope's scope.
func someValue(doc []byte, pred func(bsoncore.Value) bool) bool {
	elems, err := bsoncore.Document(doc).Elements()
	if err != nil {
		return false
	}
	for _, e := range elems {
		v := e.Value()
		if pred(v) {
			return true
		}
		switch v.Type {
		case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
			if someValue(v.Data, pred) {
				return true
			}
		case bsoncore.TypeCodeWithScope:
			if _, scope, ok := v.CodeWithScopeOK(); ok && someValue(scope, pred) {
				return true
			}
		}
	}
	return false
}

// FuzzDecode checks that Decode never panics and agrees with
// bson.Unmarshal on every document Unmarshal accepts, except where Decode
// is deliberately stricter (hasBadOldBinary, hasUnterminatedString).
func FuzzDecode(f *testing.F) {
	seed, _ := bson.Marshal(bson.D{{Key: "a", Value: bson.A{int32(1), bson.D{{Key: "b", Value: "c"}}}}, {Key: "d", Value: 2.5}})
	f.Add(seed)
	f.Add([]byte{5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		var want bson.D
		werr := bson.Unmarshal(b, &want)
		// The server decodes client input with bsoncore validation plus
		// Decode; that must refuse whatever Unmarshal refuses.
		if werr != nil && err == nil && bson.Raw(b).Validate() == nil {
			t.Fatalf("Validate and Decode accept what Unmarshal refuses (%v): %x", werr, b)
		}
		if werr == nil && bson.Raw(b).Validate() == nil && !hasBadOldBinary(b) && !hasUnterminatedString(b) {
			if err != nil {
				t.Fatalf("Decode failed on a valid document: %v", err)
			}
			if !sameDoc(got, want) {
				t.Fatalf("Decode = %v, Unmarshal = %v", got, want)
			}
		}
	})
}

// TestDecodeOldBinary covers binary subtype 0x02, whose data carries a
// second length: Decode must read it as bson.Unmarshal does.
func TestDecodeOldBinary(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
		want []byte // nil: Decode must fail
	}{
		{"with inner length", []byte{0x13, 0, 0, 0, 0x05, 'a', 0, 6, 0, 0, 0, 2, 2, 0, 0, 0, 'x', 'y', 0}, []byte("xy")},
		{"too short for an inner length", []byte{0x0f, 0, 0, 0, 0x05, 'a', 0, 2, 0, 0, 0, 2, 'x', 'y', 0}, []byte("xy")},
		{"four bytes, read as data", []byte{0x11, 0, 0, 0, 0x05, 'a', 0, 4, 0, 0, 0, 2, 9, 9, 9, 9, 0}, []byte{9, 9, 9, 9}},
		{"inner length disagrees", []byte{0x13, 0, 0, 0, 0x05, 'a', 0, 6, 0, 0, 0, 2, 1, 0, 0, 0, 'x', 'y', 0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.doc)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Decode = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want bson.D
			if err := bson.Unmarshal(tt.doc, &want); err != nil {
				t.Fatal(err)
			}
			if !sameDoc(got, want) {
				t.Fatalf("Decode = %v, Unmarshal = %v", got, want)
			}
			if b := got[0].Value.(bson.Binary); string(b.Data) != string(tt.want) || b.Subtype != 2 {
				t.Fatalf("got %v, want data %q", b, tt.want)
			}
		})
	}
}
