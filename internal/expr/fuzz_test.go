package expr

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzExprEval parses an expression (Extended JSON, wrapped as {e: ...})
// and evaluates it against a document. Parsing and evaluation may fail,
// but only with *mongoerr.Error values; nothing may panic, the input
// document must not be modified, and evaluating twice must give the same
// result (expressions that read the clock or $rand are exempt). Seeds are
// in testdata/fuzz/FuzzExprEval (drawn from testdata/*.jsonl).
func FuzzExprEval(f *testing.F) {
	for _, s := range [][2]string{
		{`{"e": {"$add": ["$a", 1, {"$numberDecimal": "1.5"}]}}`, `{"a": 2}`},
		{`{"e": {"$map": {"input": "$a", "as": "x", "in": {"$concat": ["$$x", "!"]}}}}`, `{"a": ["p", "q"]}`},
		{`{"e": {"$dateToString": {"date": "$d", "format": "%Y-%m-%d %H"}}}`, `{"d": {"$date": "2020-01-02T03:04:05Z"}}`},
		{`{"e": {"$let": {"vars": {"v": "$a.b"}, "in": {"$size": "$$v"}}}}`, `{"a": {"b": [1, 2]}}`},
		{`{"e": {"$reduce": {"input": [1, 2, 3], "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}}`, `{}`},
		{`{"e": {"$convert": {"input": "$s", "to": "int", "onError": null}}}`, `{"s": "12x"}`},
		{`{"e": {"$regexFindAll": {"input": "$s", "regex": "(a+)b"}}}`, `{"s": "aab ab"}`},
		{`{"e": {"$switch": {"branches": [{"case": {"$gt": ["$a", 1]}, "then": "big"}], "default": "small"}}}`, `{"a": 5}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, spec, doc string) {
		var s, d bson.D
		if bson.UnmarshalExtJSON([]byte(spec), false, &s) != nil || bson.UnmarshalExtJSON([]byte(doc), false, &d) != nil {
			return
		}
		if len(s) == 0 {
			return
		}
		before, err := bson.Marshal(d)
		if err != nil {
			return
		}
		e, err := Parse(s[0].Value)
		if err != nil {
			requireMongoErr(t, "Parse", err)
			return
		}
		now := bson.DateTime(1700000000000)
		r1, err1 := e.Eval(NewVars(d, now))
		r2, err2 := e.Eval(NewVars(d, now))
		if err1 != nil {
			requireMongoErr(t, "Eval", err1)
		}
		after, _ := bson.Marshal(d)
		if !bytes.Equal(before, after) {
			t.Fatalf("Eval modified its input document:\nbefore %v\nafter  %v", bson.Raw(before), bson.Raw(after))
		}
		if strings.Contains(spec, "$rand") || strings.Contains(spec, "$$NOW") || strings.Contains(spec, "$$CLUSTER_TIME") {
			return
		}
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("evaluating twice: %v then %v", err1, err2)
		}
		if err1 == nil && !sameValue(r1, r2) {
			t.Fatalf("evaluating twice gave %v then %v", r1, r2)
		}
	})
}

func requireMongoErr(t *testing.T, what string, err error) {
	t.Helper()
	var me *mongoerr.Error
	if !errors.As(err, &me) {
		t.Fatalf("%s returned a non-MongoDB error %T: %v", what, err, err)
	}
}

// sameValue compares two results by their BSON encoding (NaN == NaN).
func sameValue(a, b any) bool {
	ra, erra := bson.Marshal(bson.D{{Key: "v", Value: a}})
	rb, errb := bson.Marshal(bson.D{{Key: "v", Value: b}})
	if erra != nil || errb != nil {
		return (erra == nil) == (errb == nil)
	}
	return bytes.Equal(ra, rb)
}
