package planner

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// planFile is one testdata/plans/*.json file: indexes to create, the
// documents to load ("default" or a list) and query cases with the
// expected winning plan shape.
type planFile struct {
	Indexes []bson.D `bson:"indexes"`
	Docs    bson.RawValue
	Cases   []planCase `bson:"cases"`
}

type planCase struct {
	Name       string        `bson:"name"`
	Filter     bson.D        `bson:"filter"`
	Sort       bson.D        `bson:"sort"`
	Projection bson.D        `bson:"projection"`
	Hint       bson.RawValue `bson:"hint"`
	Min        bson.D        `bson:"min"`
	Max        bson.D        `bson:"max"`
	Skip       int64         `bson:"skip"`
	Limit      int64         `bson:"limit"`
	Count      bool          `bson:"count"`
	Untracked  bool          `bson:"untracked"`
	Ordered    bool          `bson:"ordered"`
	Plan       string        `bson:"plan"`
	Bounds     bson.D        `bson:"bounds"`
	Error      int32         `bson:"error"`
	N          *int64        `bson:"n"`
	Keys       *int64        `bson:"keysExamined"`
	Docs       *int64        `bson:"docsExamined"`
}

// defaultDocs are 100 documents with a mix of shapes.
func defaultDocs() []bson.D {
	var out []bson.D
	for i := int32(0); i < 100; i++ {
		d := bson.D{{Key: "_id", Value: i}, {Key: "a", Value: i % 10}, {Key: "b", Value: i}, {Key: "c", Value: "s" + string(rune('a'+i%7))}}
		if i%3 != 0 {
			d = append(d, bson.E{Key: "d", Value: i % 5})
		}
		if i%4 == 0 {
			d = append(d, bson.E{Key: "tags", Value: bson.A{i % 3, i % 5}})
		} else {
			d = append(d, bson.E{Key: "tags", Value: i % 3})
		}
		d = append(d, bson.E{Key: "e", Value: bson.D{{Key: "f", Value: i % 6}}})
		out = append(out, d)
	}
	return out
}

func hintValue(v bson.RawValue) any {
	switch v.Type {
	case bson.TypeString:
		return v.StringValue()
	case bson.TypeEmbeddedDocument:
		var d bson.D
		_ = bson.Unmarshal(v.Value, &d)
		return d
	}
	return nil
}

func TestPlans(t *testing.T) {
	files, err := filepath.Glob("testdata/plans/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no plan files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var pf planFile
			var raw bson.Raw
			if err := bson.UnmarshalExtJSON(data, false, &raw); err != nil {
				t.Fatalf("parse %s: %v", file, err)
			}
			if err := bson.Unmarshal(raw, &pf); err != nil {
				t.Fatalf("decode %s: %v", file, err)
			}
			pf.Docs = raw.Lookup("docs")
			env := newEnv(t)
			if len(pf.Indexes) > 0 {
				env.createIndexes(pf.Indexes...)
			}
			var docs []bson.D
			if pf.Docs.Type == bson.TypeArray {
				var a []bson.D
				if err := bson.UnmarshalValue(pf.Docs.Type, pf.Docs.Value, &a); err != nil {
					t.Fatal(err)
				}
				docs = a
			} else {
				docs = defaultDocs()
			}
			env.insert(docs...)
			for _, pc := range pf.Cases {
				t.Run(pc.Name, func(t *testing.T) { runPlanCase(t, env, pc) })
			}
		})
	}
}

func runPlanCase(t *testing.T, env *testEnv, pc planCase) {
	src := env.source(!pc.Untracked)
	coll := env.coll()
	q := &Query{Filter: pc.Filter, Sort: pc.Sort, Projection: pc.Projection, Skip: pc.Skip, Limit: pc.Limit,
		Hint: hintValue(pc.Hint), Min: pc.Min, Max: pc.Max}
	kind := ExplainFind
	if pc.Count {
		kind = ExplainCount
	}
	ex, err := Explain(src, coll, "db.c", q, kind, VerbosityExecutionStats)
	if pc.Error != 0 {
		var me *mongoerr.Error
		if !errors.As(err, &me) || int32(me.Code) != pc.Error {
			t.Fatalf("error %v, want code %d", err, pc.Error)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	// Re-plan to read the tree shape.
	p, err := prepare(src, coll, q, pc.Count)
	if err != nil {
		t.Fatal(err)
	}
	if p.it != nil {
		p.it.close()
	}
	if got := shape(p.sol.root); got != pc.Plan {
		t.Errorf("plan %q, want %q", got, pc.Plan)
	}
	if pc.Bounds != nil {
		ixn := findStage(p.sol.root, stageIXScan, stageCountScan)
		if ixn == nil {
			t.Fatalf("no IXSCAN in %s", shape(p.sol.root))
		}
		if got := ixn.bounds.display(ixn.direction < 0); ext(got) != ext(pc.Bounds) {
			t.Errorf("bounds %s, want %s", ext(got), ext(pc.Bounds))
		}
	}
	es := bsonutil.Get(ex, "executionStats").(bson.D)
	if pc.Keys != nil {
		if got := bsonutil.Get(es, "totalKeysExamined"); got != *pc.Keys {
			t.Errorf("totalKeysExamined %v, want %d", got, *pc.Keys)
		}
	}
	if pc.Docs != nil {
		if got := bsonutil.Get(es, "totalDocsExamined"); got != *pc.Docs {
			t.Errorf("totalDocsExamined %v, want %d", got, *pc.Docs)
		}
	}
	// The answer must equal a collection scan's (as a set unless the
	// case says the sort is total).
	var want []string
	minMax := q.Min != nil || q.Max != nil
	if !minMax {
		want = collScanAnswer(t, src, env, q, pc.Count)
	}
	var got []string
	if pc.Count {
		n, err := Count(src, coll, q)
		if err != nil {
			t.Fatal(err)
		}
		got = []string{ext(n)}
	} else {
		it, err := Find(src, coll, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range drainIter(t, it) {
			got = append(got, ext(d))
		}
	}
	if !pc.Ordered {
		sort.Strings(got)
		sort.Strings(want)
	}
	if !minMax && ext(got) != ext(want) {
		t.Errorf("answer differs from a collection scan:\n got %v\nwant %v", got, want)
	}
	if pc.N != nil && !pc.Count && int64(len(got)) != *pc.N {
		t.Errorf("%d results, want %d", len(got), *pc.N)
	}
}

func collScanAnswer(t *testing.T, src Source, env *testEnv, q *Query, count bool) []string {
	t.Helper()
	cq := *q
	cq.Hint = bson.D{{Key: "$natural", Value: int32(1)}}
	if count {
		n, err := Count(src, env.coll(), &cq)
		if err != nil {
			t.Fatal(err)
		}
		return []string{ext(n)}
	}
	it, err := Find(src, env.coll(), &cq)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range drainIter(t, it) {
		out = append(out, ext(d))
	}
	return out
}

func findStage(n *node, stages ...string) *node {
	for _, s := range stages {
		if n.stage == s {
			return n
		}
	}
	for _, c := range n.children {
		if f := findStage(c, stages...); f != nil {
			return f
		}
	}
	return nil
}
