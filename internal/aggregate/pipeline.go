package aggregate

import (
	"context"
	"github.com/cairndb/cairn/internal/collation"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// MemoryLimit is the number of bytes a blocking stage may hold before it
// fails with QueryExceededMemoryLimitNoDiskUseAllowed (when AllowDiskUse is
// false). It is a variable so that tests can lower it.
var MemoryLimit int64 = 100 * 1024 * 1024

// Options configures Parse.
type Options struct {
	DB           string     // database the pipeline runs in
	Coll         string     // collection aggregated ("" when collectionless)
	Env          Env        // may be nil if no stage needs it
	Vars         *expr.Vars // let variables and $$NOW; nil means fresh
	AllowDiskUse bool
	// Collation applies to $match and $sort string comparisons; nil is
	// the simple (binary) collation.
	Collation *collation.Collation
}

// Stage is one compiled pipeline stage.
type Stage interface {
	// Name is the stage name, e.g. "$match".
	Name() string
	// Spec is the stage document as given, e.g. {$match: {a: 1}}.
	Spec() bson.D
	// open wraps in with this stage.
	open(ctx context.Context, in Source) (Source, error)
}

// Pipeline is a compiled aggregation pipeline. It may be run many times.
type Pipeline struct {
	stages []Stage
	opts   *Options
}

// parseCtx is what stage parsers get: the options plus the stage's
// position in the pipeline.
type parseCtx struct {
	opts  *Options
	vars  *expr.Vars
	index int  // position of the stage in its pipeline
	last  bool // stage is the last one
	inSub bool // pipeline is a sub-pipeline ($facet, $lookup, $unionWith)
	facet bool // pipeline is a $facet sub-pipeline
}

type stageParser func(pc *parseCtx, name string, spec any) (Stage, error)

var stageParsers map[string]stageParser

func init() {
	stageParsers = map[string]stageParser{
		"$match":             parseMatch,
		"$project":           parseProject,
		"$addFields":         parseAddFields,
		"$set":               parseAddFields,
		"$unset":             parseUnset,
		"$group":             parseGroup,
		"$sort":              parseSort,
		"$limit":             parseLimit,
		"$skip":              parseSkip,
		"$count":             parseCount,
		"$unwind":            parseUnwind,
		"$replaceRoot":       parseReplaceRoot,
		"$replaceWith":       parseReplaceRoot,
		"$sortByCount":       parseSortByCount,
		"$facet":             parseFacet,
		"$bucket":            parseBucket,
		"$bucketAuto":        parseBucketAuto,
		"$lookup":            parseLookup,
		"$unionWith":         parseUnionWith,
		"$graphLookup":       parseGraphLookup,
		"$sample":            parseSample,
		"$documents":         parseDocuments,
		"$redact":            parseRedact,
		"$out":               parseOut,
		"$merge":             parseMerge,
		"$changeStream":      parseUnsupported,
		"$collStats":         parseCollStats,
		"$listLocalSessions": parseListLocalSessions,
		"$indexStats":        parseIndexStats,
		"$currentOp":         parseUnsupported,
		"$listSessions":      parseUnsupported,
		"$planCacheStats":    parseUnsupported,
		"$geoNear":           parseUnsupported,
		"$search":            parseUnsupported,
		"$setWindowFields":   parseSetWindowFields,
		"$densify":           parseDensify,
		"$fill":              parseFill,
	}
}

// Parse compiles stages. Errors are *mongoerr.Error with MongoDB's codes.
func Parse(stages []bson.D, opts *Options) (*Pipeline, error) {
	if opts == nil {
		opts = &Options{}
	}
	o := *opts
	if o.Vars == nil {
		o.Vars = expr.NewVars(nil, bson.NewDateTimeFromTime(time.Now()))
	}
	return parsePipeline(stages, &parseCtx{opts: &o, vars: o.Vars})
}

func parsePipeline(stages []bson.D, base *parseCtx) (*Pipeline, error) {
	p := &Pipeline{opts: base.opts, stages: make([]Stage, 0, len(stages))}
	for i, sd := range stages {
		if len(sd) != 1 {
			return nil, mongoerr.New(40323, "A pipeline stage specification object must contain exactly one field.")
		}
		name := sd[0].Key
		parse, ok := stageParsers[name]
		if !ok {
			return nil, mongoerr.Newf(mongoerr.Location40324, "Unrecognized pipeline stage name: '%s'", name)
		}
		pc := *base
		pc.index, pc.last = i, i == len(stages)-1
		st, err := parse(&pc, name, sd[0].Value)
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, st)
	}
	return p, nil
}

