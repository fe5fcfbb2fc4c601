package commands

import (
	"context"
	"fmt"

	"github.com/cairndb/cairn/internal/aggregate"
	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "aggregate", Help: "run an aggregation pipeline", Handler: aggregateCmd})
}

// planSource adapts a planner iterator (raw documents) to an aggregation
// source, closing the snapshot with it.
type planSource struct {
	it   planner.Iterator
	snap *catalog.Snap
}

func (p *planSource) Next(ctx context.Context) (bson.D, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := p.it.Next()
	if err != nil {
		return nil, err
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("commands: decode document: %w", err)
	}
	return d, nil
}

func (p *planSource) Close() error {
	err := p.it.Close()
	if p.snap != nil {
		if cerr := p.snap.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// aggEnv gives pipeline stages access to other collections.
type aggEnv struct{ env *Env }

func (a aggEnv) Scan(ctx context.Context, db, coll string) (aggregate.Source, error) {
	return scanSource(a.env, db, coll, nil)
}

func scanSource(env *Env, db, name string, filter bson.D) (aggregate.Source, error) {
	coll := env.Catalog.Collection(db, name)
	snap, err := env.Catalog.Snapshot()
	if err != nil {
		return nil, err
	}
	it, err := planner.Find(snap, coll, &planner.Query{Filter: filter})
	if err != nil {
		snap.Close()
		return nil, err
	}
	return &planSource{it: it, snap: snap}, nil
}

// sourceIter adapts an aggregation result to a cursor iterator.
type sourceIter struct {
	ctx context.Context
	src aggregate.Source
}

func (s *sourceIter) Next() (bson.Raw, error) {
	d, err := s.src.Next(s.ctx)
	if err != nil {
		return nil, err
	}
	return bson.Marshal(d)
}

func (s *sourceIter) Close() error { return s.src.Close() }

func aggregateCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	var name string
	collectionless := false
	switch v := req.Body[0].Value.(type) {
	case string:
		n, err := collName(req)
		if err != nil {
			return nil, err
		}
		name = n
	default:
		if n, ok := bsonutil.ToInt64(v); ok && n == 1 {
			collectionless = true
		} else {
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "Invalid %s: aggregate field must be a string or the number 1", bsonutil.TypeName(v))
		}
	}
	if err := checkFields(req, "pipeline", "cursor", "explain", "allowDiskUse", "bypassDocumentValidation",
		"collation", "hint", "let", "fromMongos", "needsMerge", "isMapReduceCommand"); err != nil {
		return nil, err
	}
	pv, ok := req.Arg("pipeline")
	if !ok {
		return nil, mongoerr.New(mongoerr.Code(40414), "BSON field 'aggregate.pipeline' is missing but a required field")
	}
	pa, ok := pv.(bson.A)
	if !ok {
		return nil, fieldErr(req.Name, "pipeline", "array", pv)
	}
	stages := make([]bson.D, len(pa))
	for i, s := range pa {
		d, ok := s.(bson.D)
		if !ok {
			return nil, mongoerr.Newf(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
		}
		stages[i] = d
	}
	explain, err := argBool(req, "explain")
	if err != nil {
		return nil, err
	}
	if explain {
		return nil, mongoerr.New(mongoerr.NotImplemented, "explain for aggregate is not implemented yet")
	}
	cursorOpts, hasCursor, err := argDoc(req, "cursor")
	if err != nil {
		return nil, err
	}
	if !hasCursor {
		return nil, mongoerr.New(mongoerr.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument")
	}
	batchSize := int64(defaultFirstBatch)
	if v := bsonutil.Get(cursorOpts, "batchSize"); !bsonutil.IsMissing(v) {
		n, ok := bsonutil.ToInt64(v)
		if !ok || n < 0 {
			return nil, mongoerr.New(mongoerr.BadValue, "cursor.batchSize must not be negative")
		}
		batchSize = n
	}
	allowDiskUse, err := argBool(req, "allowDiskUse")
	if err != nil {
		return nil, err
	}
	if err := checkCollation(req); err != nil {
		return nil, err
	}
	vars, err := letVars(req)
	if err != nil {
		return nil, err
	}
	p, err := aggregate.Parse(stages, &aggregate.Options{DB: req.DB, Env: aggEnv{env}, Vars: vars, AllowDiskUse: allowDiskUse})
	if err != nil {
		return nil, err
	}
	var in aggregate.Source
	if collectionless {
		in = aggregate.SliceSource(nil)
	} else {
		filter, rest := p.LeadingMatch()
		in, err = scanSource(env, req.DB, name, filter)
		if err != nil {
			return nil, err
		}
		p = rest
	}
	out, err := p.Run(ctx, in)
	if err != nil {
		in.Close()
		return nil, err
	}
	nsName := name
	if collectionless {
		nsName = "$cmd.aggregate"
	}
	// The cursor outlives this request; it must not use the request's context.
	cur := &Cursor{NS: ns(req.DB, nsName), Iter: &sourceIter{ctx: context.WithoutCancel(ctx), src: out}}
	return firstBatch(env, cur, batchSize, false)
}
