package aggregate

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// memEnv is an in-memory Env with the Writer capability: collections are
// slices of documents keyed by "db.coll"; unique lists the unique indexes
// (besides _id) of each collection.
type memEnv struct {
	colls  map[string][]bson.D
	unique map[string][][]string
	temps  int
}

func newMemEnv() *memEnv {
	return &memEnv{colls: map[string][]bson.D{}, unique: map[string][][]string{}}
}

func (e *memEnv) Scan(ctx context.Context, db, coll string) (Source, error) {
	return SliceSource(append([]bson.D(nil), e.colls[db+"."+coll]...)), nil
}

func (e *memEnv) UniqueIndex(ctx context.Context, db, coll string, fields []string) (bool, bool, error) {
	ns := db + "." + coll
	_, exists := e.colls[ns]
	want := slices.Clone(fields)
	slices.Sort(want)
	for _, ix := range e.unique[ns] {
		got := slices.Clone(ix)
		slices.Sort(got)
		if slices.Equal(got, want) {
			return exists, exists, nil
		}
	}
	return exists, false, nil
}

type memOut struct {
	e    *memEnv
	ns   string
	docs []bson.D
}

func (e *memEnv) BeginOut(ctx context.Context, db, coll string) (OutTarget, error) {
	e.temps++
	return &memOut{e: e, ns: db + "." + coll}, nil
}

func (o *memOut) Insert(ctx context.Context, docs []bson.D) error {
	t := &memTxn{docs: o.docs, unique: o.e.unique[o.ns]}
	for _, d := range docs {
		if err := t.Insert(d); err != nil {
			return err
		}
	}
	o.docs = t.docs
	return nil
}

func (o *memOut) Commit(ctx context.Context) error {
	o.e.colls[o.ns] = o.docs
	o.e.temps--
	return nil
}

func (o *memOut) Abort(ctx context.Context) error { o.e.temps--; return nil }

func (e *memEnv) WriteBatch(ctx context.Context, db, coll string, fn func(t WriteTxn) error) error {
	ns := db + "." + coll
	t := &memTxn{docs: slices.Clone(e.colls[ns]), unique: e.unique[ns]}
	if t.docs == nil {
		t.docs = []bson.D{}
	}
	if err := fn(t); err != nil {
		return err
	}
	e.colls[ns] = t.docs
	return nil
}

type memTxn struct {
	docs   []bson.D
	unique [][]string
}

func (t *memTxn) Find(filter bson.D) ([]bson.D, error) {
	m, err := query.NewMatcher(filter, nil)
	if err != nil {
		return nil, err
	}
	var out []bson.D
	for _, d := range t.docs {
		ok, err := m.Match(d)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func (t *memTxn) conflicts(d bson.D, skip int) error {
	keys := append([][]string{{"_id"}}, t.unique...)
	for i, o := range t.docs {
		if i == skip {
			continue
		}
		for _, k := range keys {
			same := true
			for _, f := range k {
				if bsonutil.Compare(nullIfMissing(getPath(d, strings.Split(f, "."))), nullIfMissing(getPath(o, strings.Split(f, ".")))) != 0 {
					same = false
					break
				}
			}
			if same {
				return mongoerr.Newf(mongoerr.DuplicateKey, "E11000 duplicate key error dup key: %v", k)
			}
		}
	}
	return nil
}

func (t *memTxn) Insert(d bson.D) error {
	if bsonutil.IsMissing(bsonutil.Get(d, "_id")) {
		d = append(bson.D{{Key: "_id", Value: bson.NewObjectID()}}, d...)
	}
	if err := t.conflicts(d, -1); err != nil {
		return err
	}
	t.docs = append(t.docs, d)
	return nil
}

func (t *memTxn) Replace(old, d bson.D) error {
	for i, o := range t.docs {
		if bsonutil.Compare(bsonutil.Get(o, "_id"), bsonutil.Get(old, "_id")) == 0 {
			if err := t.conflicts(d, i); err != nil {
				return err
			}
			t.docs[i] = d
			return nil
		}
	}
	return mongoerr.New(mongoerr.NoSuchKey, "replace: document not found")
}

// checkColls compares collections after a run with the expected contents.
func checkColls(t *testing.T, e *memEnv, want bson.D) {
	t.Helper()
	if e.temps != 0 {
		t.Errorf("%d temporary $out collections left behind", e.temps)
	}
	for _, w := range want {
		ns := w.Key
		if !strings.Contains(ns, ".") {
			ns = "test." + ns
		}
		got := e.colls[ns]
		exp := docsOf(t, w.Value)
		gs, ws := make([]string, len(got)), make([]string, len(exp))
		for i, d := range got {
			gs[i] = extJSON(t, d)
		}
		for i, d := range exp {
			ws[i] = extJSON(t, d)
		}
		if !slices.Equal(gs, ws) {
			t.Errorf("collection %s mismatch\n got: %s\nwant: %s", ns, strings.Join(gs, "\n      "), strings.Join(ws, "\n      "))
		}
	}
}
