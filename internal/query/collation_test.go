package query

import (
	"fmt"
	"testing"

	"github.com/cairndb/cairn/internal/collation"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func mustCollation(t *testing.T, js string) *collation.Collation {
	t.Helper()
	c, err := collation.Parse(mustD(t, js))
	if err != nil {
		t.Fatalf("collation %s: %v", js, err)
	}
	return c
}

func matchIDs(t *testing.T, filter string, c *collation.Collation, docs []bson.D) string {
	t.Helper()
	m, err := NewMatcher(mustD(t, filter), &Options{Collation: c})
	if err != nil {
		t.Fatalf("NewMatcher(%s): %v", filter, err)
	}
	var out []any
	for _, d := range docs {
		ok, err := m.Match(d)
		if err != nil {
			t.Fatalf("Match: %v", err)
		}
		if ok {
			out = append(out, d[0].Value)
		}
	}
	return fmt.Sprint(out)
}

const (
	en2 = `{"locale": "en_US", "strength": 2}`
	en3 = `{"locale": "en_US", "strength": 3}`
)

// Filters from the CRUD unified spec tests' *-collation.json files and the
// MongoDB manual's collation examples.
func TestMatcherCollation(t *testing.T) {
	pingDocs := `[{"_id": 1, "x": 11}, {"_id": 2, "x": "ping"}, {"_id": 3, "x": "pINg"}, {"_id": 4, "x": "pong"}, {"_id": 5, "x": "pONg"}]`
	cafeDocs := `[{"_id": 1, "c": "cafe"}, {"_id": 2, "c": "café"}, {"_id": 3, "c": "Café"}, {"_id": 4, "c": "cafés"}]`
	numDocs := `[{"_id": 1, "n": "1"}, {"_id": 2, "n": "2"}, {"_id": 3, "n": "10"}, {"_id": 4, "n": "20"}, {"_id": 5, "n": 5}]`
	tests := []struct {
		name, coll, docs, filter, want string
	}{
		// find/count/aggregate/delete/update-collation.json.
		{"find", en2, `[{"_id": 1, "x": "ping"}]`, `{"x": "PING"}`, "[1]"},
		{"find simple", "", `[{"_id": 1, "x": "ping"}]`, `{"x": "PING"}`, "[]"},
		{"count", en2, `[{"_id": 1, "x": "ping"}]`, `{"x": "ping"}`, "[1]"},
		{"deleteMany", en2, pingDocs, `{"x": "PING"}`, "[2 3]"},
		{"bulk deleteMany", en2, pingDocs, `{"x": "PONG"}`, "[4 5]"},
		{"updateMany strength 3", en3, pingDocs, `{"x": "ping"}`, "[2]"},
		{"updateMany strength 2", en2, pingDocs, `{"x": "ping"}`, "[2 3]"},
		{"findOneAndDelete", en2, pingDocs, `{"_id": 2, "x": "PING"}`, "[2]"},
		// Every comparison operator.
		{"$eq", en2, pingDocs, `{"x": {"$eq": "PiNg"}}`, "[2 3]"},
		{"$ne", en2, pingDocs, `{"x": {"$ne": "PING"}}`, "[1 4 5]"},
		{"$in", en2, pingDocs, `{"x": {"$in": ["PING", 11]}}`, "[1 2 3]"},
		{"$nin", en2, pingDocs, `{"x": {"$nin": ["PING", "PONG"]}}`, "[1]"},
		{"$gt", en2, pingDocs, `{"x": {"$gt": "PING"}}`, "[4 5]"},
		{"$gt simple", "", pingDocs, `{"x": {"$gt": "PING"}}`, "[2 3 4 5]"},
		{"$gte", en2, pingDocs, `{"x": {"$gte": "PING"}}`, "[2 3 4 5]"},
		{"$lt", en2, pingDocs, `{"x": {"$lt": "PONG"}}`, "[2 3]"},
		{"$lte", en2, pingDocs, `{"x": {"$lte": "PING"}}`, "[2 3]"},
		{"$lt simple", "", pingDocs, `{"x": {"$lt": "PONG"}}`, "[]"}, // binary: every lowercase p sorts after "PONG"
		{"$not $eq", en2, pingDocs, `{"x": {"$not": {"$eq": "PING"}}}`, "[1 4 5]"},
		{"$or", en2, pingDocs, `{"$or": [{"x": "PING"}, {"x": "PONG"}]}`, "[2 3 4 5]"},
		// $regex ignores the collation.
		{"$regex", en2, pingDocs, `{"x": {"$regex": "^PING$"}}`, "[]"},
		{"regex literal", en2, pingDocs, `{"x": {"$regex": "^p[iI]"}}`, "[2 3]"},
		{"$in regex", en2, pingDocs, `{"x": {"$in": [{"$regularExpression": {"pattern": "^PI", "options": ""}}]}}`, "[]"},
		// Arrays, $all and $elemMatch.
		{"array element", en2, `[{"_id": 1, "t": ["Red", "Blue"]}, {"_id": 2, "t": ["green"]}]`, `{"t": "BLUE"}`, "[1]"},
		{"whole array", en2, `[{"_id": 1, "t": ["Red", "Blue"]}, {"_id": 2, "t": ["green"]}]`, `{"t": ["RED", "blue"]}`, "[1]"},
		{"$all", en2, `[{"_id": 1, "t": ["Red", "Blue"]}, {"_id": 2, "t": ["red"]}]`, `{"t": {"$all": ["RED", "BLUE"]}}`, "[1]"},
		{"$elemMatch value", en2, `[{"_id": 1, "t": ["Red", "Blue"]}, {"_id": 2, "t": ["green"]}]`, `{"t": {"$elemMatch": {"$eq": "GREEN"}}}`, "[2]"},
		{"$elemMatch doc", en2, `[{"_id": 1, "a": [{"k": "X"}]}, {"_id": 2, "a": [{"k": "y"}]}]`, `{"a": {"$elemMatch": {"k": "x"}}}`, "[1]"},
		{"embedded doc", en2, `[{"_id": 1, "d": {"k": "X"}}, {"_id": 2, "d": {"K": "x"}}]`, `{"d": {"k": "x"}}`, "[1]"},
		// Field names are never collated.
		{"field name", en2, `[{"_id": 1, "X": "a"}, {"_id": 2, "x": "a"}]`, `{"X": "A"}`, "[1]"},
		// Manual examples: strength 1 ignores accents.
		{"fr strength 1", `{"locale": "fr", "strength": 1}`, cafeDocs, `{"c": "cafe"}`, "[1 2 3]"},
		{"fr strength 2", `{"locale": "fr", "strength": 2}`, cafeDocs, `{"c": "cafe"}`, "[1]"},
		{"fr strength 2 café", `{"locale": "fr", "strength": 2}`, cafeDocs, `{"c": "CAFÉ"}`, "[2 3]"},
		{"fr strength 3", `{"locale": "fr"}`, cafeDocs, `{"c": "café"}`, "[2]"},
		{"strength 1 caseLevel", `{"locale": "fr", "strength": 1, "caseLevel": true}`, cafeDocs, `{"c": "cafe"}`, "[1 2]"},
		// numericOrdering.
		{"numeric $gt", `{"locale": "en", "numericOrdering": true}`, numDocs, `{"n": {"$gt": "2"}}`, "[3 4]"},
		{"non-numeric $gt", `{"locale": "en"}`, numDocs, `{"n": {"$gt": "2"}}`, "[4]"},
		{"numeric $lt", `{"locale": "en", "numericOrdering": true}`, numDocs, `{"n": {"$lt": "10"}}`, "[1 2]"},
		// Type bracketing still applies.
		{"bracketing", en2, pingDocs, `{"x": {"$gt": ""}}`, "[2 3 4 5]"},
		// alternate shifted ignores punctuation and spaces.
		{"shifted", `{"locale": "en", "alternate": "shifted"}`, `[{"_id": 1, "s": "black-bird"}, {"_id": 2, "s": "black bird"}, {"_id": 3, "s": "blackbird"}, {"_id": 4, "s": "Black bird"}]`, `{"s": "blackbird"}`, "[1 2 3]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *collation.Collation
			if tt.coll != "" {
				c = mustCollation(t, tt.coll)
			}
			if got := matchIDs(t, tt.filter, c, mustDocs(t, tt.docs)); got != tt.want {
				t.Errorf("filter %s with %s: got %s, want %s", tt.filter, tt.coll, got, tt.want)
			}
		})
	}
}

