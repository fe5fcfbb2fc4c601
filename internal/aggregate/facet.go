package aggregate

import (
	"context"
	"io"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

type facetStage struct {
	baseStage
	names []string
	pipes []*Pipeline
}

// stages not allowed inside $facet.
var notInFacet = map[string]bool{
	"$facet": true, "$out": true, "$merge": true, "$collStats": true, "$indexStats": true,
	"$documents": true, "$changeStream": true, "$geoNear": true, "$search": true,
}

func parseFacet(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok || len(d) == 0 {
		return nil, mongoerr.New(40169, "the $facet specification must be a non-empty object")
	}
	st := &facetStage{baseStage: baseStage{name, spec}}
	for _, e := range d {
		if err := checkFieldPath(e.Key); err != nil {
			return nil, err
		}
		arr, ok := e.Value.(bson.A)
		if !ok {
			return nil, mongoerr.Newf(40170, "arguments to $facet must be arrays, %s is type %s", e.Key, bsonutil.TypeName(e.Value))
		}
		for _, s := range arr {
			if sd, ok := s.(bson.D); ok && len(sd) == 1 && notInFacet[sd[0].Key] {
				return nil, mongoerr.Newf(40600, "%s is not allowed to be used within a $facet stage", sd[0].Key)
			}
		}
		sub := *pc
		sub.facet = true
		p, err := parseSubPipeline(&sub, arr, "$facet."+e.Key, 40171)
		if err != nil {
			return nil, err
		}
		st.names = append(st.names, e.Key)
		st.pipes = append(st.pipes, p)
	}
	return st, nil
}

func (s *facetStage) open(ctx context.Context, in Source) (Source, error) {
	done := false
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		var docs []bson.D
		if err := drain(ctx, in, func(d bson.D) error { docs = append(docs, d); return nil }); err != nil {
			return nil, err
		}
		out := make(bson.D, 0, len(s.pipes))
		for i, p := range s.pipes {
			src, err := p.Run(ctx, SliceSource(append([]bson.D(nil), docs...)))
			if err != nil {
				return nil, err
			}
			res, err := ReadAll(ctx, src)
			if err != nil {
				return nil, err
			}
			arr := make(bson.A, len(res))
			for j, r := range res {
				arr[j] = r
			}
			out = append(out, bson.E{Key: s.names[i], Value: arr})
		}
		return out, nil
	}}, nil
}
