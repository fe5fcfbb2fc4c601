package query

import (
	"errors"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// mustD parses relaxed Extended JSON into a bson.D.
func mustD(t *testing.T, js string) bson.D {
	t.Helper()
	var d bson.D
	if err := bson.UnmarshalExtJSON([]byte(js), false, &d); err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return d
}

// mustDocs parses a JSON array of documents.
func mustDocs(t *testing.T, js string) []bson.D {
	t.Helper()
	w := mustD(t, `{"v": `+js+`}`)
	arr := w[0].Value.(bson.A)
	out := make([]bson.D, len(arr))
	for i, a := range arr {
		out[i] = a.(bson.D)
	}
	return out
}

// toJSON renders a document as relaxed Extended JSON for comparisons.
func toJSON(t *testing.T, d bson.D) string {
	t.Helper()
	b, err := bson.MarshalExtJSON(d, false, false)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// canonJSON normalizes a JSON document through a parse/print round trip.
func canonJSON(t *testing.T, js string) string {
	t.Helper()
	return toJSON(t, mustD(t, js))
}

// wantCode checks that err is a *mongoerr.Error with the given code.
func wantCode(t *testing.T, err error, code mongoerr.Code) {
	t.Helper()
	var me *mongoerr.Error
	if !errors.As(err, &me) {
		t.Fatalf("want error code %d, got %v", code, err)
	}
	if me.Code != code {
		t.Fatalf("want error code %d, got %d (%s)", code, me.Code, me.Msg)
	}
}

// skipIfExprMissing skips a test when internal/expr is still a stub.
func skipIfExprMissing(t *testing.T, err error) {
	t.Helper()
	if mongoerr.Is(err, mongoerr.NotImplemented) {
		t.Skipf("skipping: internal/expr is not implemented yet (%v)", err)
	}
}

func ids(docs []bson.D) []any {
	out := make([]any, 0, len(docs))
	for _, d := range docs {
		out = append(out, d[0].Value)
	}
	return out
}