// parseSubPipeline parses a stage argument that must be an array of stage
// documents.
func parseSubPipeline(pc *parseCtx, v any, what string, code mongoerr.Code) (*Pipeline, error) {
	docs, err := toStageList(v, what, code)
	if err != nil {
		return nil, err
	}
	sub := *pc
	sub.inSub = true
	return parsePipeline(docs, &sub)
}

func toStageList(v any, what string, code mongoerr.Code) ([]bson.D, error) {
	arr, ok := v.(bson.A)
	if !ok {
		return nil, mongoerr.Newf(code, "%s must be an array of stage objects, got %s", what, bsonutil.TypeName(v))
	}
	docs := make([]bson.D, 0, len(arr))
	for _, e := range arr {
		d, ok := e.(bson.D)
		if !ok {
			return nil, mongoerr.Newf(code, "each element of %s must be an object, got %s", what, bsonutil.TypeName(e))
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// Stages returns the compiled stages in order.
func (p *Pipeline) Stages() []Stage { return p.stages }

// Run runs the pipeline over in. The returned Source owns in and closes
// it.
func (p *Pipeline) Run(ctx context.Context, in Source) (Source, error) {
	src := in
	for _, st := range p.stages {
		next, err := st.open(ctx, src)
		if err != nil {
			src.Close()
			return nil, err
		}
		src = next
	}
	return src, nil
}

// LeadingMatch peels the $match stages at the start of the pipeline for a
// caller that can evaluate them itself (for example with an index). It
// returns their combined filter (nil if the pipeline does not start with
// $match) and the pipeline made of the remaining stages.
func (p *Pipeline) LeadingMatch() (filter bson.D, rest *Pipeline) {
	var filters []bson.D
	i := 0
	for ; i < len(p.stages); i++ {
		m, ok := p.stages[i].(*matchStage)
		if !ok {
			break
		}
		filters = append(filters, m.filter)
	}
	rest = &Pipeline{stages: p.stages[i:], opts: p.opts}
	switch len(filters) {
	case 0:
		return nil, rest
	case 1:
		return filters[0], rest
	}
	and := make(bson.A, len(filters))
	for i, f := range filters {
		and[i] = f
	}
	return bson.D{{Key: "$and", Value: and}}, rest
}

// LeadingSort returns the spec of the $sort stage at the start of the
// pipeline (nil if there is none) and the remaining pipeline.
func (p *Pipeline) LeadingSort() (spec bson.D, rest *Pipeline) {
	if len(p.stages) > 0 {
		if s, ok := p.stages[0].(*sortStage); ok {
			return s.spec, &Pipeline{stages: p.stages[1:], opts: p.opts}
		}
	}
	return nil, p
}

// baseStage holds the name and spec every stage reports.
type baseStage struct {
	name string
	spec any
}

func (b baseStage) Name() string { return b.name }
func (b baseStage) Spec() bson.D { return bson.D{{Key: b.name, Value: b.spec}} }

func parseUnsupported(pc *parseCtx, name string, spec any) (Stage, error) {
	switch name {
	case "$out", "$merge":
		return nil, mongoerr.Newf(mongoerr.NotImplemented, "%s is not supported by this server yet", name)
	case "$changeStream":
		return nil, mongoerr.New(40573, "The $changeStream stage is only supported on replica sets")
	}
	return nil, mongoerr.Newf(mongoerr.NotImplemented, "%s is not supported by this server", name)
}

// LeadingLimit returns n when the pipeline starts with {$limit: n}. The
// stage is not removed: a caller that applies the limit itself may leave
// it in place.
func (p *Pipeline) LeadingLimit() (n int64, ok bool) {
	if len(p.stages) > 0 {
		if l, isLimit := p.stages[0].(*limitStage); isLimit {
			return l.n, true
		}
	}
	return 0, false
}

// Specs returns the stage documents of the pipeline, for explain.
func (p *Pipeline) Specs() []bson.D {
	out := make([]bson.D, len(p.stages))
	for i, s := range p.stages {
		out[i] = s.Spec()
	}
	return out
}
