package planner

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// testEnv is an in-memory catalog with one collection db.c.
type catalogCollection = catalog.Collection

type testEnv struct {
	t    testing.TB
	cat  *catalog.Catalog
	eng  *pebble.Engine
	docs []bson.D
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	eng, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	c, err := catalog.Open(eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), "db", "c", catalog.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, cat: c, eng: eng}
}

func (e *testEnv) coll() *catalog.Collection { return e.cat.Collection("db", "c") }

func (e *testEnv) createIndexes(specs ...bson.D) {
	e.t.Helper()
	if _, _, _, err := e.cat.CreateIndexes(context.Background(), "db", "c", specs); err != nil {
		e.t.Fatalf("createIndexes %v: %v", specs, err)
	}
}

// insert inserts docs, ignoring per-document errors (duplicate keys,
// parallel arrays), and remembers the inserted ones.
func (e *testEnv) insert(docs ...bson.D) {
	e.t.Helper()
	coll := e.coll()
	err := e.cat.Write(context.Background(), storage.UpdateOptions{NoSync: true}, func(w *catalog.Writer) error {
		for _, d := range docs {
			p, err := catalog.PrepareInsert(d)
			if err != nil {
				continue
			}
			if err := w.Insert(coll, p); err == nil {
				e.docs = append(e.docs, p)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// trackedSource answers IndexMultikey from the documents themselves, as
// the catalog will once the write path records multikey markers.
type trackedSource struct {
	Source
	env *testEnv
}

func (s trackedSource) IndexMultikey(coll *catalog.Collection, ix *catalog.Index) (bool, error) {
	for _, d := range s.env.docs {
		if ix.IsMultikeyDoc(d) {
			return true, nil
		}
	}
	return false, nil
}

// conservativeSource reports every secondary index multikey, as the
// catalog does while the write path does not record multikey markers.
type conservativeSource struct{ Source }

func (conservativeSource) IndexMultikey(coll *catalog.Collection, ix *catalog.Index) (bool, error) {
	return !ix.IsID(), nil
}

// source returns a snapshot source; tracked selects exact multikey
// information, otherwise every secondary index counts as multikey.
func (e *testEnv) source(tracked bool) Source {
	e.t.Helper()
	snap, err := e.cat.Snapshot()
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { snap.Close() })
	if tracked {
		return trackedSource{Source: snap, env: e}
	}
	return conservativeSource{snap}
}

// shape renders a plan tree compactly, e.g. "LIMIT > FETCH > IXSCAN[a_1]".
func shape(n *node) string {
	s := n.stage
	if n.ix != nil {
		s += "[" + n.ix.Name
		if n.direction < 0 {
			s += ",rev"
		}
		s += "]"
	}
	switch len(n.children) {
	case 0:
		return s
	case 1:
		if n.stage != stageOr {
			return s + " > " + shape(n.children[0])
		}
	}
	parts := make([]string, len(n.children))
	for i, c := range n.children {
		parts[i] = shape(c)
	}
	return s + "(" + strings.Join(parts, ", ") + ")"
}

func drainIter(t testing.TB, it Iterator) []bson.D {
	t.Helper()
	defer it.Close()
	var out []bson.D
	for {
		raw, err := it.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var d bson.D
		if err := bson.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
}

func ext(v any) string {
	b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, false, false)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
