package query

import (
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
)

const projDoc = `{"_id": 1, "name": "n", "size": {"h": 14, "w": 21, "uom": "cm"},
 "tags": ["a", "b", "c", "d"], "items": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, 5], "status": "A",
 "grid": [[{"x": 1, "y": 1}], {"x": 2}]}`

func TestProjection(t *testing.T) {
	cases := []struct {
		spec     string
		matchPos int
		want     string
	}{
		{`{}`, -1, projDoc},
		{`{"name": 1}`, -1, `{"_id": 1, "name": "n"}`},
		{`{"name": true, "_id": 0}`, -1, `{"name": "n"}`},
		{`{"status": 1, "name": 1}`, -1, `{"_id": 1, "name": "n", "status": "A"}`},
		{`{"name": 1, "_id": 1}`, -1, `{"_id": 1, "name": "n"}`},
		{`{"_id": 1}`, -1, `{"_id": 1}`},
		{`{"_id": 0}`, -1, `{"name": "n", "size": {"h": 14, "w": 21, "uom": "cm"}, "tags": ["a", "b", "c", "d"], "items": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, 5], "status": "A", "grid": [[{"x": 1, "y": 1}], {"x": 2}]}`},
		{`{"size": 0, "tags": false, "items": 0, "grid": 0, "name": {"$numberDecimal": "0"}}`, -1, `{"_id": 1, "status": "A"}`},
		{`{"status": 2.5}`, -1, `{"_id": 1, "status": "A"}`},
		// Embedded documents and dotted paths.
		{`{"size.uom": 1}`, -1, `{"_id": 1, "size": {"uom": "cm"}}`},
		{`{"size": {"uom": 1}}`, -1, `{"_id": 1, "size": {"uom": "cm"}}`},
		{`{"size.nope": 1}`, -1, `{"_id": 1, "size": {}}`},
		{`{"name.x": 1}`, -1, `{"_id": 1}`},
		{`{"missing.x": 1}`, -1, `{"_id": 1}`},
		{`{"size.uom": 0, "_id": 0, "tags": 0, "items": 0, "grid": 0}`, -1, `{"name": "n", "size": {"h": 14, "w": 21}, "status": "A"}`},
		// Arrays of documents: scalars are dropped by inclusion, kept by exclusion.
		{`{"items.x": 1}`, -1, `{"_id": 1, "items": [{"x": 1}, {"x": 3}]}`},
		{`{"items.x": 0, "_id": 0, "name": 0, "size": 0, "tags": 0, "status": 0, "grid": 0}`, -1, `{"items": [{"y": 2}, {"y": 4}, 5]}`},
		{`{"grid.x": 1}`, -1, `{"_id": 1, "grid": [[{"x": 1}], {"x": 2}]}`},
		// $slice.
		{`{"tags": {"$slice": 2}, "_id": 0, "name": 0, "size": 0, "items": 0, "status": 0, "grid": 0}`, -1, `{"tags": ["a", "b"]}`},
		{`{"tags": {"$slice": -1}, "name": 1}`, -1, `{"_id": 1, "name": "n", "tags": ["d"]}`},
		{`{"tags": {"$slice": [1, 2]}, "name": 1}`, -1, `{"_id": 1, "name": "n", "tags": ["b", "c"]}`},
		{`{"tags": {"$slice": [-2, 5]}, "name": 1}`, -1, `{"_id": 1, "name": "n", "tags": ["c", "d"]}`},
		{`{"tags": {"$slice": [10, 5]}, "name": 1}`, -1, `{"_id": 1, "name": "n", "tags": []}`},
		{`{"tags": {"$slice": -10}, "name": 1}`, -1, `{"_id": 1, "name": "n", "tags": ["a", "b", "c", "d"]}`},
		{`{"name": {"$slice": 1}, "status": 1}`, -1, `{"_id": 1, "name": "n", "status": "A"}`},
		{`{"_id": 0, "name": 0, "size": 0, "tags": 0, "status": 0, "grid": 0, "items.x": {"$slice": 1}}`, -1, `{"items": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, 5]}`},
		// $elemMatch: the field comes after the other included fields.
		{`{"items": {"$elemMatch": {"x": 3}}}`, -1, `{"_id": 1, "items": [{"x": 3, "y": 4}]}`},
		{`{"items": {"$elemMatch": {"x": 9}}}`, -1, `{"_id": 1}`},
		{`{"items": {"$elemMatch": {"x": {"$gte": 1}}}, "name": 1, "status": 1}`, -1, `{"_id": 1, "name": "n", "status": "A", "items": [{"x": 1, "y": 2}]}`},
		{`{"tags": {"$elemMatch": {"$gt": "b"}}, "_id": 0}`, -1, `{"tags": ["c"]}`},
		// Positional.
		{`{"tags.$": 1}`, 2, `{"_id": 1, "tags": ["c"]}`},
		{`{"items.$": true, "name": 1}`, 0, `{"_id": 1, "name": "n", "items": [{"x": 1, "y": 2}]}`},
		// Literals (no expression engine needed).
		{`{"name": 1, "k": "lit"}`, -1, `{"_id": 1, "name": "n", "k": "lit"}`},
		{`{"z": null, "_id": 0}`, -1, `{"z": null}`},
		{`{"size.h": 1, "size.k": "v"}`, -1, `{"_id": 1, "size": {"h": 14, "k": "v"}}`},
		{`{"new.sub": "v", "_id": 0}`, -1, `{"new": {"sub": "v"}}`},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			p, err := NewProjection(mustD(t, c.spec), nil)
			if err != nil {
				t.Fatalf("NewProjection: %v", err)
			}
			got, err := p.Apply(mustD(t, projDoc), c.matchPos)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if g, w := toJSON(t, got), canonJSON(t, c.want); g != w {
				t.Errorf("spec %s\n got %s\nwant %s", c.spec, g, w)
			}
		})
	}
}

