package commands

import (
	"context"
	"github.com/cairndb/cairn/internal/collation"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "count", Help: "count documents", Handler: countCmd})
	Register(&Command{Name: "distinct", Help: "distinct values of a field", Handler: distinctCmd})
}

func countCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, "query", "limit", "skip", "hint", "collation", "fields"); err != nil {
		return nil, err
	}
	filter, _, err := argDoc(req, "query")
	if err != nil {
		return nil, err
	}
	skip, _, err := argInt64(req, "skip")
	if err != nil {
		return nil, err
	}
	if skip < 0 {
		return nil, mongoerr.Newf(mongoerr.Code(51024), "BSON field 'skip' value must be >= 0, actual value '%d'", skip)
	}
	limit, _, err := argInt64(req, "limit")
	if err != nil {
		return nil, err
	}
	if limit < 0 {
		limit = -limit
	}
	coll := env.Catalog.Collection(req.DB, name)
	if coll == nil {
		return bson.D{{Key: "n", Value: int32(0)}}, nil
	}
	snap, err := env.Catalog.Snapshot()
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	var n int64
	if len(filter) == 0 {
		total, _, err := snap.Stats(coll)
		if err != nil {
			return nil, err
		}
		n = max(total-skip, 0)
		if limit > 0 {
			n = min(n, limit)
		}
	} else {
		q := &planner.Query{Filter: filter, Skip: skip, Limit: limit}
		if err := queryHints(req, q); err != nil {
			return nil, err
		}
		if n, err = planner.Count(snap, coll, q); err != nil {
			return nil, err
		}
	}
	return bson.D{{Key: "n", Value: intValue(n)}}, nil
}

// intValue returns n as int32 when it fits, as MongoDB replies.
func intValue(n int64) any {
	if n >= -1<<31 && n < 1<<31 {
		return int32(n)
	}
	return n
}

func distinctCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, "key", "query", "collation", "hint"); err != nil {
		return nil, err
	}
	kv, ok := req.Arg("key")
	if !ok {
		return nil, mongoerr.New(mongoerr.Code(40414), "BSON field 'distinct.key' is missing but a required field")
	}
	key, isStr := kv.(string)
	if !isStr {
		return nil, fieldErr(req.Name, "key", "string", kv)
	}
	filter, _, err := argDoc(req, "query")
	if err != nil {
		return nil, err
	}
	values := bson.A{}
	coll := env.Catalog.Collection(req.DB, name)
	if coll != nil {
		snap, err := env.Catalog.Snapshot()
		if err != nil {
			return nil, err
		}
		defer snap.Close()
		dq := &planner.Query{Filter: filter}
		if err := queryHints(req, dq); err != nil {
			return nil, err
		}
		docs, err := planner.Matches(snap, coll, dq)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		add := func(v any) {
			if bsonutil.IsMissing(v) {
				return
			}
			k := string(index.AppendValue(nil, collation.ComparisonKey(dq.Collation, v), false))
			if !seen[k] {
				seen[k] = true
				values = append(values, v)
			}
		}
		for _, d := range docs {
			for _, v := range query.PathValues(d.D, key) {
				add(v)
			}
		}
	}
	return bson.D{{Key: "values", Value: values}}, nil
}
