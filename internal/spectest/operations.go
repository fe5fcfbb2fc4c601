package spectest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// unimplementedOperations are operations of the unified test format (and
// of the specs it covers) that this runner does not implement; tests using
// them are skipped. The value adds detail to the reason.
var unimplementedOperations = map[string]string{
	"createChangeStream":                   " (change streams)",
	"watch":                                " (change streams)",
	"clientBulkWrite":                      " (client-level bulk write)",
	"startTransaction":                     " (transactions)",
	"commitTransaction":                    " (transactions)",
	"abortTransaction":                     " (transactions)",
	"withTransaction":                      " (transactions)",
	"mapReduce":                            "",
	"count":                                " (deprecated count helper, not in Go driver v2)",
	"createSearchIndex":                    " (Atlas search indexes)",
	"createSearchIndexes":                  " (Atlas search indexes)",
	"dropSearchIndex":                      " (Atlas search indexes)",
	"updateSearchIndex":                    " (Atlas search indexes)",
	"listSearchIndexes":                    " (Atlas search indexes)",
	"targetedFailPoint":                    " (mongos pinning)",
	"assertSessionTransactionState":        " (transactions)",
	"assertSessionPinned":                  " (mongos pinning)",
	"assertSessionUnpinned":                " (mongos pinning)",
	"assertSessionDirty":                   " (driver session internals)",
	"assertSessionNotDirty":                " (driver session internals)",
	"loop":                                 "",
	"runOnThread":                          " (threads)",
	"waitForThread":                        " (threads)",
	"waitForEvent":                         "",
	"assertEventCount":                     "",
	"recordTopologyDescription":            " (SDAM)",
	"assertTopologyType":                   " (SDAM)",
	"waitForPrimaryChange":                 " (SDAM)",
	"listCollectionObjects":                " (driver-specific helper)",
	"listDatabaseObjects":                  " (driver-specific helper)",
	"deleteByName":                         " (not in Go driver GridFS)",
	"renameByName":                         " (not in Go driver GridFS)",
	"downloadToStream":                     "",
	"downloadToStreamByName":               "",
	"openDownloadStream":                   "",
	"openDownloadStreamByName":             "",
	"openUploadStream":                     "",
	"openUploadStreamWithId":               "",
	"uploadFromStream":                     "",
	"uploadFromStreamWithId":               "",
	"createDataKey":                        " (client-side encryption)",
	"encrypt":                              " (client-side encryption)",
	"decrypt":                              " (client-side encryption)",
	"rewrapManyDataKey":                    " (client-side encryption)",
	"getKeys":                              " (client-side encryption)",
	"getKey":                               " (client-side encryption)",
	"deleteKey":                            " (client-side encryption)",
	"addKeyAltName":                        " (client-side encryption)",
	"removeKeyAltName":                     " (client-side encryption)",
	"getKeyByAltName":                      " (client-side encryption)",
	"createEncryptedCollection":            " (client-side encryption)",
	"assertNumberConnectionsCheckedOutTwo": "",
}

// opResult is what an operation produced.
type opResult struct {
	value     any   // BSON result (nil: none)
	entity    any   // non-BSON entity to save (cursor), if any
	err       error // error from the driver/server
	nestedDoc bool  // expectResult array elements are not root-level
}

// nullResult is an operation result of null (e.g. findOneAndUpdate that
// matched nothing), as opposed to no result at all.
var nullResult = struct{ null bool }{true}

func ok(v any) (opResult, error) { return opResult{value: v}, nil }

func failed(v any, err error) (opResult, error) {
	if err != nil {
		return opResult{value: v, err: err}, nil
	}
	return opResult{value: v}, nil
}

func (st *testState) runOperation(ctx context.Context, op Operation) error {
	if op.Object == "testRunner" {
		return st.runSpecial(ctx, op)
	}
	if why, known := unimplementedOperations[op.Name]; known {
		return skipf("operation %s%s", op.Name, why)
	}
	target, err := st.entities.get(op.Object)
	if err != nil {
		return err
	}
	a := newArgs(op.Arguments)
	if sessName, err := a.str("session", false); err != nil {
		return err
	} else if sessName != "" {
		s, err := getEntity[*sessionEntity](st.entities, sessName, "session")
		if err != nil {
			return err
		}
		ctx = mongo.NewSessionContext(ctx, s.sess)
	}
	var res opResult
	switch t := target.(type) {
	case *mongo.Collection:
		res, err = collectionOp(ctx, t, op.Name, a)
	case *mongo.Database:
		res, err = databaseOp(ctx, t, op.Name, a)
	case *clientEntity:
		res, err = clientOp(ctx, t, op.Name, a)
	case *mongo.GridFSBucket:
		res, err = bucketOp(ctx, t, op.Name, a)
	case *cursorEntity:
		res, err = cursorOp(ctx, t, op.Name, a)
	case *sessionEntity:
		res, err = sessionOp(ctx, t, op.Name, a)
	default:
		return fmt.Errorf("entity %q (%s) has no operations", op.Object, entityKind(target))
	}
	if err != nil {
		return err
	}
	if res.err != nil && strings.Contains(res.err.Error(), "cannot be used with unacknowledged writes") {
		return &skipError{what: "Go driver v2 refuses hint with unacknowledged writes client-side: " + res.err.Error(), raw: true}
	}
	if op.IgnoreResultAndError {
		return nil
	}
	rootElems := !res.nestedDoc
	if op.HasExpectError {
		return st.checkExpectedError(op.ExpectError, res.err, res.value, rootElems)
	}
	if res.err != nil {
		return fmt.Errorf("unexpected error: %w", res.err)
	}
	if op.HasExpectResult {
		var act any = Missing
		switch {
		case res.value == nullResult:
			act = nil
		case res.value != nil:
			act = res.value
		}
		if err := st.matcher.Match(op.ExpectResult, act, rootElems); err != nil {
			return fmt.Errorf("expectResult: %w", err)
		}
	}
	if op.SaveResultAsEntity != "" {
		v := res.entity
		if v == nil {
			v = res.value
		}
		if v == nullResult {
			v = nil
		}
		if v == nil {
			return fmt.Errorf("saveResultAsEntity %q: operation returned no result", op.SaveResultAsEntity)
		}
		if err := st.entities.add(op.SaveResultAsEntity, v); err != nil {
			return err
		}
	}
	return nil
}