func TestSortCollation(t *testing.T) {
	docs := `[{"_id": 1, "s": "b"}, {"_id": 2, "s": "A"}, {"_id": 3, "s": "a"}, {"_id": 4, "s": "B"}, {"_id": 5, "s": 7}, {"_id": 6, "s": ["c", "Z"]}]`
	tests := []struct{ coll, spec, want string }{
		{"", `{"s": 1}`, "[5 2 4 6 3 1]"}, // binary: upper case first; min of [c, Z] is Z
		{`{"locale": "en"}`, `{"s": 1}`, "[5 3 2 1 4 6]"},
		{`{"locale": "en", "caseFirst": "upper"}`, `{"s": 1}`, "[5 2 3 4 1 6]"},
		{`{"locale": "en", "strength": 2}`, `{"s": 1, "_id": 1}`, "[5 2 3 1 4 6]"},
		{`{"locale": "en", "strength": 2}`, `{"s": -1, "_id": 1}`, "[6 1 4 2 3 5]"},
		// Array sort keys use the collation to pick the min/max element.
		{"", `{"s": -1}`, "[6 1 3 4 2 5]"}, // binary max of [c, Z] is c
	}
	for _, tt := range tests {
		var c *collation.Collation
		if tt.coll != "" {
			c = mustCollation(t, tt.coll)
		}
		s, err := NewSortCollation(mustD(t, tt.spec), c)
		if err != nil {
			t.Fatal(err)
		}
		d := mustDocs(t, docs)
		s.SortDocs(d)
		if got := fmt.Sprint(ids(d)); got != tt.want {
			t.Errorf("sort %s with %s: got %s, want %s", tt.spec, tt.coll, got, tt.want)
		}
	}
	// The array max under a collation: "Z" > "c" only case-insensitively.
	c := mustCollation(t, `{"locale": "en"}`)
	s, _ := NewSortCollation(mustD(t, `{"s": -1}`), c)
	k := s.Key(mustD(t, `{"s": ["c", "Z", "b"]}`))
	if k[0] != "Z" {
		t.Errorf("descending key under en = %v, want Z", k[0])
	}
	s, _ = NewSort(mustD(t, `{"s": -1}`))
	if k := s.Key(mustD(t, `{"s": ["c", "Z", "b"]}`)); k[0] != "c" {
		t.Errorf("descending binary key = %v, want c", k[0])
	}
}

