package update

import (
	"fmt"
	"github.com/cairndb/cairn/internal/collation"
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/aggregate"
	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Options configures Parse.
type Options struct {
	// ArrayFilters is the update command's arrayFilters.
	ArrayFilters []bson.D
	// Vars holds let variables and $$NOW (may be nil).
	Vars *expr.Vars
	// Collation applies to $pull conditions and arrayFilters.
	Collation *collation.Collation
}

// Kind is the style of an update specification.
type Kind int

// Update styles.
const (
	// Replacement replaces the whole document (keeping its _id).
	Replacement Kind = iota + 1
	// Operators applies update operators such as $set and $inc.
	Operators
	// Pipeline is an aggregation-pipeline-style update.
	Pipeline
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Replacement:
		return "replacement"
	case Operators:
		return "operators"
	case Pipeline:
		return "pipeline"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Update is a parsed update specification. It is safe for concurrent use.
type Update struct {
	kind        Kind
	replacement bson.D
	mods        []*modifier
	filters     map[string]*arrayFilter
	vars        *expr.Vars
	pipeline    *aggregate.Pipeline
	// raw holds the fields ApplyRaw sets and rawNames their names (see
	// prepareRaw); both nil when the update needs Apply.
	raw      []rawField
	rawNames []string
}

// ApplyContext carries per-document inputs of Apply.
type ApplyContext struct {
	// MatchPos is the array position matched by the query (for the
	// positional "$" operator), -1 if none.
	MatchPos int
	// Inserting is true when the document is being inserted by an upsert
	// ($setOnInsert applies only then).
	Inserting bool
	// Now is the time $currentDate sets.
	Now bson.DateTime
}

// Kind returns the update's style.
func (u *Update) Kind() Kind { return u.kind }

// Parse compiles an update specification: a bson.D holding either update
// operators or a replacement document, or a bson.A pipeline. Errors are
// *mongoerr.Error values with MongoDB's codes and messages.
func Parse(spec any, opts *Options) (*Update, error) {
	if opts == nil {
		opts = &Options{}
	}
	switch s := spec.(type) {
	case bson.A:
		if len(opts.ArrayFilters) > 0 {
			return nil, mongoerr.New(mongoerr.FailedToParse, "arrayFilters may not be specified for pipeline-syle updates")
		}
		u := &Update{kind: Pipeline, vars: opts.Vars}
		if err := u.parsePipeline(s, opts); err != nil {
			return nil, err
		}
		return u, nil
	case bson.D:
		filters, err := parseArrayFilters(opts)
		if err != nil {
			return nil, err
		}
		u := &Update{filters: filters, vars: opts.Vars}
		if len(s) > 0 && strings.HasPrefix(s[0].Key, "$") {
			u.kind = Operators
			if err := u.parseOperators(s); err != nil {
				return nil, err
			}
			u.prepareRaw()
		} else {
			u.kind = Replacement
			if err := u.parseReplacement(s); err != nil {
				return nil, err
			}
		}
		for _, id := range sortedKeys(filters) {
			if !filters[id].used {
				return nil, mongoerr.Newf(mongoerr.FailedToParse,
					"The array filter for identifier '%s' was not used in the update %s", id, fmtValue(s))
			}
		}
		return u, nil
	}
	return nil, mongoerr.New(mongoerr.FailedToParse, "Update argument must be either an object or an array")
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (u *Update) parseReplacement(d bson.D) error {
	for _, e := range d {
		if strings.HasPrefix(e.Key, "$") {
			return mongoerr.Newf(mongoerr.DollarPrefixedFieldName,
				"The dollar ($) prefixed field '%s' in '%s' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.",
				e.Key, e.Key)
		}
	}
	u.replacement = d
	return nil
}

// Apply applies the update to doc and returns the new document and whether
// it differs from doc. doc is not mutated; the result may share unchanged
// subdocuments with doc.
func (u *Update) Apply(doc bson.D, ac *ApplyContext) (bson.D, bool, error) {
	if ac == nil {
		ac = &ApplyContext{MatchPos: -1}
	}
	switch u.kind {
	case Replacement:
		return u.applyReplacement(doc)
	case Operators:
		return u.applyOperators(doc, ac)
	}
	return u.applyPipeline(doc)
}

func (u *Update) applyReplacement(doc bson.D) (bson.D, bool, error) {
	return replaceDoc(doc, u.replacement, true)
}

// replaceDoc returns repl with doc's _id first (repl's own _id must equal
// it). copyValues deep-copies repl's values.
func replaceDoc(doc, repl bson.D, copyValues bool) (bson.D, bool, error) {
	cp := func(v any) any {
		if copyValues {
			return bsonutil.DeepCopy(v)
		}
		return v
	}
	out := make(bson.D, 0, len(repl)+1)
	oldID := bsonutil.Get(doc, "_id")
	newID := bsonutil.Get(repl, "_id")
	switch {
	case !bsonutil.IsMissing(newID):
		if !bsonutil.IsMissing(oldID) && !identical(oldID, newID) {
			return nil, false, mongoerr.Newf(mongoerr.ImmutableField,
				"After applying the update, the (immutable) field '_id' was found to have been altered to _id: %s", fmtValue(newID))
		}
		out = append(out, bson.E{Key: "_id", Value: cp(newID)})
	case !bsonutil.IsMissing(oldID):
		out = append(out, bson.E{Key: "_id", Value: oldID})
	}
	for _, e := range repl {
		if e.Key == "_id" {
			continue
		}
		out = append(out, bson.E{Key: e.Key, Value: cp(e.Value)})
	}
	return out, !identical(doc, out), nil
}

func (u *Update) applyOperators(doc bson.D, ac *ApplyContext) (bson.D, bool, error) {
	a := &applier{u: u, ac: ac, orig: doc}
	cur := doc
	changed := false
	for _, m := range u.mods {
		if m.onInsertOnly && !ac.Inserting {
			continue
		}
		var nd bson.D
		var ch bool
		var err error
		if m.op == "$rename" {
			nd, ch, err = a.rename(cur, m)
		} else {
			var nv any
			nv, ch, err = a.walk(cur, m.parts, 0, "", m)
			if ch {
				nd = nv.(bson.D)
			}
		}
		if err != nil {
			return nil, false, err
		}
		if ch {
			cur, changed = nd, true
		}
	}
	if !changed {
		return doc, false, nil
	}
	if oldID := bsonutil.Get(doc, "_id"); !bsonutil.IsMissing(oldID) {
		if newID := bsonutil.Get(cur, "_id"); !identical(oldID, newID) {
			return nil, false, mongoerr.Newf(mongoerr.ImmutableField,
				"Performing an update on the path '%s' would modify the immutable field '_id'", u.idPath())
		}
	}
	if identical(doc, cur) {
		return doc, false, nil
	}
	return cur, true, nil
}

// idPath returns the first update path that touches _id.
func (u *Update) idPath() string {
	for _, m := range u.mods {
		if m.parts[0] == "_id" {
			return m.path
		}
		if m.from != nil && m.from[0] == "_id" {
			return m.fromPath
		}
	}
	return "_id"
}
