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
	q, err := parseCountQuery(req)
	if err != nil {
		return nil, err
	}
	if vr := viewReadOf(env, req.DB, name); vr != nil {
		return vr.count(ctx, env, req, q)
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
	if len(q.Filter) == 0 {
		total, _, err := snap.Stats(coll)
		if err != nil {
			return nil, err
		}
		n = max(total-q.Skip, 0)
		if q.Limit > 0 {
			n = min(n, q.Limit)
		}
	} else if n, err = planner.Count(snap, coll, q); err != nil {
		return nil, err
	}
	return bson.D{{Key: "n", Value: intValue(n)}}, nil
}

// parseCountQuery reads the query of a count command (query, skip, limit
// (a negative limit counts as its absolute value), hint, collation).
// count and explain of count share it.
func parseCountQuery(req *Request) (*planner.Query, error) {
	q := &planner.Query{}
	var err error
	if q.Filter, _, err = argDoc(req, "query"); err != nil {
		return nil, err
	}
	if q.Skip, _, err = nonNegative(req, "skip"); err != nil {
		return nil, err
	}
	limit, _, err := argInt64(req, "limit")
	if err != nil {
		return nil, err
	}
	q.Limit = max(limit, -limit)
	if err := queryHints(req, q); err != nil {
		return nil, err
	}
	return q, nil
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
	if vr := viewReadOf(env, req.DB, name); vr != nil {
		return vr.distinct(ctx, env, req, key, filter)
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