func TestProjectionElemMatchCollation(t *testing.T) {
	c := mustCollation(t, en2)
	p, err := NewProjection(mustD(t, `{"a": {"$elemMatch": {"$eq": "X"}}}`), &Options{Collation: c})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply(mustD(t, `{"_id": 1, "a": ["y", "x"]}`), -1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := toJSON(t, out), canonJSON(t, `{"_id": 1, "a": ["x"]}`); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// distinct-collation.json: distinct over ["PING", "ping"] with strength 2
// returns only the first value seen.
func TestEqualCollatedDistinct(t *testing.T) {
	tests := []struct {
		coll string
		in   bson.A
		want string
	}{
		{en2, bson.A{"PING", "ping"}, "[PING]"},
		{"", bson.A{"PING", "ping"}, "[PING ping]"},
		{en2, bson.A{"a", int32(1), "A", float64(1), bson.A{"X"}, bson.A{"x"}}, "[a 1 [X]]"},
	}
	for _, tt := range tests {
		var c *collation.Collation
		if tt.coll != "" {
			c = mustCollation(t, tt.coll)
		}
		var out bson.A
	next:
		for _, v := range tt.in {
			for _, o := range out {
				if EqualCollated(c, o, v) {
					continue next
				}
			}
			out = append(out, v)
		}
		if got := fmt.Sprint(out); got != tt.want {
			t.Errorf("distinct %v with %s = %s, want %s", tt.in, tt.coll, got, tt.want)
		}
	}
}
