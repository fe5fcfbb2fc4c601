package aggregate

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestNewStagesNoPanic feeds odd specifications and inputs to the newer
// stages: each must parse or fail with an error, and run or fail with an
// error, never panic.
func TestNewStagesNoPanic(t *testing.T) {
	odd := []any{nil, int32(1), "x", "$a", bson.A{}, bson.A{int32(1), "x"}, bson.D{},
		bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "$add", Value: bson.A{}}}, 1.5, true}
	specs := map[string][]any{}
	for _, stage := range []string{"$out", "$merge", "$setWindowFields", "$densify", "$fill", "$collStats", "$indexStats"} {
		specs[stage] = append(specs[stage], odd...)
	}
	for _, v := range odd {
		specs["$merge"] = append(specs["$merge"],
			bson.D{{Key: "into", Value: "t"}, {Key: "on", Value: v}},
			bson.D{{Key: "into", Value: "t"}, {Key: "whenMatched", Value: v}},
			bson.D{{Key: "into", Value: v}})
		specs["$setWindowFields"] = append(specs["$setWindowFields"],
			bson.D{{Key: "sortBy", Value: bson.D{{Key: "a", Value: int32(1)}}}, {Key: "output", Value: bson.D{{Key: "o", Value: bson.D{{Key: "$sum", Value: v}, {Key: "window", Value: bson.D{{Key: "range", Value: bson.A{v, v}}}}}}}}},
			bson.D{{Key: "sortBy", Value: bson.D{{Key: "a", Value: int32(1)}}}, {Key: "output", Value: bson.D{{Key: "o", Value: bson.D{{Key: "$shift", Value: v}}}}}},
			bson.D{{Key: "sortBy", Value: bson.D{{Key: "a", Value: int32(1)}}}, {Key: "output", Value: bson.D{{Key: "o", Value: bson.D{{Key: "$derivative", Value: bson.D{{Key: "input", Value: "$a"}, {Key: "unit", Value: v}}}, {Key: "window", Value: bson.D{{Key: "documents", Value: bson.A{v, int32(0)}}}}}}}}},
			bson.D{{Key: "partitionBy", Value: v}, {Key: "output", Value: bson.D{{Key: "o", Value: bson.D{{Key: "$expMovingAvg", Value: v}}}}}})
		specs["$densify"] = append(specs["$densify"],
			bson.D{{Key: "field", Value: "a"}, {Key: "range", Value: bson.D{{Key: "step", Value: v}, {Key: "bounds", Value: "full"}}}},
			bson.D{{Key: "field", Value: "a"}, {Key: "range", Value: bson.D{{Key: "step", Value: int32(1)}, {Key: "bounds", Value: v}}}},
			bson.D{{Key: "field", Value: "a"}, {Key: "partitionByFields", Value: v}, {Key: "range", Value: bson.D{{Key: "step", Value: int32(1)}, {Key: "unit", Value: "day"}, {Key: "bounds", Value: "partition"}}}})
		specs["$fill"] = append(specs["$fill"],
			bson.D{{Key: "sortBy", Value: bson.D{{Key: "a", Value: int32(1)}}}, {Key: "output", Value: bson.D{{Key: "a", Value: bson.D{{Key: "method", Value: v}}}}}},
			bson.D{{Key: "partitionByFields", Value: v}, {Key: "output", Value: bson.D{{Key: "a", Value: bson.D{{Key: "value", Value: v}}}}}})
	}
	inputs := []bson.D{
		{{Key: "_id", Value: int32(1)}, {Key: "a", Value: int32(1)}},
		{{Key: "_id", Value: int32(2)}, {Key: "a", Value: "s"}},
		{{Key: "_id", Value: int32(3)}, {Key: "a", Value: bson.DateTime(1600000000000)}},
		{{Key: "_id", Value: int32(4)}, {Key: "a", Value: bson.A{int32(1)}}},
		{{Key: "_id", Value: int32(5)}},
	}
	for stage, list := range specs {
		for _, spec := range list {
			p, err := Parse([]bson.D{{{Key: stage, Value: spec}}}, &Options{DB: "test", Coll: "c", Env: newMemEnv()})
			if err != nil {
				continue
			}
			src, err := p.Run(context.Background(), SliceSource(append([]bson.D(nil), inputs...)))
			if err != nil {
				continue
			}
			_, _ = ReadAll(context.Background(), src)
		}
	}
}
