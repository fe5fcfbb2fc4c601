package aggregate

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/cairndb/cairn/internal/bsonutil"
)

// Deps says which parts of its input documents a pipeline can read: either
// whole documents (All), or only the top-level fields listed in Fields.
// A caller that produces the input may then decode just those fields
// (dotted paths count as their first component; a field missing from a
// document is simply absent). The analysis is conservative: a stage it
// cannot analyze, or any whole-document access ($$ROOT, $$CURRENT,
// $getField without input, $where, $redact, ...), makes it All.
type Deps struct {
	All    bool
	Fields []string // in first-mention order; nil or empty when none
}

// Dependencies analyzes the pipeline as MongoDB's dependency tracker
// does: the stages are walked in order, each adding the fields it reads,
// until a stage whose output is built only from what it read ($group,
// $project in inclusion mode, $replaceRoot, $count, $bucket, $facet ...)
// ends the walk. A pipeline that reaches its end without such a stage
// returns its input documents (or parts of them not known in advance) and
// needs them whole.
func (p *Pipeline) Dependencies() Deps {
	t := newDepsTracker()
	if t.stages(p.stages) {
		return t.result()
	}
	return Deps{All: true}
}

// FilterDeps returns the top-level fields a query filter reads (All for
// $where, $text, $jsonSchema and other whole-document operators).
func FilterDeps(filter bson.D) Deps {
	t := newDepsTracker()
	t.filter(filter)
	return t.result()
}

// depsTracker accumulates the top-level fields read.
type depsTracker struct {
	all    bool
	fields []string
	seen   map[string]bool
}

func newDepsTracker() *depsTracker { return &depsTracker{seen: map[string]bool{}} }

func (t *depsTracker) result() Deps {
	if t.all {
		return Deps{All: true}
	}
	return Deps{Fields: t.fields}
}

// stages walks stages in order and reports whether one of them ended the
// walk (the set of fields is then final, unless t.all was set).
func (t *depsTracker) stages(stages []Stage) bool {
	for _, st := range stages {
		if t.all {
			return true
		}
		if t.stage(st) {
			return true
		}
	}
	return t.all
}

// field adds the top-level field of a dotted path.
func (t *depsTracker) field(path string) {
	if i := strings.IndexByte(path, '.'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		t.all = true
		return
	}
	if !t.seen[path] {
		t.seen[path] = true
		t.fields = append(t.fields, path)
	}
}

// stage adds what st reads and reports whether it ends the walk.
func (t *depsTracker) stage(st Stage) (final bool) {
	spec := st.Spec()[0].Value
	switch s := st.(type) {
	case *matchStage:
		t.filter(s.filter)
		return false
	case *limitStage, *skipStage, *sampleStage, *unsetStage:
		// $unset only removes fields: what it removed is absent either
		// way.
		return false
	case *sortStage:
		for _, e := range s.spec {
			if _, isMeta := e.Value.(bson.D); isMeta {
				t.all = true // {$meta: ...}
				return true
			}
			t.field(e.Key)
		}
		return false
	case *projectStage:
		return t.projection(s, spec)
	case *groupStage:
		t.groupSpec(spec)
		return true
	case *countStage:
		return true
	case *sortByCountStage:
		t.expr(spec)
		return true
	case *bucketStage, *bucketAutoStage:
		d, _ := spec.(bson.D)
		for _, e := range d {
			switch e.Key {
			case "groupBy":
				t.expr(e.Value)
			case "output":
				t.groupSpec(e.Value)
			}
		}
		return true
	case *replaceRootStage:
		if d, ok := spec.(bson.D); ok && st.Name() == "$replaceRoot" {
			for _, e := range d {
				t.expr(e.Value)
			}
		} else {
			t.expr(spec)
		}
		return true
	case *unwindStage:
		t.field(strings.Join(s.path, "."))
		if s.index != nil {
			t.field(strings.Join(s.index, "."))
		}
		return false
	case *facetStage:
		// Every sub-pipeline reads the same input; the output is one
		// document of arrays built from their results.
		for _, p := range s.pipes {
			if !t.stages(p.stages) {
				t.all = true
			}
			if t.all {
				break
			}
		}
		return true
	case *lookupStage:
		if s.localField != "" {
			t.field(s.localField)
		}
		d, _ := spec.(bson.D)
		for _, e := range d {
			if e.Key == "let" {
				if ld, ok := e.Value.(bson.D); ok {
					for _, l := range ld {
						t.expr(l.Value)
					}
				} else {
					t.all = true
				}
			}
		}
		t.field(strings.Join(s.as, "."))
		return false
	case *graphLookupStage:
		d, _ := spec.(bson.D)
		for _, e := range d {
			if e.Key == "startWith" {
				t.expr(e.Value)
			}
		}
		t.field(strings.Join(s.as, "."))
		return false
	case *unionWithStage:
		// The union's documents come from another collection; the
		// input documents pass through unchanged.
		return false
	}
	// $redact, $setWindowFields, $densify, $fill, $out, $merge,
	// $documents, $collStats, ... : whole documents.
	t.all = true
	return true
}

// projection handles $project, $addFields and $set.
func (t *depsTracker) projection(s *projectStage, spec any) bool {
	d, ok := spec.(bson.D)
	if !ok {
		t.all = true
		return true
	}
	switch s.p.mode {
	case modeExclusion:
		// Passes every other field through unchanged.
		return false
	case modeAddFields:
		// Computed fields read what their expressions read; the target
		// fields themselves are added too (a nested target is merged
		// into the existing value).
		t.projLevel(d, true)
		return false
	}
	// Inclusion: the output holds only the included and computed fields
	// (and _id unless excluded, which adding it regardless covers).
	t.field("_id")
	t.projLevel(d, true)
	return true
}

