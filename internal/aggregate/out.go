package aggregate

import (
	"context"
	"io"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Writer is an optional capability of an Env, found by type assertion,
// that $out and $merge write through.
type Writer interface {
	// BeginOut starts replacing db.coll: the returned OutTarget collects
	// documents in a temporary collection that Commit atomically renames
	// over db.coll (keeping db.coll's indexes) and Abort drops.
	BeginOut(ctx context.Context, db, coll string) (OutTarget, error)
	// WriteBatch runs fn in one write transaction on db.coll, creating the
	// collection first if it does not exist. If fn fails nothing of it is
	// applied.
	WriteBatch(ctx context.Context, db, coll string, fn func(t WriteTxn) error) error
	// UniqueIndex reports whether db.coll exists and whether it has a
	// unique, non-partial index whose key fields are exactly fields (in
	// any order).
	UniqueIndex(ctx context.Context, db, coll string, fields []string) (exists, found bool, err error)
}

// OutTarget is a $out in progress.
type OutTarget interface {
	// Insert inserts documents (failing with DuplicateKey on a repeated
	// _id or unique key).
	Insert(ctx context.Context, docs []bson.D) error
	Commit(ctx context.Context) error
	Abort(ctx context.Context) error
}

// WriteTxn is the view of one collection inside a write transaction.
type WriteTxn interface {
	// Find returns the documents matching an equality filter.
	Find(filter bson.D) ([]bson.D, error)
	// Insert inserts doc (an _id is generated if it has none).
	Insert(doc bson.D) error
	// Replace replaces the stored document old (as returned by Find) with
	// doc, which has the same _id.
	Replace(old, doc bson.D) error
}

// outBatchSize is the number of documents $out and $merge write per
// transaction.
const outBatchSize = 1000

// checkOutputStage applies the placement rules of $out and $merge.
func checkOutputStage(pc *parseCtx, name string) error {
	switch {
	case pc.facet:
		return mongoerr.Newf(40600, "%s is not allowed to be used within a $facet stage", name)
	case pc.inSub:
		return mongoerr.Newf(51047, "%s is not allowed to be used within a $lookup or $unionWith stage", name)
	case !pc.last:
		return mongoerr.Newf(40601, "%s can only be the final stage in the pipeline", name)
	}
	return nil
}

// parseNamespace parses "coll" or {db, coll} for $out / $merge.
func parseNamespace(pc *parseCtx, stage string, v any, typeCode mongoerr.Code) (db, coll string, err error) {
	db = pc.opts.DB
	switch x := v.(type) {
	case string:
		coll = x
	case bson.D:
		hasColl := false
		for _, e := range x {
			switch e.Key {
			case "db":
				s, ok := e.Value.(string)
				if !ok {
					return "", "", mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.db' is the wrong type '%s', expected type 'string'", stage, bsonutil.TypeName(e.Value))
				}
				db = s
			case "coll":
				s, ok := e.Value.(string)
				if !ok {
					return "", "", mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.coll' is the wrong type '%s', expected type 'string'", stage, bsonutil.TypeName(e.Value))
				}
				coll, hasColl = s, true
			case "timeseries":
				return "", "", mongoerr.Newf(mongoerr.NotImplemented, "%s to a time-series collection is not supported", stage)
			default:
				return "", "", mongoerr.Newf(40415, "BSON field '%s.%s' is an unknown field.", stage, e.Key)
			}
		}
		if !hasColl {
			return "", "", mongoerr.Newf(40414, "BSON field '%s.coll' is missing but a required field", stage)
		}
	default:
		return "", "", mongoerr.Newf(typeCode, "%s stage requires a string or object argument, but found %s", stage, bsonutil.TypeName(v))
	}
	if coll == "" || db == "" || strings.ContainsAny(db, "/\\. \"$") || strings.ContainsRune(coll, 0) || strings.HasPrefix(coll, "$") {
		return "", "", mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid %s target namespace: '%s.%s'", stage, db, coll)
	}
	if strings.HasPrefix(coll, "system.") {
		if stage == "$out" {
			return "", "", mongoerr.Newf(17385, "Can't $out to special collection: %s", coll)
		}
		return "", "", mongoerr.Newf(31319, "Cannot %s to special collection: %s", stage, coll)
	}
	return db, coll, nil
}

// envCapability returns env as the optional capability T (Writer,
// StatsReader, SessionLister) that stage needs, failing with
// NotImplemented when env (possibly nil) does not provide it.
func envCapability[T any](env Env, stage string) (T, error) {
	c, ok := env.(T)
	if !ok {
		return c, mongoerr.Newf(mongoerr.NotImplemented, "%s is not available in this context", stage)
	}
	return c, nil
}

// ---- $out ----

type outStage struct {
	baseStage
	pc       *parseCtx
	db, coll string
}

func parseOut(pc *parseCtx, name string, spec any) (Stage, error) {
	if err := checkOutputStage(pc, name); err != nil {
		return nil, err
	}
	db, coll, err := parseNamespace(pc, name, spec, 16990)
	if err != nil {
		return nil, err
	}
	return &outStage{baseStage: baseStage{name, spec}, pc: pc, db: db, coll: coll}, nil
}

func (s *outStage) open(ctx context.Context, in Source) (Source, error) {
	done := false
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		w, err := envCapability[Writer](s.pc.opts.Env, "$out")
		if err != nil {
			return nil, err
		}
		t, err := w.BeginOut(ctx, s.db, s.coll)
		if err != nil {
			return nil, err
		}
		err = drainBatches(ctx, in, func(batch []bson.D) error { return t.Insert(ctx, batch) })
		if err == nil {
			err = t.Commit(ctx)
		}
		if err != nil {
			_ = t.Abort(context.WithoutCancel(ctx)) // the pipeline's error matters more
			return nil, err
		}
		return nil, io.EOF
	}}, nil
}

