package commands

import (
	"context"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "createIndexes", Help: "create indexes", Handler: createIndexesCmd})
	Register(&Command{Name: "listIndexes", Help: "list indexes", Handler: listIndexesCmd})
	Register(&Command{Name: "dropIndexes", Aliases: []string{"deleteIndexes"}, Help: "drop indexes", Handler: dropIndexesCmd})
}

func createIndexesCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseViewWrite(env, req.DB, name); err != nil {
		return nil, err
	}
	if err := checkFields(req, "indexes", "commitQuorum", "ignoreUnknownIndexOptions", "isTimeseriesNamespace"); err != nil {
		return nil, err
	}
	specs, err := docsArg(req, "indexes")
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "Must specify at least one index to create")
	}
	before, after, created, err := env.Catalog.CreateIndexes(ctx, req.DB, name, specs)
	if err != nil {
		return nil, err
	}
	reply := bson.D{
		{Key: "numIndexesBefore", Value: int32(before)},
		{Key: "numIndexesAfter", Value: int32(after)},
		{Key: "createdCollectionAutomatically", Value: created},
	}
	if before == after {
		reply = append(reply, bson.E{Key: "note", Value: "all indexes already exist"})
	}
	return reply, nil
}

func listIndexesCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseView(env, req.DB, name); err != nil {
		return nil, err
	}
	if err := checkFields(req, "cursor", "includeBuildUUIDs", "includeIndexBuildInfo"); err != nil {
		return nil, err
	}
	coll := env.Catalog.Collection(req.DB, name)
	if coll == nil {
		return nil, mongoerr.Newf(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", req.DB, name)
	}
	var docs []bson.Raw
	for _, ix := range coll.Indexes {
		b, err := bson.Marshal(ix.Spec)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	batchSize := int64(len(docs)) + 1
	if c, ok, err := argDoc(req, "cursor"); err != nil {
		return nil, err
	} else if ok {
		if n, ok := bsonutil.ToInt64(bsonutil.Get(c, "batchSize")); ok && n > 0 {
			batchSize = n
		}
	}
	cur := &Cursor{NS: ns(req.DB, name), Iter: &rawSliceIter{docs: docs}}
	return firstBatch(env, cur, batchSize, false, nil)
}

func dropIndexesCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseView(env, req.DB, name); err != nil {
		return nil, err
	}
	if err := checkFields(req, "index"); err != nil {
		return nil, err
	}
	v, ok := req.Arg("index")
	if !ok {
		return nil, mongoerr.New(mongoerr.Code(40414), "BSON field 'dropIndexes.index' is missing but a required field")
	}
	var names []string
	var key bson.D
	switch x := v.(type) {
	case string:
		names = []string{x}
	case bson.A:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, mongoerr.New(mongoerr.TypeMismatch, "dropIndexes index names must be strings")
			}
			names = append(names, s)
		}
	case bson.D:
		key = x
	default:
		return nil, fieldErr(req.Name, "index", "string or array or object", v)
	}
	before, err := env.Catalog.DropIndexes(ctx, req.DB, name, names, key)
	if err != nil {
		return nil, err
	}
	return bson.D{{Key: "nIndexesWas", Value: int32(before)}}, nil
}

var _ = catalog.DefaultIndexName