// projLevel adds, for one level of a projection spec, the fields named
// (top-level ones only when top is set) and the dependencies of computed
// values.
func (t *depsTracker) projLevel(d bson.D, top bool) {
	for _, e := range d {
		if top {
			t.field(e.Key)
		}
		switch v := e.Value.(type) {
		case bson.D:
			if isExpressionObject(v) {
				t.expr(v)
			} else {
				t.projLevel(v, false)
			}
		default:
			if !bsonutil.IsBoolOrNumber(v) {
				t.expr(v)
			}
		}
	}
}

// groupSpec adds the dependencies of a $group specification (or of the
// output of $bucket/$bucketAuto): the _id expression and every
// accumulator's arguments.
func (t *depsTracker) groupSpec(spec any) {
	d, ok := spec.(bson.D)
	if !ok {
		t.all = true
		return
	}
	for _, e := range d {
		if e.Key == "_id" {
			t.expr(e.Value)
			continue
		}
		acc, ok := e.Value.(bson.D)
		if !ok || len(acc) != 1 {
			t.all = true
			return
		}
		t.accumulator(acc[0].Key, acc[0].Value)
	}
}

// accumulator adds what {op: arg} reads of each document.
func (t *depsTracker) accumulator(op string, arg any) {
	switch op {
	case "$top", "$bottom", "$topN", "$bottomN":
		// sortBy names fields (it is not an expression).
		d, ok := arg.(bson.D)
		if !ok {
			t.all = true
			return
		}
		for _, e := range d {
			if e.Key != "sortBy" {
				t.expr(e.Value)
				continue
			}
			sd, ok := e.Value.(bson.D)
			if !ok {
				t.all = true
				return
			}
			for _, k := range sd {
				if _, isMeta := k.Value.(bson.D); isMeta {
					t.all = true
					return
				}
				t.field(k.Key)
			}
		}
	case "$accumulator", "$function":
		t.all = true
	default:
		t.expr(arg)
	}
}

// expr adds the dependencies of an aggregation expression given as its
// specification.
func (t *depsTracker) expr(spec any) {
	if t.all {
		return
	}
	switch v := spec.(type) {
	case string:
		t.pathString(v)
	case bson.D:
		if isExpressionObject(v) {
			t.operator(v[0].Key, v[0].Value)
			// An expression object has one field; anything else is an
			// error at parse time, but stay safe.
			for _, e := range v[1:] {
				t.expr(e.Value)
			}
			return
		}
		for _, e := range v {
			t.expr(e.Value)
		}
	case bson.A:
		for _, e := range v {
			t.expr(e)
		}
	case []any:
		for _, e := range v {
			t.expr(e)
		}
	case bson.M, bson.Raw, map[string]any:
		t.all = true
	}
}

// pathString handles "$a.b" field paths and "$$var.path" references.
func (t *depsTracker) pathString(s string) {
	if !strings.HasPrefix(s, "$") {
		return
	}
	if !strings.HasPrefix(s, "$$") {
		t.field(s[1:])
		return
	}
	name, rest, dotted := strings.Cut(s[2:], ".")
	switch name {
	case "ROOT", "CURRENT":
		if !dotted {
			t.all = true
			return
		}
		t.field(rest)
	case "DESCEND", "KEEP", "PRUNE":
		t.all = true
	}
}

// operator adds the dependencies of {op: arg}.
func (t *depsTracker) operator(op string, arg any) {
	switch op {
	case "$literal":
		return // not evaluated
	case "$getField", "$setField", "$unsetField", "$function", "$accumulator", "$meta":
		// $getField reads $$CURRENT when no input is given, and names
		// fields that may contain dots or start with '$'.
		t.all = true
		return
	case "$let":
		// A variable named like a system variable would rebind it.
		if d, ok := arg.(bson.D); ok {
			for _, e := range d {
				if vd, ok := e.Value.(bson.D); ok && e.Key == "vars" {
					for _, v := range vd {
						if v.Key == "CURRENT" || v.Key == "ROOT" {
							t.all = true
							return
						}
					}
				}
			}
		}
	case "$map", "$filter", "$reduce", "$sortArray":
		if d, ok := arg.(bson.D); ok {
			for _, e := range d {
				if e.Key == "as" && (e.Value == "CURRENT" || e.Value == "ROOT") {
					t.all = true
					return
				}
			}
		}
	}
	t.expr(arg)
}

// filter adds the dependencies of a query filter.
func (t *depsTracker) filter(f bson.D) {
	for _, e := range f {
		if t.all {
			return
		}
		switch e.Key {
		case "$and", "$or", "$nor":
			arr, ok := e.Value.(bson.A)
			if !ok {
				t.all = true
				return
			}
			for _, c := range arr {
				cd, ok := c.(bson.D)
				if !ok {
					t.all = true
					return
				}
				t.filter(cd)
			}
		case "$expr":
			t.expr(e.Value)
		case "$comment", "$alwaysTrue", "$alwaysFalse":
		default:
			if strings.HasPrefix(e.Key, "$") {
				// $where, $text, $jsonSchema, ...: the whole document.
				t.all = true
				return
			}
			t.field(e.Key)
		}
	}
}