// ---- $merge ----

const (
	mergeReplace      = "replace"
	mergeKeepExisting = "keepExisting"
	mergeMerge        = "merge"
	mergeFail         = "fail"
	mergePipeline     = "pipeline"
	mergeInsert       = "insert"
	mergeDiscard      = "discard"
)

type mergeStage struct {
	baseStage
	pc             *parseCtx
	db, coll       string
	on             []string
	onExplicit     bool
	whenMatched    string
	pipeline       []bson.D // whenMatched pipeline
	lets           []letVar
	whenNotMatched string
}

// updatePipelineStages are the stages allowed in a whenMatched pipeline.
var updatePipelineStages = map[string]bool{
	"$addFields": true, "$set": true, "$project": true, "$unset": true,
	"$replaceRoot": true, "$replaceWith": true,
}

func parseMerge(pc *parseCtx, name string, spec any) (Stage, error) {
	if err := checkOutputStage(pc, name); err != nil {
		return nil, err
	}
	st := &mergeStage{baseStage: baseStage{name, spec}, pc: pc, on: []string{"_id"},
		whenMatched: mergeMerge, whenNotMatched: mergeInsert}
	var into any = bsonutil.Missing
	var letSpec bson.D
	hasLet := false
	switch v := spec.(type) {
	case string:
		into = v
	case bson.D:
		for _, e := range v {
			switch e.Key {
			case "into":
				into = e.Value
			case "on":
				on, err := parseMergeOn(e.Value)
				if err != nil {
					return nil, err
				}
				st.on, st.onExplicit = on, true
			case "let":
				d, ok := e.Value.(bson.D)
				if !ok {
					return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$merge.let' is the wrong type '%s', expected type 'object'", bsonutil.TypeName(e.Value))
				}
				letSpec, hasLet = d, true
			case "whenMatched":
				switch w := e.Value.(type) {
				case string:
					switch w {
					case mergeReplace, mergeKeepExisting, mergeMerge, mergeFail:
						st.whenMatched = w
					default:
						return nil, mongoerr.Newf(mongoerr.BadValue, "Enumeration value '%s' for field '$merge.whenMatched' is not a valid value.", w)
					}
				case bson.A:
					docs, err := toStageList(w, "$merge.whenMatched", 51191)
					if err != nil {
						return nil, err
					}
					for _, d := range docs {
						if len(d) != 1 {
							return nil, mongoerr.New(40323, "A pipeline stage specification object must contain exactly one field.")
						}
						if !updatePipelineStages[d[0].Key] {
							return nil, mongoerr.Newf(mongoerr.InvalidOptions, "%s is not allowed to be used within an update", d[0].Key)
						}
					}
					// Check the stages parse; they are parsed again per
					// document with $$new bound.
					sub := *pc
					sub.inSub, sub.facet = true, false
					if _, err := parsePipeline(docs, &sub); err != nil {
						return nil, err
					}
					st.whenMatched, st.pipeline = mergePipeline, docs
				default:
					return nil, mongoerr.Newf(51191, "$merge 'whenMatched' field must be either a string or an array, but found %s", bsonutil.TypeName(e.Value))
				}
			case "whenNotMatched":
				w, ok := e.Value.(string)
				if !ok {
					return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$merge.whenNotMatched' is the wrong type '%s', expected type 'string'", bsonutil.TypeName(e.Value))
				}
				switch w {
				case mergeInsert, mergeDiscard, mergeFail:
					st.whenNotMatched = w
				default:
					return nil, mongoerr.Newf(mongoerr.BadValue, "Enumeration value '%s' for field '$merge.whenNotMatched' is not a valid value.", w)
				}
			case "targetCollectionVersion":
			default:
				return nil, mongoerr.Newf(40415, "BSON field '$merge.%s' is an unknown field.", e.Key)
			}
		}
	default:
		return nil, mongoerr.Newf(51182, "$merge requires a string or object argument, but found %s", bsonutil.TypeName(spec))
	}
	if bsonutil.IsMissing(into) {
		return nil, mongoerr.New(40414, "BSON field '$merge.into' is missing but a required field")
	}
	if _, ok := into.(bson.D); !ok {
		if _, ok := into.(string); !ok {
			return nil, mongoerr.Newf(51178, "$merge 'into' field must be either a string or an object, but found %s", bsonutil.TypeName(into))
		}
	}
	db, coll, err := parseNamespace(pc, name, into, 51178)
	if err != nil {
		return nil, err
	}
	st.db, st.coll = db, coll
	if hasLet {
		if st.whenMatched != mergePipeline {
			return nil, mongoerr.New(51199, "Cannot use 'let' variables with 'whenMatched' mode other than 'pipeline'")
		}
		for _, e := range letSpec {
			if e.Key != "new" {
				if err := checkVarName(e.Key); err != nil {
					return nil, err
				}
			}
			ex, err := parseExpr(e.Value)
			if err != nil {
				return nil, err
			}
			st.lets = append(st.lets, letVar{name: e.Key, e: ex})
		}
	}
	return st, nil
}