// --- collection operations ---

func collectionOp(ctx context.Context, c *mongo.Collection, name string, a *args) (opResult, error) {
	switch name {
	case "insertOne":
		doc, err := a.requiredDoc("document")
		if err != nil {
			return opResult{}, err
		}
		o := options.InsertOne()
		if v, ok := a.get("comment"); ok {
			o.SetComment(v)
		}
		if b, has := a.get("bypassDocumentValidation"); has {
			bb, _ := b.(bool)
			o.SetBypassDocumentValidation(bb)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		r, err := c.InsertOne(ctx, doc, o)
		if err != nil {
			return failed(nil, err)
		}
		return ok(bson.D{{Key: "insertedId", Value: r.InsertedID}})
	case "insertMany":
		docs, _, err := a.array("documents", true)
		if err != nil {
			return opResult{}, err
		}
		o := options.InsertMany()
		if v, has := a.get("ordered"); has {
			b, _ := v.(bool)
			o.SetOrdered(b)
		}
		if v, ok := a.get("comment"); ok {
			o.SetComment(v)
		}
		if b, has := a.get("bypassDocumentValidation"); has {
			bb, _ := b.(bool)
			o.SetBypassDocumentValidation(bb)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		r, err := c.InsertMany(ctx, []any(docs), o)
		var ids bson.D
		if r != nil {
			for i, id := range r.InsertedIDs {
				ids = append(ids, bson.E{Key: fmt.Sprint(i), Value: id})
			}
		}
		if err != nil {
			var partial any
			if r != nil {
				partial = bson.D{{Key: "deletedCount", Value: int64(0)}, {Key: "insertedCount", Value: int64(len(r.InsertedIDs))},
					{Key: "insertedIds", Value: ids}, {Key: "matchedCount", Value: int64(0)}, {Key: "modifiedCount", Value: int64(0)},
					{Key: "upsertedCount", Value: int64(0)}, {Key: "upsertedIds", Value: bson.D{}}}
			}
			return failed(partial, err)
		}
		if ids == nil {
			ids = bson.D{}
		}
		return ok(bson.D{{Key: "insertedIds", Value: ids}})
	case "find", "createFindCursor", "findOne":
		filter, err := a.requiredDoc("filter")
		if err != nil {
			return opResult{}, err
		}
		o, err := findOptions(a)
		if err != nil {
			return opResult{}, err
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		if name == "findOne" {
			o.SetLimit(-1)
		}
		cur, err := c.Find(ctx, filter, o)
		if err != nil {
			return failed(nil, err)
		}
		if name == "createFindCursor" {
			return opResult{entity: &cursorEntity{cursor: cur}}, nil
		}
		docs, err := drain(ctx, cur)
		if name == "findOne" {
			if err != nil {
				return failed(nil, err)
			}
			if len(docs) == 0 {
				return ok(nullResult)
			}
			return ok(docs[0])
		}
		return failed(docs, err)
	case "aggregate":
		return aggregate(ctx, a, func(p any, o *options.AggregateOptionsBuilder) (*mongo.Cursor, error) {
			return c.Aggregate(ctx, p, o)
		})
	case "countDocuments":
		filter, err := a.requiredDoc("filter")
		if err != nil {
			return opResult{}, err
		}
		o := options.Count()
		if n, has, err := a.integer("skip"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetSkip(n)
		}
		if n, has, err := a.integer("limit"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetLimit(n)
		}
		if v, has := a.get("hint"); has {
			o.SetHint(v)
		}
		if v, has := a.get("comment"); has {
			o.SetComment(v)
		}
		if col, err := collation(a); err != nil {
			return opResult{}, err
		} else if col != nil {
			o.SetCollation(col)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		n, err := c.CountDocuments(ctx, filter, o)
		if err != nil {
			return failed(nil, err)
		}
		return ok(n)
	case "estimatedDocumentCount":
		o := options.EstimatedDocumentCount()
		if v, has := a.get("comment"); has {
			o.SetComment(v)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		n, err := c.EstimatedDocumentCount(ctx, o)
		if err != nil {
			return failed(nil, err)
		}
		return ok(n)
	case "distinct":
		field, err := a.str("fieldName", true)
		if err != nil {
			return opResult{}, err
		}
		filter, err := a.requiredDoc("filter")
		if err != nil {
			return opResult{}, err
		}
		o := options.Distinct()
		if v, has := a.get("hint"); has {
			o.SetHint(v)
		}
		if v, has := a.get("comment"); has {
			o.SetComment(v)
		}
		if col, err := collation(a); err != nil {
			return opResult{}, err
		} else if col != nil {
			o.SetCollation(col)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		r := c.Distinct(ctx, field, filter, o)
		if r.Err() != nil {
			return failed(nil, r.Err())
		}
		var vals bson.A
		if err := r.Decode(&vals); err != nil {
			return failed(nil, err)
		}
		if vals == nil {
			vals = bson.A{}
		}
		return opResult{value: vals, nestedDoc: true}, nil
	case "updateOne", "updateMany", "replaceOne":
		return updateOp(ctx, c, name, a)
	case "deleteOne", "deleteMany":
		filter, err := a.requiredDoc("filter")
		if err != nil {
			return opResult{}, err
		}
		var so sharedOpts
		so.getHintComment(a)
		if so.let, so.hasLet, err = a.doc("let"); err != nil {
			return opResult{}, err
		}
		if so.collation, err = collation(a); err != nil {
			return opResult{}, err
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		var r *mongo.DeleteResult
		if name == "deleteOne" {
			r, err = c.DeleteOne(ctx, filter, applyBase(options.DeleteOne(), &so))
		} else {
			r, err = c.DeleteMany(ctx, filter, applyBase(options.DeleteMany(), &so))
		}
		if err != nil {
			return failed(nil, err)
		}
		return ok(bson.D{{Key: "deletedCount", Value: r.DeletedCount}})
	case "findOneAndUpdate", "findOneAndReplace", "findOneAndDelete":
		return findAndModify(ctx, c, name, a)
	case "bulkWrite":
		return bulkWrite(ctx, c, a)
	case "createIndex":
		keys, err := a.requiredDoc("keys")
		if err != nil {
			return opResult{}, err
		}
		io := options.Index()
		if n, err := a.str("name", false); err != nil {
			return opResult{}, err
		} else if n != "" {
			io.SetName(n)
		}
		for _, k := range []string{"unique", "sparse", "hidden"} {
			if v, has := a.get(k); has {
				b, _ := v.(bool)
				switch k {
				case "unique":
					io.SetUnique(b)
				case "sparse":
					io.SetSparse(b)
				case "hidden":
					io.SetHidden(b)
				}
			}
		}
		if n, has, err := a.integer("expireAfterSeconds"); err != nil {
			return opResult{}, err
		} else if has {
			io.SetExpireAfterSeconds(int32(n))
		}
		if d, has, err := a.doc("partialFilterExpression"); err != nil {
			return opResult{}, err
		} else if has {
			io.SetPartialFilterExpression(d)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		n, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys, Options: io})
		if err != nil {
			return failed(nil, err)
		}
		return ok(n)
	case "dropIndex":
		n, err := a.str("name", true)
		if err != nil {
			return opResult{}, err
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		return failed(nil, c.Indexes().DropOne(ctx, n))
	case "dropIndexes":
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		return failed(nil, c.Indexes().DropAll(ctx))
	case "listIndexes", "listIndexNames":
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		cur, err := c.Indexes().List(ctx)
		if err != nil {
			return failed(nil, err)
		}
		docs, err := drain(ctx, cur)
		if err != nil || name == "listIndexes" {
			return failed(docs, err)
		}
		names := bson.A{}
		for _, d := range docs {
			names = append(names, lookup(d.(bson.D), "name"))
		}
		return opResult{value: names, nestedDoc: true}, nil
	case "drop":
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		return failed(nil, c.Drop(ctx))
	case "rename":
		return opResult{}, skipf("collection rename")
	}
	return opResult{}, fmt.Errorf("unsupported collection operation %q", name)
}

func drain(ctx context.Context, cur *mongo.Cursor) (bson.A, error) {
	defer func() { _ = cur.Close(context.WithoutCancel(ctx)) }()
	docs := bson.A{}
	for cur.Next(ctx) {
		var d bson.D
		if err := bson.Unmarshal(cur.Current, &d); err != nil {
			return docs, err
		}
		docs = append(docs, d)
	}
	return docs, cur.Err()
}

func collation(a *args) (*options.Collation, error) {
	d, has, err := a.doc("collation")
	if err != nil || !has {
		return nil, err
	}
	c := &options.Collation{}
	for _, e := range d {
		switch e.Key {
		case "locale":
			c.Locale, _ = e.Value.(string)
		case "strength":
			n, _ := toInt(e.Value)
			c.Strength = int(n)
		case "caseLevel":
			c.CaseLevel, _ = e.Value.(bool)
		case "caseFirst":
			c.CaseFirst, _ = e.Value.(string)
		case "numericOrdering":
			c.NumericOrdering, _ = e.Value.(bool)
		case "alternate":
			c.Alternate, _ = e.Value.(string)
		case "maxVariable":
			c.MaxVariable, _ = e.Value.(string)
		case "normalization":
			c.Normalization, _ = e.Value.(bool)
		case "backwards":
			c.Backwards, _ = e.Value.(bool)
		default:
			return nil, fmt.Errorf("unknown collation field %q", e.Key)
		}
	}
	return c, nil
}

func findOptions(a *args) (*options.FindOptionsBuilder, error) {
	o := options.Find()
	for _, k := range []string{"sort", "projection", "let", "max", "min"} {
		if d, has, err := a.doc(k); err != nil {
			return nil, err
		} else if has {
			switch k {
			case "sort":
				o.SetSort(d)
			case "projection":
				o.SetProjection(d)
			case "let":
				o.SetLet(d)
			case "max":
				o.SetMax(d)
			case "min":
				o.SetMin(d)
			}
		}
	}
	if n, has, err := a.integer("skip"); err != nil {
		return nil, err
	} else if has {
		o.SetSkip(n)
	}
	if n, has, err := a.integer("limit"); err != nil {
		return nil, err
	} else if has {
		o.SetLimit(n)
	}
	if n, has, err := a.integer("batchSize"); err != nil {
		return nil, err
	} else if has {
		o.SetBatchSize(int32(n))
	}
	if v, has := a.get("hint"); has {
		o.SetHint(v)
	}
	if v, has := a.get("comment"); has {
		o.SetComment(v)
	}
	for _, k := range []string{"allowDiskUse", "showRecordId", "returnKey", "allowPartialResults"} {
		if v, has := a.get(k); has {
			b, _ := v.(bool)
			switch k {
			case "allowDiskUse":
				o.SetAllowDiskUse(b)
			case "showRecordId":
				o.SetShowRecordID(b)
			case "returnKey":
				o.SetReturnKey(b)
			case "allowPartialResults":
				o.SetAllowPartialResults(b)
			}
		}
	}
	if col, err := collation(a); err != nil {
		return nil, err
	} else if col != nil {
		o.SetCollation(col)
	}
	return o, nil
}

func aggregate(ctx context.Context, a *args, run func(any, *options.AggregateOptionsBuilder) (*mongo.Cursor, error)) (opResult, error) {
	pipeline, _, err := a.array("pipeline", true)
	if err != nil {
		return opResult{}, err
	}
	o := options.Aggregate()
	if n, has, err := a.integer("batchSize"); err != nil {
		return opResult{}, err
	} else if has {
		o.SetBatchSize(int32(n))
	}
	for _, k := range []string{"allowDiskUse", "bypassDocumentValidation"} {
		if v, has := a.get(k); has {
			b, _ := v.(bool)
			if k == "allowDiskUse" {
				o.SetAllowDiskUse(b)
			} else {
				o.SetBypassDocumentValidation(b)
			}
		}
	}
	if v, has := a.get("comment"); has {
		o.SetComment(v)
	}
	if v, has := a.get("hint"); has {
		o.SetHint(v)
	}
	if d, has, err := a.doc("let"); err != nil {
		return opResult{}, err
	} else if has {
		o.SetLet(d)
	}
	if col, err := collation(a); err != nil {
		return opResult{}, err
	} else if col != nil {
		o.SetCollation(col)
	}
	if err := a.finish("session"); err != nil {
		return opResult{}, err
	}
	cur, err := run(pipeline, o)
	if err != nil {
		return failed(nil, err)
	}
	docs, err := drain(ctx, cur)
	return failed(docs, err)
}

// sharedOpts holds optional arguments that several write and
// find-and-modify operations share. Each operation reads them in its own
// order (so checks and errors stay as they were); the apply helpers below
// then set those present on the operation's options builder.
type sharedOpts struct {
	hint, comment                        any
	hasHint, hasComment                  bool
	let, sort, projection                bson.D
	hasLet, hasSort, hasProjection       bool
	collation                            *options.Collation
	upsert, bypass, hasUpsert, hasBypass bool
	arrayFilters                         bson.A
	hasArrayFilters                      bool
}

func (s *sharedOpts) getHintComment(a *args) {
	s.hint, s.hasHint = a.get("hint")
	s.comment, s.hasComment = a.get("comment")
}

// getUpsertBypass reads upsert (which must be a boolean) and
// bypassDocumentValidation (a non-boolean counts as false).
func (s *sharedOpts) getUpsertBypass(a *args) error {
	var err error
	if s.upsert, err = a.boolean("upsert"); err != nil {
		return err
	}
	_, s.hasUpsert = a.get("upsert")
	var bypass any
	bypass, s.hasBypass = a.get("bypassDocumentValidation")
	s.bypass, _ = bypass.(bool)
	return nil
}

// The driver's options builders share no interface, but each setter
// returns its own builder, so these self-referential constraints match
// every builder that has the setters.

// applyHintCollation sets hint and collation.
func applyHintCollation[B interface {
	SetHint(any) B
	SetCollation(*options.Collation) B
}](o B, s *sharedOpts) B {
	if s.hasHint {
		o.SetHint(s.hint)
	}
	if s.collation != nil {
		o.SetCollation(s.collation)
	}
	return o
}

// applyBase sets hint, comment, let and collation.
func applyBase[B interface {
	SetHint(any) B
	SetComment(any) B
	SetLet(any) B
	SetCollation(*options.Collation) B
}](o B, s *sharedOpts) B {
	applyHintCollation(o, s)
	if s.hasComment {
		o.SetComment(s.comment)
	}
	if s.hasLet {
		o.SetLet(s.let)
	}
	return o
}

func applySort[B interface{ SetSort(any) B }](o B, s *sharedOpts) {
	if s.hasSort {
		o.SetSort(s.sort)
	}
}

func applyProjection[B interface{ SetProjection(any) B }](o B, s *sharedOpts) {
	if s.hasProjection {
		o.SetProjection(s.projection)
	}
}

func applyUpsert[B interface{ SetUpsert(bool) B }](o B, s *sharedOpts) {
	if s.hasUpsert {
		o.SetUpsert(s.upsert)
	}
}

func applyUpsertBypass[B interface {
	SetUpsert(bool) B
	SetBypassDocumentValidation(bool) B
}](o B, s *sharedOpts) {
	applyUpsert(o, s)
	if s.hasBypass {
		o.SetBypassDocumentValidation(s.bypass)
	}
}

func applyArrayFilters[B interface{ SetArrayFilters([]any) B }](o B, s *sharedOpts) {
	if s.hasArrayFilters {
		o.SetArrayFilters([]any(s.arrayFilters))
	}
}

func updateResult(r *mongo.UpdateResult) bson.D {
	d := bson.D{{Key: "matchedCount", Value: r.MatchedCount}, {Key: "modifiedCount", Value: r.ModifiedCount},
		{Key: "upsertedCount", Value: r.UpsertedCount}}
	if r.UpsertedID != nil {
		d = append(d, bson.E{Key: "upsertedId", Value: r.UpsertedID})
	}
	return d
}

func updateOp(ctx context.Context, c *mongo.Collection, name string, a *args) (opResult, error) {
	filter, err := a.requiredDoc("filter")
	if err != nil {
		return opResult{}, err
	}
	var update any
	if name == "replaceOne" {
		update, err = a.requiredDoc("replacement")
		if err != nil {
			return opResult{}, err
		}
	} else {
		u, has := a.get("update")
		if !has {
			return opResult{}, fmt.Errorf("missing required argument \"update\"")
		}
		update = u
	}
	var so sharedOpts
	if err := so.getUpsertBypass(a); err != nil {
		return opResult{}, err
	}
	so.getHintComment(a)
	if so.let, so.hasLet, err = a.doc("let"); err != nil {
		return opResult{}, err
	}
	if so.sort, so.hasSort, err = a.doc("sort"); err != nil {
		return opResult{}, err
	}
	if so.arrayFilters, so.hasArrayFilters, err = a.array("arrayFilters", false); err != nil {
		return opResult{}, err
	}
	if so.collation, err = collation(a); err != nil {
		return opResult{}, err
	}
	if err := a.finish("session"); err != nil {
		return opResult{}, err
	}
	var r *mongo.UpdateResult
	switch name {
	case "updateOne":
		o := applyBase(options.UpdateOne(), &so)
		applyUpsertBypass(o, &so)
		applySort(o, &so)
		applyArrayFilters(o, &so)
		r, err = c.UpdateOne(ctx, filter, update, o)
	case "updateMany":
		if so.hasSort {
			return opResult{}, fmt.Errorf("unsupported argument \"sort\" for updateMany")
		}
		o := applyBase(options.UpdateMany(), &so)
		applyUpsertBypass(o, &so)
		applyArrayFilters(o, &so)
		r, err = c.UpdateMany(ctx, filter, update, o)
	default:
		if so.hasArrayFilters {
			return opResult{}, fmt.Errorf("unsupported argument \"arrayFilters\" for replaceOne")
		}
		o := applyBase(options.Replace(), &so)
		applyUpsertBypass(o, &so)
		applySort(o, &so)
		r, err = c.ReplaceOne(ctx, filter, update, o)
	}
	if err != nil {
		return failed(nil, err)
	}
	return ok(updateResult(r))
}

func returnDocument(a *args) (options.ReturnDocument, bool, error) {
	s, err := a.str("returnDocument", false)
	if err != nil || s == "" {
		return 0, false, err
	}
	switch strings.ToLower(s) {
	case "before":
		return options.Before, true, nil
	case "after":
		return options.After, true, nil
	}
	return 0, false, fmt.Errorf("invalid returnDocument %q", s)
}

func findAndModify(ctx context.Context, c *mongo.Collection, name string, a *args) (opResult, error) {
	filter, err := a.requiredDoc("filter")
	if err != nil {
		return opResult{}, err
	}
	var so sharedOpts
	if so.projection, so.hasProjection, err = a.doc("projection"); err != nil {
		return opResult{}, err
	}
	if so.sort, so.hasSort, err = a.doc("sort"); err != nil {
		return opResult{}, err
	}
	if so.let, so.hasLet, err = a.doc("let"); err != nil {
		return opResult{}, err
	}
	so.getHintComment(a)
	if so.collation, err = collation(a); err != nil {
		return opResult{}, err
	}
	var sr *mongo.SingleResult
	switch name {
	case "findOneAndDelete":
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		o := applyBase(options.FindOneAndDelete(), &so)
		applyProjection(o, &so)
		applySort(o, &so)
		sr = c.FindOneAndDelete(ctx, filter, o)
	case "findOneAndUpdate", "findOneAndReplace":
		rd, hasRD, err := returnDocument(a)
		if err != nil {
			return opResult{}, err
		}
		if err := so.getUpsertBypass(a); err != nil {
			return opResult{}, err
		}
		if name == "findOneAndUpdate" {
			update, has := a.get("update")
			if !has {
				return opResult{}, fmt.Errorf("missing required argument \"update\"")
			}
			if so.arrayFilters, so.hasArrayFilters, err = a.array("arrayFilters", false); err != nil {
				return opResult{}, err
			}
			if err := a.finish("session"); err != nil {
				return opResult{}, err
			}
			o := applyBase(options.FindOneAndUpdate(), &so)
			applyProjection(o, &so)
			applySort(o, &so)
			applyUpsertBypass(o, &so)
			applyArrayFilters(o, &so)
			if hasRD {
				o.SetReturnDocument(rd)
			}
			sr = c.FindOneAndUpdate(ctx, filter, update, o)
		} else {
			repl, err := a.requiredDoc("replacement")
			if err != nil {
				return opResult{}, err
			}
			if err := a.finish("session"); err != nil {
				return opResult{}, err
			}
			o := applyBase(options.FindOneAndReplace(), &so)
			applyProjection(o, &so)
			applySort(o, &so)
			applyUpsertBypass(o, &so)
			if hasRD {
				o.SetReturnDocument(rd)
			}
			sr = c.FindOneAndReplace(ctx, filter, repl, o)
		}
	}
	if err := sr.Err(); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return ok(nullResult)
		}
		return failed(nil, err)
	}
	var d bson.D
	if err := sr.Decode(&d); err != nil {
		return failed(nil, err)
	}
	return ok(d)
}

func bulkWrite(ctx context.Context, c *mongo.Collection, a *args) (opResult, error) {
	reqs, _, err := a.array("requests", true)
	if err != nil {
		return opResult{}, err
	}
	o := options.BulkWrite()
	if v, has := a.get("ordered"); has {
		b, _ := v.(bool)
		o.SetOrdered(b)
	}
	if v, has := a.get("comment"); has {
		o.SetComment(v)
	}
	if v, has := a.get("bypassDocumentValidation"); has {
		b, _ := v.(bool)
		o.SetBypassDocumentValidation(b)
	}
	if d, has, err := a.doc("let"); err != nil {
		return opResult{}, err
	} else if has {
		o.SetLet(d)
	}
	if err := a.finish("session"); err != nil {
		return opResult{}, err
	}
	var models []mongo.WriteModel
	for i, r := range reqs {
		rd, isDoc := r.(bson.D)
		if !isDoc || len(rd) != 1 {
			return opResult{}, fmt.Errorf("requests[%d] must be a single-key document", i)
		}
		spec, _ := rd[0].Value.(bson.D)
		m, err := writeModel(rd[0].Key, newArgs(spec))
		if err != nil {
			return opResult{}, fmt.Errorf("requests[%d]: %w", i, err)
		}
		models = append(models, m)
	}
	r, err := c.BulkWrite(ctx, models, o)
	var res any
	if r != nil {
		ups := bson.D{}
		for i := 0; i < len(models); i++ {
			if id, has := r.UpsertedIDs[int64(i)]; has {
				ups = append(ups, bson.E{Key: fmt.Sprint(i), Value: id})
			}
		}
		res = bson.D{{Key: "deletedCount", Value: r.DeletedCount}, {Key: "insertedCount", Value: r.InsertedCount},
			{Key: "matchedCount", Value: r.MatchedCount}, {Key: "modifiedCount", Value: r.ModifiedCount},
			{Key: "upsertedCount", Value: r.UpsertedCount}, {Key: "upsertedIds", Value: ups}}
	}
	return failed(res, err)
}

func writeModel(kind string, a *args) (mongo.WriteModel, error) {
	switch kind {
	case "insertOne":
		d, err := a.requiredDoc("document")
		if err != nil {
			return nil, err
		}
		return mongo.NewInsertOneModel().SetDocument(d), a.finish()
	case "deleteOne", "deleteMany":
		f, err := a.requiredDoc("filter")
		if err != nil {
			return nil, err
		}
		var so sharedOpts
		so.hint, so.hasHint = a.get("hint")
		if so.collation, err = collation(a); err != nil {
			return nil, err
		}
		if kind == "deleteOne" {
			return applyHintCollation(mongo.NewDeleteOneModel().SetFilter(f), &so), a.finish()
		}
		return applyHintCollation(mongo.NewDeleteManyModel().SetFilter(f), &so), a.finish()
	case "updateOne", "updateMany", "replaceOne":
		f, err := a.requiredDoc("filter")
		if err != nil {
			return nil, err
		}
		// Unlike the collection methods, a non-boolean upsert counts as false.
		var so sharedOpts
		so.hint, so.hasHint = a.get("hint")
		upsertV, hasUpsert := a.get("upsert")
		so.upsert, _ = upsertV.(bool)
		so.hasUpsert = hasUpsert
		if so.collation, err = collation(a); err != nil {
			return nil, err
		}
		if so.sort, so.hasSort, err = a.doc("sort"); err != nil {
			return nil, err
		}
		if kind == "replaceOne" {
			r, err := a.requiredDoc("replacement")
			if err != nil {
				return nil, err
			}
			m := applyHintCollation(mongo.NewReplaceOneModel().SetFilter(f).SetReplacement(r), &so)
			applyUpsert(m, &so)
			applySort(m, &so)
			return m, a.finish()
		}
		u, has := a.get("update")
		if !has {
			return nil, fmt.Errorf("missing required argument \"update\"")
		}
		if so.arrayFilters, so.hasArrayFilters, err = a.array("arrayFilters", false); err != nil {
			return nil, err
		}
		if kind == "updateOne" {
			m := applyHintCollation(mongo.NewUpdateOneModel().SetFilter(f).SetUpdate(u), &so)
			applyUpsert(m, &so)
			applyArrayFilters(m, &so)
			applySort(m, &so)
			return m, a.finish()
		}
		// A sort given for updateMany is read but not passed on
		// (UpdateManyModel has no sort).
		m := applyHintCollation(mongo.NewUpdateManyModel().SetFilter(f).SetUpdate(u), &so)
		applyUpsert(m, &so)
		applyArrayFilters(m, &so)
		return m, a.finish()
	}
	return nil, fmt.Errorf("unknown write model %q", kind)
}

// --- database operations ---

func databaseOp(ctx context.Context, db *mongo.Database, name string, a *args) (opResult, error) {
	switch name {
	case "runCommand":
		cmd, err := a.requiredDoc("command")
		if err != nil {
			return opResult{}, err
		}
		if _, err := a.str("commandName", false); err != nil {
			return opResult{}, err
		}
		o := options.RunCmd()
		if d, has, err := a.doc("readPreference"); err != nil {
			return opResult{}, err
		} else if has {
			rp, err := parseReadPreference(d)
			if err != nil {
				return opResult{}, err
			}
			o.SetReadPreference(rp)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		raw, err := db.RunCommand(ctx, cmd, o).Raw()
		if err != nil {
			return failed(nil, err)
		}
		d, err := rawToD(raw)
		return failed(d, err)
	case "runCursorCommand", "createCommandCursor":
		cmd, err := a.requiredDoc("command")
		if err != nil {
			return opResult{}, err
		}
		if _, err := a.str("commandName", false); err != nil {
			return opResult{}, err
		}
		batch, hasBatch, err := a.integer("batchSize")
		if err != nil {
			return opResult{}, err
		}
		if _, has := a.get("comment"); has {
			return opResult{}, skipf("runCursorCommand comment for getMore")
		}
		// The driver needs nothing for a tailable cursor: it keeps a cursor
		// with a non-zero id open after an empty batch. tailableAwait
		// needs maxAwaitTimeMS, which stays unsupported.
		if v, has := a.get("cursorType"); has {
			switch v {
			case "tailable", "tailableAwait":
			default:
				return opResult{}, fmt.Errorf("unknown cursorType %v", v)
			}
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		cur, err := db.RunCommandCursor(ctx, cmd)
		if err != nil {
			return failed(nil, err)
		}
		if hasBatch {
			cur.SetBatchSize(int32(batch))
		}
		if name == "createCommandCursor" {
			return opResult{entity: &cursorEntity{cursor: cur}}, nil
		}
		docs, err := drain(ctx, cur)
		return failed(docs, err)
	case "aggregate":
		return aggregate(ctx, a, func(p any, o *options.AggregateOptionsBuilder) (*mongo.Cursor, error) {
			return db.Aggregate(ctx, p, o)
		})
	case "listCollections", "listCollectionNames":
		filter, _, err := a.doc("filter")
		if err != nil {
			return opResult{}, err
		}
		if filter == nil {
			filter = bson.D{}
		}
		o := options.ListCollections()
		if n, has, err := a.integer("batchSize"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetBatchSize(int32(n))
		}
		if v, has := a.get("nameOnly"); has {
			b, _ := v.(bool)
			o.SetNameOnly(b)
		}
		if v, has := a.get("authorizedCollections"); has {
			b, _ := v.(bool)
			o.SetAuthorizedCollections(b)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		if name == "listCollectionNames" {
			names, err := db.ListCollectionNames(ctx, filter, o)
			if err != nil {
				return failed(nil, err)
			}
			arr := bson.A{}
			for _, n := range names {
				arr = append(arr, n)
			}
			return opResult{value: arr, nestedDoc: true}, nil
		}
		cur, err := db.ListCollections(ctx, filter, o)
		if err != nil {
			return failed(nil, err)
		}
		docs, err := drain(ctx, cur)
		return failed(docs, err)
	case "createCollection":
		coll, err := a.str("collection", true)
		if err != nil {
			return opResult{}, err
		}
		cmd := bson.D{{Key: "create", Value: coll}}
		for _, e := range a.d {
			if e.Key == "collection" || e.Key == "session" {
				continue
			}
			switch e.Key {
			case "viewOn", "pipeline", "capped", "size", "max", "validator", "validationLevel", "validationAction",
				"storageEngine", "indexOptionDefaults", "collation", "timeseries", "expireAfterSeconds",
				"clusteredIndex", "changeStreamPreAndPostImages", "comment":
				a.get(e.Key)
				cmd = append(cmd, e)
			}
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		if err := db.RunCommand(ctx, cmd).Err(); err != nil {
			return failed(nil, err)
		}
		// The result is the new collection (saveResultAsEntity).
		return opResult{entity: db.Collection(coll)}, nil
	case "dropCollection":
		coll, err := a.str("collection", true)
		if err != nil {
			return opResult{}, err
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		return failed(nil, db.Collection(coll).Drop(ctx))
	case "modifyCollection":
		coll, err := a.str("collection", true)
		if err != nil {
			return opResult{}, err
		}
		cmd := bson.D{{Key: "collMod", Value: coll}}
		for _, e := range a.d {
			if e.Key != "collection" && e.Key != "session" {
				a.get(e.Key)
				cmd = append(cmd, e)
			}
		}
		raw, err := db.RunCommand(ctx, cmd).Raw()
		if err != nil {
			return failed(nil, err)
		}
		d, err := rawToD(raw)
		return failed(d, err)
	case "drop":
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		return failed(nil, db.Drop(ctx))
	}
	return opResult{}, fmt.Errorf("unsupported database operation %q", name)
}

// --- client operations ---

func clientOp(ctx context.Context, c *clientEntity, name string, a *args) (opResult, error) {
	switch name {
	case "listDatabases", "listDatabaseNames":
		filter, _, err := a.doc("filter")
		if err != nil {
			return opResult{}, err
		}
		if filter == nil {
			filter = bson.D{}
		}
		o := options.ListDatabases()
		if v, has := a.get("nameOnly"); has {
			b, _ := v.(bool)
			o.SetNameOnly(b)
		}
		if v, has := a.get("authorizedDatabases"); has {
			b, _ := v.(bool)
			o.SetAuthorizedDatabases(b)
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		if name == "listDatabaseNames" {
			names, err := c.client.ListDatabaseNames(ctx, filter, o)
			if err != nil {
				return failed(nil, err)
			}
			arr := bson.A{}
			for _, n := range names {
				arr = append(arr, n)
			}
			return opResult{value: arr, nestedDoc: true}, nil
		}
		res, err := c.client.ListDatabases(ctx, filter, o)
		if err != nil {
			return failed(nil, err)
		}
		arr := bson.A{}
		for _, s := range res.Databases {
			arr = append(arr, bson.D{{Key: "name", Value: s.Name}, {Key: "sizeOnDisk", Value: s.SizeOnDisk}, {Key: "empty", Value: s.Empty}})
		}
		return ok(arr)
	case "close":
		if err := a.finish(); err != nil {
			return opResult{}, err
		}
		_ = c.client.Disconnect(ctx)
		return ok(nil)
	}
	return opResult{}, fmt.Errorf("unsupported client operation %q", name)
}

// --- cursor operations ---

func cursorOp(ctx context.Context, c *cursorEntity, name string, a *args) (opResult, error) {
	if err := a.finish(); err != nil {
		return opResult{}, err
	}
	switch name {
	case "iterateUntilDocumentOrError":
		if c.cursor.Next(ctx) {
			d, err := rawToD(c.cursor.Current)
			return failed(d, err)
		}
		if err := c.cursor.Err(); err != nil {
			return failed(nil, err)
		}
		return failed(nil, errors.New("cursor exhausted without a document"))
	case "iterateOnce":
		if c.cursor.TryNext(ctx) {
			d, err := rawToD(c.cursor.Current)
			return failed(d, err)
		}
		return failed(nil, c.cursor.Err())
	case "close":
		_ = c.cursor.Close(ctx)
		c.closed = true
		return ok(nil)
	}
	return opResult{}, fmt.Errorf("unsupported cursor operation %q", name)
}

// --- session operations ---

func sessionOp(ctx context.Context, s *sessionEntity, name string, a *args) (opResult, error) {
	if err := a.finish(); err != nil {
		return opResult{}, err
	}
	switch name {
	case "endSession":
		s.sess.EndSession(ctx)
		return ok(nil)
	}
	return opResult{}, fmt.Errorf("unsupported session operation %q", name)
}

// --- special operations ---

func (st *testState) runSpecial(ctx context.Context, op Operation) error {
	if why, known := unimplementedOperations[op.Name]; known {
		return skipf("operation %s%s", op.Name, why)
	}
	a := newArgs(op.Arguments)
	switch op.Name {
	case "failPoint":
		fp, err := a.requiredDoc("failPoint")
		if err != nil {
			return err
		}
		clientName, err := a.str("client", true)
		if err != nil {
			return err
		}
		if err := a.finish(); err != nil {
			return err
		}
		c, err := getEntity[*clientEntity](st.entities, clientName, "client")
		if err != nil {
			return err
		}
		name, _ := lookup(fp, "configureFailPoint").(string)
		if name == "" {
			return fmt.Errorf("failPoint document has no configureFailPoint name")
		}
		err = c.client.Database("admin").RunCommand(ctx, fp, options.RunCmd().SetReadPreference(readpref.Primary())).Err()
		if err != nil {
			var ce mongo.CommandError
			if errors.As(err, &ce) && (ce.Code == 59 || ce.Name == "CommandNotFound") {
				return &skipError{what: "requires failpoints: server has no configureFailPoint (test commands disabled or not implemented)", raw: true}
			}
			return fmt.Errorf("configureFailPoint: %w", err)
		}
		st.failPoints = append(st.failPoints, failPointRecord{client: c.client, name: name})
		return nil
	case "assertCollectionExists", "assertCollectionNotExists":
		db, err := a.str("databaseName", true)
		if err != nil {
			return err
		}
		coll, err := a.str("collectionName", true)
		if err != nil {
			return err
		}
		if err := a.finish(); err != nil {
			return err
		}
		names, err := st.r.internal.Database(db).ListCollectionNames(ctx, bson.D{{Key: "name", Value: coll}})
		if err != nil {
			return fmt.Errorf("listCollections: %w", err)
		}
		exists := len(names) > 0
		if want := op.Name == "assertCollectionExists"; exists != want {
			return fmt.Errorf("collection %s.%s exists=%v, expected %v", db, coll, exists, want)
		}
		return nil
	case "assertIndexExists", "assertIndexNotExists":
		db, err := a.str("databaseName", true)
		if err != nil {
			return err
		}
		coll, err := a.str("collectionName", true)
		if err != nil {
			return err
		}
		idx, err := a.str("indexName", true)
		if err != nil {
			return err
		}
		if err := a.finish(); err != nil {
			return err
		}
		exists := false
		cur, err := st.r.internal.Database(db).Collection(coll).Indexes().List(ctx)
		if err != nil {
			var ce mongo.CommandError
			if !(errors.As(err, &ce) && ce.Code == 26) {
				return fmt.Errorf("listIndexes: %w", err)
			}
		} else {
			docs, err := drain(ctx, cur)
			if err != nil {
				return fmt.Errorf("listIndexes: %w", err)
			}
			for _, d := range docs {
				if lookup(d.(bson.D), "name") == idx {
					exists = true
				}
			}
		}
		if want := op.Name == "assertIndexExists"; exists != want {
			return fmt.Errorf("index %s on %s.%s exists=%v, expected %v", idx, db, coll, exists, want)
		}
		return nil
	case "createEntities":
		ents, _, err := a.array("entities", true)
		if err != nil {
			return err
		}
		if err := a.finish(); err != nil {
			return err
		}
		for _, e := range ents {
			ed, _ := e.(bson.D)
			if err := st.r.createEntity(ctx, st.entities, ed); err != nil {
				return err
			}
		}
		return nil
	case "assertNumberConnectionsCheckedOut":
		clientName, err := a.str("client", true)
		if err != nil {
			return err
		}
		n, has, err := a.integer("connections")
		if err != nil {
			return err
		}
		if !has {
			return fmt.Errorf("missing required argument \"connections\"")
		}
		if err := a.finish(); err != nil {
			return err
		}
		c, err := getEntity[*clientEntity](st.entities, clientName, "client")
		if err != nil {
			return err
		}
		c.mu.Lock()
		got := c.checkedOut
		c.mu.Unlock()
		if int64(got) != n {
			return fmt.Errorf("client %s has %d connections checked out, expected %d", clientName, got, n)
		}
		return nil
	case "wait":
		ms, has, err := a.integer("ms")
		if err != nil {
			return err
		}
		if !has {
			return fmt.Errorf("missing required argument \"ms\"")
		}
		if err := a.finish(); err != nil {
			return err
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case "assertSameLsidOnLastTwoCommands", "assertDifferentLsidOnLastTwoCommands":
		clientName, err := a.str("client", true)
		if err != nil {
			return err
		}
		if err := a.finish(); err != nil {
			return err
		}
		c, err := getEntity[*clientEntity](st.entities, clientName, "client")
		if err != nil {
			return err
		}
		c.mu.Lock()
		var lsids []any
		for i := len(c.events) - 1; i >= 0 && len(lsids) < 2; i-- {
			if c.events[i].kind == "commandStartedEvent" {
				d, _ := rawToD(c.events[i].command)
				lsids = append(lsids, lookup(d, "lsid"))
			}
		}
		c.mu.Unlock()
		if len(lsids) < 2 || lsids[0] == Missing || lsids[1] == Missing {
			return fmt.Errorf("%s: fewer than two commands with an lsid observed", op.Name)
		}
		same := ValuesEqual(lsids[0], lsids[1], false)
		if want := op.Name == "assertSameLsidOnLastTwoCommands"; same != want {
			return fmt.Errorf("%s: last two lsids same=%v", op.Name, same)
		}
		return nil
	}
	return fmt.Errorf("unsupported testRunner operation %q", op.Name)
}
