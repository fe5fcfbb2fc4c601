package aggregate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// fuzzEnv serves $lookup, $unionWith and $graphLookup from a fixed
// collection "other".
type fuzzEnv struct{}

func (fuzzEnv) Scan(ctx context.Context, db, coll string) (Source, error) {
	if coll != "other" {
		return SliceSource(nil), nil
	}
	return SliceSource([]bson.D{
		{{Key: "_id", Value: int32(1)}, {Key: "k", Value: int32(1)}, {Key: "p", Value: int32(2)}},
		{{Key: "_id", Value: int32(2)}, {Key: "k", Value: "x"}, {Key: "p", Value: int32(1)}},
	}), nil
}

// FuzzPipeline parses a pipeline ({p: [stages]}) and runs it over a set of
// documents ({docs: [...]}), both as Extended JSON. Failures must be
// *mongoerr.Error values; nothing may panic; the input documents must
// not be modified; every output document must encode as BSON. The memory
// limit is lowered so that blocking stages fail fast instead of growing.
// Seeds are in testdata/fuzz/FuzzPipeline (drawn from testdata/*.json).
func FuzzPipeline(f *testing.F) {
	for _, s := range [][2]string{
		{`{"p": [{"$match": {"a": {"$gt": 1}}}, {"$group": {"_id": "$g", "n": {"$sum": 1}, "s": {"$push": "$a"}}}, {"$sort": {"_id": 1}}]}`,
			`{"docs": [{"a": 1, "g": "x"}, {"a": 2, "g": "y"}, {"a": 3, "g": "x"}]}`},
		{`{"p": [{"$unwind": {"path": "$a", "includeArrayIndex": "i", "preserveNullAndEmptyArrays": true}}, {"$project": {"a": 1, "i": 1, "_id": 0}}]}`,
			`{"docs": [{"a": [1, 2]}, {"a": []}, {}]}`},
		{`{"p": [{"$facet": {"c": [{"$count": "n"}], "b": [{"$bucketAuto": {"groupBy": "$a", "buckets": 2}}]}}]}`,
			`{"docs": [{"a": 1}, {"a": 5}, {"a": 3}]}`},
		{`{"p": [{"$lookup": {"from": "other", "localField": "k", "foreignField": "k", "as": "j"}}, {"$replaceWith": {"$mergeObjects": ["$$ROOT", {"n": {"$size": "$j"}}]}}]}`,
			`{"docs": [{"k": 1}, {"k": "x"}]}`},
		{`{"p": [{"$graphLookup": {"from": "other", "startWith": "$s", "connectFromField": "p", "connectToField": "_id", "as": "g", "maxDepth": 3}}]}`,
			`{"docs": [{"s": 1}]}`},
		{`{"p": [{"$bucket": {"groupBy": "$a", "boundaries": [0, 2, 4], "default": "o"}}, {"$sortByCount": "$count"}]}`,
			`{"docs": [{"a": 1}, {"a": 3}, {"a": "z"}]}`},
		{`{"p": [{"$redact": {"$cond": [{"$eq": ["$l", 1]}, "$$DESCEND", "$$PRUNE"]}}, {"$skip": 1}, {"$limit": 5}]}`,
			`{"docs": [{"l": 1, "s": {"l": 2}}, {"l": 1}]}`},
		{`{"p": [{"$unionWith": {"coll": "other", "pipeline": [{"$set": {"from": "other"}}]}}, {"$unset": ["p"]}]}`,
			`{"docs": [{"a": 1}]}`},
	} {
		f.Add(s[0], s[1])
	}
	old := MemoryLimit
	MemoryLimit = 1 << 20
	f.Cleanup(func() { MemoryLimit = old })
	f.Fuzz(func(t *testing.T, spec, input string) {
		var s, in bson.D
		if bson.UnmarshalExtJSON([]byte(spec), false, &s) != nil || bson.UnmarshalExtJSON([]byte(input), false, &in) != nil {
			return
		}
		// Extended JSON can spell field names with NUL bytes, which BSON
		// (C-string keys) cannot carry, so no client can send them: skip
		// such specs and inputs, as FuzzUpdateApply does.
		if _, err := bson.Marshal(s); err != nil {
			return
		}
		if _, err := bson.Marshal(in); err != nil {
			return
		}
		var stages []bson.D
		var docs []bson.D
		for _, e := range s {
			if e.Key == "p" {
				a, _ := e.Value.(bson.A)
				for _, x := range a {
					if d, ok := x.(bson.D); ok {
						stages = append(stages, d)
					}
				}
			}
		}
		for _, e := range in {
			if e.Key == "docs" {
				a, _ := e.Value.(bson.A)
				for _, x := range a {
					if d, ok := x.(bson.D); ok {
						docs = append(docs, d)
					}
				}
			}
		}
		before, err := bson.Marshal(bson.D{{Key: "docs", Value: docs}})
		if err != nil {
			return
		}
		p, err := Parse(stages, &Options{DB: "test", Env: fuzzEnv{}, Vars: expr.NewVars(nil, bson.DateTime(1700000000000))})
		if err != nil {
			fuzzRequireMongoErr(t, "Parse", err)
			return
		}
		src, err := p.Run(context.Background(), SliceSource(append([]bson.D(nil), docs...)))
		if err != nil {
			fuzzRequireMongoErr(t, "Run", err)
			return
		}
		defer src.Close()
		for n := 0; n < 100000; n++ {
			d, err := src.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				fuzzRequireMongoErr(t, "Next", err)
				break
			}
			if _, err := bson.Marshal(d); err != nil {
				t.Fatalf("output document does not encode: %v: %v", err, d)
			}
		}
		after, _ := bson.Marshal(bson.D{{Key: "docs", Value: docs}})
		if !bytes.Equal(before, after) {
			t.Fatalf("the pipeline modified its input documents:\nbefore %v\nafter  %v", bson.Raw(before), bson.Raw(after))
		}
	})
}

func fuzzRequireMongoErr(t *testing.T, what string, err error) {
	t.Helper()
	var me *mongoerr.Error
	if !errors.As(err, &me) {
		t.Fatalf("%s returned a non-MongoDB error %T: %v", what, err, err)
	}
}