func parseMergeOn(v any) ([]string, error) {
	var fields []string
	switch x := v.(type) {
	case string:
		fields = []string{x}
	case bson.A:
		if len(x) == 0 {
			return nil, mongoerr.New(51187, "If explicitly specifying $merge 'on', must include at least one field")
		}
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, mongoerr.Newf(51134, "$merge 'on' array elements must be strings, but found %s", bsonutil.TypeName(e))
			}
			fields = append(fields, s)
		}
	default:
		return nil, mongoerr.Newf(51186, "$merge 'on' field must be either a string or an array of strings, but found %s", bsonutil.TypeName(v))
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if err := checkFieldPath(f); err != nil {
			return nil, err
		}
		if seen[f] {
			return nil, mongoerr.Newf(31465, "Found a duplicate field '%s' in $merge 'on'", f)
		}
		seen[f] = true
	}
	return fields, nil
}

func (s *mergeStage) open(ctx context.Context, in Source) (Source, error) {
	done := false
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		w, err := envCapability[Writer](s.pc.opts.Env, "$merge")
		if err != nil {
			return nil, err
		}
		if s.onExplicit && !(len(s.on) == 1 && s.on[0] == "_id") {
			_, found, err := w.UniqueIndex(ctx, s.db, s.coll, s.on)
			if err != nil {
				return nil, err
			}
			if !found {
				return nil, mongoerr.New(51183, "Cannot find index to verify that join fields will be unique")
			}
		}
		err = drainBatches(ctx, in, func(batch []bson.D) error { return s.writeBatch(ctx, w, batch) })
		if err != nil {
			return nil, err
		}
		return nil, io.EOF
	}}, nil
}

// writeBatch merges docs in one transaction. MongoDB's $merge is not
// atomic: the documents before a failing one stay written. The batch is
// therefore rewritten up to the failing document before the error is
// returned.
func (s *mergeStage) writeBatch(ctx context.Context, w Writer, docs []bson.D) error {
	applied := 0
	err := w.WriteBatch(ctx, s.db, s.coll, func(t WriteTxn) error {
		applied = 0
		for _, d := range docs {
			if err := s.mergeOne(t, d); err != nil {
				return err
			}
			applied++
		}
		return nil
	})
	if err != nil && applied > 0 {
		ok := docs[:applied]
		if rerr := w.WriteBatch(ctx, s.db, s.coll, func(t WriteTxn) error {
			for _, d := range ok {
				if err := s.mergeOne(t, d); err != nil {
					return err
				}
			}
			return nil
		}); rerr != nil {
			return rerr
		}
	}
	return err
}

