package update

import (
	"context"
	"fmt"

	"github.com/cairndb/cairn/internal/aggregate"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// pipelineStages are the aggregation stages allowed in a pipeline-style
// update.
var pipelineStages = map[string]bool{
	"$addFields": true, "$set": true, "$project": true, "$unset": true,
	"$replaceRoot": true, "$replaceWith": true,
}

func (u *Update) parsePipeline(spec bson.A, opts *Options) error {
	stages := make([]bson.D, 0, len(spec))
	for _, st := range spec {
		d, ok := st.(bson.D)
		if !ok {
			return mongoerr.New(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
		}
		if len(d) == 1 && !pipelineStages[d[0].Key] {
			if _, err := aggregate.Parse([]bson.D{d}, &aggregate.Options{Vars: opts.Vars}); err != nil {
				return err
			}
			return mongoerr.Newf(mongoerr.InvalidOptions, "%s is not allowed to be used within an update", d[0].Key)
		}
		stages = append(stages, d)
	}
	p, err := aggregate.Parse(stages, &aggregate.Options{Vars: opts.Vars})
	if err != nil {
		return err
	}
	u.pipeline = p
	return nil
}

func (u *Update) applyPipeline(doc bson.D) (bson.D, bool, error) {
	ctx := context.Background()
	src, err := u.pipeline.Run(ctx, aggregate.SliceSource([]bson.D{doc}))
	if err != nil {
		return nil, false, err
	}
	out, err := aggregate.ReadAll(ctx, src)
	if err != nil {
		return nil, false, err
	}
	if len(out) != 1 {
		return nil, false, mongoerr.New(mongoerr.InternalError,
			fmt.Sprintf("pipeline-style update produced %d documents instead of one", len(out)))
	}
	return replaceDoc(doc, out[0], false)
}