func TestProjectionErrors(t *testing.T) {
	cases := []struct {
		spec string
		code mongoerr.Code
		msg  string
	}{
		{`{"a": 1, "b": 0}`, 31254, "Cannot do exclusion on field b in inclusion projection"},
		{`{"a": 0, "b": 1}`, 31253, "Cannot do inclusion on field b in exclusion projection"},
		{`{"a": 0, "b": "lit"}`, 31252, ""},
		{`{"a": 0, "b": {"$elemMatch": {"x": 1}}}`, 31253, ""},
		{`{"a": 1, "a.b": 1}`, 31249, "Path collision at a.b remaining portion b"},
		{`{"a.b": 1, "a": 1}`, 31250, "Path collision at a"},
		{`{"a": 1, "a.b.c": 0}`, 31254, ""},
		{`{"a": {"$slice": 1}, "a.b": 1}`, 31249, ""},
		{`{"a": {}}`, 51270, ""},
		{`{"a.$": 1, "b.$": 1}`, 31276, ""},
		{`{"a.$": 0}`, mongoerr.BadValue, ""},
		{`{"a.$.b": 1}`, 31394, ""},
		{`{"a": {"$slice": "x"}}`, 28667, ""},
		{`{"a": {"$slice": [1, 0]}}`, 28667, ""},
		{`{"a": {"$slice": [1]}}`, 28667, ""},
		{`{"a.b": {"$elemMatch": {"x": 1}}}`, mongoerr.BadValue, ""},
		{`{"a": {"$elemMatch": 1}}`, mongoerr.BadValue, ""},
		{`{"a": {"$elemMatch": {"x": {"$bad": 1}}}}`, mongoerr.BadValue, ""},
		{`{"a": {"$meta": "textScore"}}`, mongoerr.NotImplemented, ""},
		{`{"$a": 1}`, mongoerr.Location16410, ""},
		{`{"": 1}`, 40352, ""},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			_, err := NewProjection(mustD(t, c.spec), nil)
			wantCode(t, err, c.code)
			if c.msg != "" && err.Error() != c.msg {
				t.Errorf("message %q, want %q", err.Error(), c.msg)
			}
		})
	}
}

func TestProjectionPositionalNoMatch(t *testing.T) {
	p, err := NewProjection(mustD(t, `{"tags.$": 1}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, pos := range []int{-1, 4} {
		_, err = p.Apply(mustD(t, projDoc), pos)
		wantCode(t, err, 51246)
	}
	// The positional path through a non-array is an error too.
	p, err = NewProjection(mustD(t, `{"name.$": 1}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Apply(mustD(t, projDoc), 0)
	wantCode(t, err, 51246)
}

func TestProjectionExpressions(t *testing.T) {
	cases := []struct{ spec, want string }{
		{`{"y": "$name", "_id": 0}`, `{"y": "n"}`},
		{`{"z": {"$add": [1, 2]}, "name": 1}`, `{"_id": 1, "name": "n", "z": 3}`},
		{`{"x": {"$literal": 1}}`, `{"_id": 1, "x": 1}`},
		{`{"h": "$size.h", "_id": 0}`, `{"h": 14}`},
		{`{"m": "$missing", "_id": 0}`, `{}`},
		{`{"_id": "$name", "status": 1}`, `{"_id": "n", "status": "A"}`},
		{`{"arr": ["$name", 1], "_id": 0}`, `{"arr": ["n", 1]}`},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			p, err := NewProjection(mustD(t, c.spec), nil)
			skipIfExprMissing(t, err)
			if err != nil {
				t.Fatalf("NewProjection: %v", err)
			}
			got, err := p.Apply(mustD(t, projDoc), -1)
			skipIfExprMissing(t, err)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if g, w := toJSON(t, got), canonJSON(t, c.want); g != w {
				t.Errorf("got %s want %s", g, w)
			}
		})
	}
}