func (s *mergeStage) mergeOne(t WriteTxn, d bson.D) error {
	filter := make(bson.D, 0, len(s.on))
	for _, f := range s.on {
		v := getPath(d, strings.Split(f, "."))
		if f == "_id" && bsonutil.IsMissing(v) {
			// A result without _id gets one, so it cannot match.
			nd := make(bson.D, 0, len(d)+1)
			nd = append(nd, bson.E{Key: "_id", Value: bson.NewObjectID()})
			d = append(nd, d...)
			v = d[0].Value
		}
		switch v.(type) {
		case bson.A:
			return mongoerr.Newf(51185, "$merge write error: 'on' field '%s' is an array", f)
		case nil, bson.Null, bson.Undefined:
			return mongoerr.Newf(51132, "$merge write error: 'on' field '%s' cannot be missing, null or undefined if supporting index is sparse", f)
		}
		if bsonutil.IsMissing(v) {
			return mongoerr.Newf(51132, "$merge write error: 'on' field '%s' cannot be missing, null or undefined if supporting index is sparse", f)
		}
		filter = append(filter, bson.E{Key: f, Value: bson.D{{Key: "$eq", Value: v}}})
	}
	found, err := t.Find(filter)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		switch s.whenNotMatched {
		case mergeDiscard:
			return nil
		case mergeFail:
			return mongoerr.New(13113, "$merge could not find a matching document in the target collection for at least one document in the source collection")
		}
		return t.Insert(d)
	}
	if len(found) > 1 {
		return mongoerr.New(mongoerr.DuplicateKey, "$merge: more than one document in the target collection matches the 'on' fields")
	}
	old := found[0]
	var nd bson.D
	switch s.whenMatched {
	case mergeKeepExisting:
		return nil
	case mergeFail:
		e := mongoerr.Newf(mongoerr.DuplicateKey, "$merge failed due to a DuplicateKey error: a document with %s already exists in %s.%s", fmtValue(filter), s.db, s.coll)
		pattern := make(bson.D, len(s.on))
		for i, f := range s.on {
			pattern[i] = bson.E{Key: f, Value: int32(1)}
		}
		keyValue := make(bson.D, len(s.on))
		for i, f := range s.on {
			keyValue[i] = bson.E{Key: f, Value: getPath(d, strings.Split(f, "."))}
		}
		e.Extra = []mongoerr.ExtraField{{Key: "keyPattern", Value: pattern}, {Key: "keyValue", Value: keyValue}}
		return e
	case mergeReplace:
		nd = d
	case mergeMerge:
		nd = mergeDocs(old, d)
	case mergePipeline:
		nd, err = s.runUpdatePipeline(old, d)
		if err != nil {
			return err
		}
	}
	oldID := bsonutil.Get(old, "_id")
	newID := bsonutil.Get(nd, "_id")
	if bsonutil.IsMissing(newID) {
		nd = append(bson.D{{Key: "_id", Value: oldID}}, nd...)
	} else if bsonutil.Compare(oldID, newID) != 0 || bsonutil.TypeNumber(oldID) != bsonutil.TypeNumber(newID) {
		return mongoerr.Newf(mongoerr.ImmutableField, "$merge failed to update the matching document, did you attempt to modify the _id or the shard key? :: caused by :: Performing an update on the path '_id' would modify the immutable field '_id'")
	}
	return t.Replace(old, nd)
}

// mergeDocs is whenMatched: "merge": the existing document with the
// result's top-level fields set over it.
func mergeDocs(old, d bson.D) bson.D {
	out := make(bson.D, len(old), len(old)+len(d))
	copy(out, old)
	for _, e := range d {
		replaced := false
		for i := range out {
			if out[i].Key == e.Key {
				out[i].Value = e.Value
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

func (s *mergeStage) runUpdatePipeline(old, d bson.D) (bson.D, error) {
	vars := s.pc.vars
	ev := s.pc.vars.WithRoot(d)
	hasNew := false
	for _, l := range s.lets {
		v, err := l.e.Eval(ev)
		if err != nil {
			return nil, err
		}
		if l.name == "new" {
			hasNew = true
		}
		vars = vars.With(l.name, nullIfMissing(v))
	}
	if !hasNew {
		vars = vars.With("new", d)
	}
	sub := *s.pc
	sub.inSub, sub.facet, sub.vars = true, false, vars
	p, err := parsePipeline(s.pipeline, &sub)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	src, err := p.Run(ctx, SliceSource([]bson.D{old}))
	if err != nil {
		return nil, err
	}
	out, err := ReadAll(ctx, src)
	if err != nil {
		return nil, err
	}
	if len(out) != 1 {
		return nil, mongoerr.New(mongoerr.BadValue, "$merge whenMatched pipeline must produce exactly one document")
	}
	return out[0], nil
}

// drainBatches reads in to the end, handing fn batches of up to
// outBatchSize documents. The slice passed to fn is reused afterwards.
func drainBatches(ctx context.Context, in Source, fn func([]bson.D) error) error {
	batch := make([]bson.D, 0, outBatchSize)
	err := drain(ctx, in, func(d bson.D) error {
		batch = append(batch, d)
		if len(batch) < outBatchSize {
			return nil
		}
		err := fn(batch)
		batch = batch[:0]
		return err
	})
	if err == nil && len(batch) > 0 {
		err = fn(batch)
	}
	return err
}
