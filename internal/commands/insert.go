package commands

import (
	"context"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	// Documents already in stored form are stored as sent (insert_raw.go).
	Register(&Command{Name: "insert", Help: "insert documents", RawSequence: "documents", Handler: insertCmd})
}

func insertCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseViewWrite(env, req.DB, name); err != nil {
		return nil, err
	}
	if err := checkFields(req, "documents", "ordered", "bypassDocumentValidation"); err != nil {
		return nil, err
	}
	bypass, err := argBool(req, "bypassDocumentValidation")
	if err != nil {
		return nil, err
	}
	docs, err := insertDocsArg(req)
	if err != nil {
		return nil, err
	}
	ordered := true
	if _, ok := req.Arg("ordered"); ok {
		if ordered, err = argBool(req, "ordered"); err != nil {
			return nil, err
		}
	}
	opts, _, err := writeOptions(req)
	if err != nil {
		return nil, err
	}
	if len(docs) > 100000 {
		return nil, mongoerr.Newf(mongoerr.InvalidLength, "Write batch sizes must be between 1 and 100000. Got %d operations.", len(docs))
	}
	if len(docs) == 0 {
		return nil, mongoerr.New(mongoerr.InvalidLength, "Write batch sizes must be between 1 and 100000. Got 0 operations.")
	}
	var writeErrs bson.A
	n := 0
	err = writeColl(ctx, env, req.DB, name, true, opts, func(w *catalog.Writer, coll *catalog.Collection) error {
		n, writeErrs = 0, nil
		v, err := newValidator(coll, bypass)
		if err != nil {
			return err
		}
		raw := v == nil && coll.RawInsertable()
		for i, d := range docs {
			err := d.insert(w, coll, v, raw)
			if err == nil {
				n++
				continue
			}
			if !isWriteError(err) {
				return err
			}
			writeErrs = append(writeErrs, writeErrorDoc(i, err))
			if ordered {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	reply := bson.D{{Key: "n", Value: int32(n)}}
	if len(writeErrs) > 0 {
		reply = append(reply, bson.E{Key: "writeErrors", Value: writeErrs})
	}
	return reply, nil
}

func insertOne(w *catalog.Writer, coll *catalog.Collection, d bson.D, v *docValidator) error {
	if err := validateStoredFieldNames(d); err != nil {
		return err
	}
	doc, err := catalog.PrepareInsert(d)
	if err != nil {
		return err
	}
	if err := v.check(doc, nil); err != nil {
		return err
	}
	return w.Insert(coll, doc)
}

// validateStoredFieldNames applies MongoDB 5.0+'s storage rules: field
// names may start with '$' and contain '.', except inside _id, whose
// embedded documents may not have '$'-prefixed fields.
func validateStoredFieldNames(d bson.D) error {
	if depth(d, 0) > maxNestingDepth {
		return mongoerr.Newf(mongoerr.Overflow, "Document exceeds maximum nesting depth of %d", maxNestingDepth)
	}
	for _, e := range d {
		if e.Key == "_id" {
			return checkIDFieldNames(e.Value)
		}
	}
	return nil
}

// maxNestingDepth is how deeply documents and arrays may nest in a stored
// document (MongoDB's limit for stored documents).
const maxNestingDepth = 100

// depth returns the nesting depth of v below level (a top-level document
// is at depth 1), stopping early once past the limit.
func depth(v any, level int) int {
	if level > maxNestingDepth {
		return level
	}
	deepest := level
	switch x := v.(type) {
	case bson.D:
		deepest = level + 1
		for _, e := range x {
			if d := depth(e.Value, level+1); d > deepest {
				deepest = d
			}
		}
	case bson.A:
		deepest = level + 1
		for _, e := range x {
			if d := depth(e, level+1); d > deepest {
				deepest = d
			}
		}
	}
	return deepest
}

func checkIDFieldNames(v any) error {
	switch x := v.(type) {
	case bson.D:
		for _, e := range x {
			if len(e.Key) > 0 && e.Key[0] == '$' {
				return mongoerr.Newf(mongoerr.DollarPrefixedFieldName, "_id fields may not contain '$'-prefixed fields: %s is not valid for storage.", e.Key)
			}
			if err := checkIDFieldNames(e.Value); err != nil {
				return err
			}
		}
	case bson.A:
		for _, e := range x {
			if err := checkIDFieldNames(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeColl runs fn in a write transaction on db.name, creating the
// collection first when create is set. If the collection does not exist
// and create is false, fn gets a nil collection.
func writeColl(ctx context.Context, env *Env, db, name string, create bool, opts storageOpts, fn func(w *catalog.Writer, coll *catalog.Collection) error) error {
	for attempt := 0; ; attempt++ {
		if create {
			if _, err := env.Catalog.Ensure(ctx, db, name); err != nil {
				return err
			}
		}
		retry := false
		err := env.Catalog.Write(ctx, opts, func(w *catalog.Writer) error {
			coll := w.Collection(db, name)
			if coll == nil && create {
				retry = true
				return nil
			}
			return fn(w, coll)
		})
		if err != nil || !retry || attempt > 5 {
			return err
		}
	}
}
