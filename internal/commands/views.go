package commands

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/aggregate"
	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/collation"
	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Read-only views.
//
// create {viewOn, pipeline, collation} stores a definition in the catalog
// (catalog/views.go). A read of a view runs as an aggregation over the
// collection at the bottom of the view stack, with the pipelines of the
// views prepended, innermost first, and the view's collation:
//
//   - find becomes [$match filter, $sort, $skip, $limit, $project
//     projection] after the view pipeline (MongoDB's conversion; options
//     an aggregation cannot express fail with InvalidPipelineOperator);
//   - count appends [$match, $skip, $limit, $count];
//   - distinct appends [$match] and collects the key's values;
//   - aggregate appends its own stages;
//   - $lookup, $graphLookup and $unionWith read views the same way.
//
// Cursors of view reads report the view's namespace. Writes to a view
// (insert, update, delete, findAndModify, createIndexes, $out, $merge) and
// commands that need a collection (listIndexes, dropIndexes, collStats,
// validate) fail with CommandNotSupportedOnView. A request with a
// collation different from the view's fails with OptionNotSupportedOnView.
//
// system.views: Cairn keeps definitions in its catalog, not in a
// collection, but presents a read-only system.views as MongoDB does in a
// database that has views: listCollections lists it, reads return the
// definitions {_id: "db.view", viewOn, pipeline[, collation]}, dropping it
// drops every view of the database, and writes to it are refused.
//
// The handlers of the commands above call into this file with a short
// hook ("if this name is a view, route or refuse") once their arguments
// are parsed.

// viewRead is how to read a view (or the virtual system.views).
type viewRead struct {
	ns        string   // db.name the reader asked for; cursors report it
	base      string   // collection the resolved pipeline reads
	pipeline  []bson.D // the views' pipelines, innermost first
	collation bson.D   // the view's collation spec, nil for simple
	// defs are the documents of the virtual system.views; the reader's
	// stages run over them instead of a collection.
	defs []bson.D
	// err is an error resolving the view (a stack of views too deep),
	// reported by the read.
	err error
}

// viewReadOf returns how to read db.name if it is a view, or the virtual
// system.views of a database that has views; nil otherwise.
func viewReadOf(env *Env, db, name string) *viewRead {
	if name == "" {
		return nil
	}
	if name == catalog.SystemViews {
		views := env.Catalog.Views(db)
		if len(views) == 0 {
			return nil
		}
		vr := &viewRead{ns: ns(db, name), base: name}
		for _, v := range views {
			vr.defs = append(vr.defs, viewDefinitionDoc(v))
		}
		return vr
	}
	v := env.Catalog.View(db, name)
	if v == nil {
		return nil
	}
	vr := &viewRead{ns: v.NS(), collation: v.Collation}
	pipeline := append([]bson.D(nil), v.Pipeline...)
	cur := v.ViewOn
	for depth := 1; ; depth++ {
		next := env.Catalog.View(db, cur)
		if next == nil {
			break
		}
		if depth >= catalog.MaxViewDepth {
			vr.err = mongoerr.Newf(mongoerr.ViewDepthLimitExceeded, "View depth too deep or view cycle detected; maximum depth is %d", catalog.MaxViewDepth)
			return vr
		}
		pipeline = append(append([]bson.D(nil), next.Pipeline...), pipeline...)
		cur = next.ViewOn
	}
	vr.base, vr.pipeline = cur, pipeline
	return vr
}

// viewDefinitionDoc is a view's document in system.views.
func viewDefinitionDoc(v *catalog.View) bson.D {
	d := bson.D{{Key: "_id", Value: v.NS()}, {Key: "viewOn", Value: v.ViewOn}, {Key: "pipeline", Value: v.PipelineArray()}}
	if v.Collation != nil {
		d = append(d, bson.E{Key: "collation", Value: v.Collation})
	}
	return d
}

func viewNotCollection(db, name string) error {
	return mongoerr.Newf(mongoerr.CommandNotSupportedOnView, "Namespace %s.%s is a view, not a collection", db, name)
}

// refuseView fails with CommandNotSupportedOnView if db.name is a view
// (commands that need a collection).
func refuseView(env *Env, db, name string) error {
	if env.Catalog.View(db, name) != nil {
		return viewNotCollection(db, name)
	}
	return nil
}

// refuseViewWrite is refuseView for writes, which are also refused on
// system.views.
func refuseViewWrite(env *Env, db, name string) error {
	if name == catalog.SystemViews {
		return mongoerr.Newf(mongoerr.InvalidNamespace, "cannot write to '%s.%s': Cairn keeps view definitions in its catalog; use create, collMod and drop to change views", db, name)
	}
	return refuseView(env, db, name)
}

// viewCollation returns the view's collation, parsed.
func (vr *viewRead) viewCollation() (*collation.Collation, error) {
	if vr.collation == nil {
		return nil, nil
	}
	return collation.Parse(vr.collation)
}

// checkCollation refuses a request whose collation differs from the
// view's.
func (vr *viewRead) checkCollation(req *Request) error {
	if _, given := req.Arg("collation"); !given || vr.defs != nil {
		return nil
	}
	c, err := parseCollationArg(req)
	if err != nil {
		return err
	}
	vc, err := vr.viewCollation()
	if err != nil {
		return err
	}
	if !collation.Equal(c, vc) {
		return mongoerr.New(mongoerr.OptionNotSupportedOnView, "Cannot override a view's default collation")
	}
	return nil
}

// request builds the aggregate command that reads the view: its resolved
// pipeline, then stages, over the base collection, with the view's
// collation. Fields of req for which keep is true are copied (never
// the command name, pipeline, collation or $db).
func (vr *viewRead) request(req *Request, stages []bson.D, keep func(key string) bool) *Request {
	pipe := make(bson.A, 0, len(vr.pipeline)+len(stages))
	for _, s := range vr.pipeline {
		pipe = append(pipe, s)
	}
	for _, s := range stages {
		pipe = append(pipe, s)
	}
	body := bson.D{{Key: "aggregate", Value: vr.base}, {Key: "pipeline", Value: pipe}}
	hasCursor := false
	for _, e := range req.Body[1:] {
		switch e.Key {
		case "pipeline", "collation", "$db":
			continue
		}
		if keep(e.Key) {
			body = append(body, e)
			hasCursor = hasCursor || e.Key == "cursor"
		}
	}
	if !hasCursor {
		body = append(body, bson.E{Key: "cursor", Value: bson.D{}})
	}
	if vr.collation != nil {
		body = append(body, bson.E{Key: "collation", Value: vr.collation})
	}
	body = append(body, bson.E{Key: "$db", Value: req.DB})
	return &Request{DB: req.DB, Name: "aggregate", Body: body, Conn: req.Conn}
}

func keepFields(names ...string) func(string) bool {
	return func(k string) bool {
		for _, n := range names {
			if n == k {
				return true
			}
		}
		return false
	}
}

// open runs areq (built by request) and returns its output and the
// parsed request.
func (vr *viewRead) open(ctx context.Context, env *Env, areq *Request) (aggregate.Source, *aggRequest, error) {
	ar, err := parseAggregate(areq, false)
	if err != nil {
		return nil, nil, err
	}
	p, err := ar.parse(env, areq)
	if err != nil {
		return nil, nil, err
	}
	var in aggregate.Source
	switch {
	case vr.defs != nil:
		in = aggregate.SliceSource(append([]bson.D(nil), vr.defs...))
	case startsWithOwnSource(p):
		in = aggregate.SliceSource(nil)
	default:
		var q *planner.Query
		if q, p, err = pushdown(areq, p, ar.vars, ar.allowDiskUse); err != nil {
			return nil, nil, err
		}
		if in, err = scanSource(env, areq.DB, ar.coll, q); err != nil {
			return nil, nil, err
		}
	}
	out, err := p.Run(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	return out, ar, nil
}

// cursor runs areq and returns its first batch under the view's namespace.
func (vr *viewRead) cursor(ctx context.Context, env *Env, areq *Request, batchSize int64, singleBatch bool) (bson.D, error) {
	src, _, err := vr.open(ctx, env, areq)
	if err != nil {
		return nil, err
	}
	// The cursor outlives this request; it must not use its context.
	cur := &Cursor{NS: vr.ns, Iter: &sourceIter{ctx: context.WithoutCancel(ctx), src: src}}
	return firstBatch(env, cur, batchSize, singleBatch, nil)
}

// source reads the whole view (for $lookup, $graphLookup, $unionWith).
func (vr *viewRead) source(ctx context.Context, env *Env, db string) (aggregate.Source, error) {
	if vr.err != nil {
		return nil, vr.err
	}
	req := &Request{DB: db, Name: "aggregate", Body: bson.D{{Key: "aggregate", Value: vr.base}}}
	src, _, err := vr.open(ctx, env, vr.request(req, nil, keepFields()))
	return src, err
}

// ---- find ----

// findAsAggregate checks that a find can run as an aggregation and
// returns its stages.
func findAsAggregate(req *Request, q *planner.Query, singleBatch bool) ([]bson.D, error) {
	unsupported := func(opt string) error {
		return mongoerr.Newf(mongoerr.InvalidPipelineOperator, "Option %s not supported in aggregation.", opt)
	}
	switch {
	case len(q.Min) > 0:
		return nil, unsupported("min")
	case len(q.Max) > 0:
		return nil, unsupported("max")
	case q.ReturnKey:
		return nil, unsupported("returnKey")
	case singleBatch && q.Limit != 1:
		return nil, unsupported("singleBatch")
	}
	for _, f := range []string{"showRecordId", "tailable", "noCursorTimeout", "allowPartialResults", "readOnce", "$_requestResumeToken"} {
		if on, _ := argBool(req, f); on {
			if f == "tailable" {
				return nil, mongoerr.New(mongoerr.InvalidPipelineOperator, "Tailable cursors are not supported in aggregation.")
			}
			return nil, unsupported(strings.TrimPrefix(f, "$_"))
		}
	}
	if d, _, _ := argDoc(req, "$_resumeAfter"); len(d) > 0 {
		return nil, unsupported("resumeAfter")
	}
	if !bsonutil.IsMissing(bsonutil.Get(q.Sort, "$natural")) {
		return nil, mongoerr.New(mongoerr.InvalidPipelineOperator, "Sort option $natural not supported in aggregation.")
	}
	stages := queryStages(q, q.Sort)
	if len(q.Projection) > 0 {
		stages = append(stages, bson.D{{Key: "$project", Value: q.Projection}})
	}
	return stages, nil
}

// queryStages is q's filter, sort (when given), skip and limit as
// aggregation stages, in that order.
func queryStages(q *planner.Query, sort bson.D) []bson.D {
	var stages []bson.D
	if len(q.Filter) > 0 {
		stages = append(stages, bson.D{{Key: "$match", Value: q.Filter}})
	}
	if len(sort) > 0 {
		stages = append(stages, bson.D{{Key: "$sort", Value: sort}})
	}
	if q.Skip > 0 {
		stages = append(stages, bson.D{{Key: "$skip", Value: q.Skip}})
	}
	if q.Limit > 0 {
		stages = append(stages, bson.D{{Key: "$limit", Value: q.Limit}})
	}
	return stages
}

// find runs a find command on the view (findCmd's hook).
func (vr *viewRead) find(ctx context.Context, env *Env, req *Request, q *planner.Query, batchSize int64, singleBatch bool) (bson.D, error) {
	if vr.err != nil {
		return nil, vr.err
	}
	stages, err := findAsAggregate(req, q, singleBatch)
	if err != nil {
		return nil, err
	}
	if err := vr.checkCollation(req); err != nil {
		return nil, err
	}
	areq := vr.request(req, stages, keepFields("hint", "let", "allowDiskUse"))
	return vr.cursor(ctx, env, areq, batchSize, singleBatch)
}

// ---- count and distinct ----

func countStages(q *planner.Query) []bson.D {
	return append(queryStages(q, nil), bson.D{{Key: "$count", Value: "count"}})
}

// count runs a count command on the view (countCmd's hook).
func (vr *viewRead) count(ctx context.Context, env *Env, req *Request, q *planner.Query) (bson.D, error) {
	if vr.err != nil {
		return nil, vr.err
	}
	if err := vr.checkCollation(req); err != nil {
		return nil, err
	}
	src, _, err := vr.open(ctx, env, vr.request(req, countStages(q), keepFields("hint")))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var n int64
	d, err := src.Next(ctx)
	switch {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, err
	default:
		n, _ = bsonutil.ToInt64(bsonutil.Get(d, "count"))
	}
	return bson.D{{Key: "n", Value: intValue(n)}}, nil
}

// distinct runs a distinct command on the view (distinctCmd's hook).
func (vr *viewRead) distinct(ctx context.Context, env *Env, req *Request, key string, filter bson.D) (bson.D, error) {
	if vr.err != nil {
		return nil, vr.err
	}
	if err := vr.checkCollation(req); err != nil {
		return nil, err
	}
	coll, err := vr.viewCollation()
	if err != nil {
		return nil, err
	}
	var stages []bson.D
	if len(filter) > 0 {
		stages = append(stages, bson.D{{Key: "$match", Value: filter}})
	}
	src, _, err := vr.open(ctx, env, vr.request(req, stages, keepFields("hint")))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	values := bson.A{}
	seen := map[string]bool{}
	for {
		d, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, v := range query.PathValues(d, key) {
			if bsonutil.IsMissing(v) {
				continue
			}
			k := string(index.AppendValue(nil, collation.ComparisonKey(coll, v), false))
			if !seen[k] {
				seen[k] = true
				values = append(values, v)
			}
		}
	}
	return bson.D{{Key: "values", Value: values}}, nil
}

// ---- aggregate and explain ----

// aggregate runs an aggregate command on the view (aggregateCmd's hook).
func (vr *viewRead) aggregate(ctx context.Context, env *Env, req *Request, ar *aggRequest) (bson.D, error) {
	if vr.err != nil {
		return nil, vr.err
	}
	if err := vr.checkCollation(req); err != nil {
		return nil, err
	}
	areq := vr.request(req, ar.stages, func(string) bool { return true })
	if ar.explain {
		xar, err := parseAggregate(areq, true)
		if err != nil {
			return nil, err
		}
		return explainAggregatePipeline(env, areq, xar, planner.VerbosityQueryPlanner)
	}
	return vr.cursor(ctx, env, areq, ar.batchSize, false)
}

// explainViewRequest rewrites a command that explain wraps, when it reads
// a view, into the aggregate that runs it (explainCmd's hook); writes on a
// view fail. Other commands come back unchanged.
func explainViewRequest(env *Env, sub *Request) (*Request, error) {
	name, ok := sub.Body[0].Value.(string)
	if !ok {
		return sub, nil
	}
	vr := viewReadOf(env, sub.DB, name)
	if vr == nil || vr.defs != nil {
		return sub, nil
	}
	switch sub.Name {
	case "update", "delete", "findAndModify", "findandmodify":
		return nil, viewNotCollection(sub.DB, name)
	case "find", "count", "distinct", "aggregate":
	default:
		return sub, nil
	}
	if vr.err != nil {
		return nil, vr.err
	}
	if err := vr.checkCollation(sub); err != nil {
		return nil, err
	}
	var stages []bson.D
	keep := keepFields("hint", "let", "allowDiskUse")
	switch sub.Name {
	case "find":
		q, err := parseFindQuery(sub)
		if err != nil {
			return nil, err
		}
		singleBatch, _ := argBool(sub, "singleBatch")
		if stages, err = findAsAggregate(sub, q, singleBatch); err != nil {
			return nil, err
		}
	case "count":
		q, err := parseCountQuery(sub)
		if err != nil {
			return nil, err
		}
		stages = countStages(q)
	case "distinct":
		filter, _, err := argDoc(sub, "query")
		if err != nil {
			return nil, err
		}
		if len(filter) > 0 {
			stages = append(stages, bson.D{{Key: "$match", Value: filter}})
		}
	case "aggregate":
		ar, err := parseAggregate(sub, true)
		if err != nil {
			return nil, err
		}
		stages = ar.stages
		keep = func(k string) bool { return k != "explain" && k != "cursor" }
	}
	return vr.request(sub, stages, keep), nil
}

// ---- DDL: create, collMod, drop, listCollections ----

// isViewCreate reports whether a create command creates a view.
func isViewCreate(req *Request) bool {
	_, viewOn := req.Arg("viewOn")
	_, pipeline := req.Arg("pipeline")
	return viewOn || pipeline
}

// viewPipelineArg reads a pipeline argument (an array of stage documents).
func viewPipelineArg(cmd string, v any) ([]bson.D, error) {
	a, ok := v.(bson.A)
	if !ok {
		return nil, fieldErr(cmd, "pipeline", "array", v)
	}
	out := make([]bson.D, len(a))
	for i, s := range a {
		d, ok := s.(bson.D)
		if !ok {
			return nil, mongoerr.New(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
		}
		out[i] = d
	}
	return out, nil
}

func viewOnArg(cmd string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fieldErr(cmd, "viewOn", "string", v)
	}
	if s == "" {
		return "", mongoerr.New(mongoerr.BadValue, "'viewOn' cannot be empty")
	}
	return s, nil
}

// checkViewPipeline validates a view definition's pipeline: no stage that
// writes ($out, $merge) or cannot be in a view ($changeStream), also in
// sub-pipelines, and it must parse.
func checkViewPipeline(env *Env, db, view, viewOn string, pipeline []bson.D, coll *collation.Collation) error {
	if err := catalog.ValidateCollName(db, viewOn); err != nil {
		return err
	}
	if err := forbiddenViewStages(db+"."+view, pipeline); err != nil {
		return err
	}
	_, err := aggregate.Parse(pipeline, &aggregate.Options{DB: db, Coll: viewOn, Env: aggEnv{env: env}, Collation: coll})
	return err
}

func forbiddenViewStages(viewNS string, stages []bson.D) error {
	invalid := func(why string) error {
		return mongoerr.Newf(mongoerr.OptionNotSupportedOnView, "Invalid pipeline for view %s :: caused by :: %s", viewNS, why)
	}
	sub := func(v any) error {
		a, ok := v.(bson.A)
		if !ok {
			return nil
		}
		var ss []bson.D
		for _, e := range a {
			if d, ok := e.(bson.D); ok {
				ss = append(ss, d)
			}
		}
		return forbiddenViewStages(viewNS, ss)
	}
	for i, st := range stages {
		if len(st) != 1 {
			continue
		}
		switch st[0].Key {
		case "$out", "$merge":
			return invalid("The aggregation stage " + st[0].Key + " in location " + strconv.Itoa(i) + " of the pipeline cannot be used in the view definition of " + viewNS + " because it writes to disk")
		case "$changeStream":
			return invalid("$changeStream cannot be used in a view definition")
		case "$lookup":
			d, _ := st[0].Value.(bson.D)
			if err := sub(bsonutil.Get(d, "pipeline")); err != nil {
				return err
			}
		case "$unionWith":
			d, _ := st[0].Value.(bson.D)
			if err := sub(bsonutil.Get(d, "pipeline")); err != nil {
				return err
			}
		case "$facet":
			d, _ := st[0].Value.(bson.D)
			for _, e := range d {
				if err := sub(e.Value); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// createView runs create with viewOn/pipeline (createCmd's hook).
func createView(ctx context.Context, env *Env, req *Request, name string) (bson.D, error) {
	v := catalog.View{DB: req.DB, Name: name, Pipeline: []bson.D{}}
	hasViewOn := false
	var coll *collation.Collation
	for _, e := range req.Body[1:] {
		switch {
		case genericFields[e.Key]:
		case e.Key == "viewOn":
			s, err := viewOnArg(req.Name, e.Value)
			if err != nil {
				return nil, err
			}
			v.ViewOn, hasViewOn = s, true
		case e.Key == "pipeline":
			p, err := viewPipelineArg(req.Name, e.Value)
			if err != nil {
				return nil, err
			}
			v.Pipeline = p
		case e.Key == "collation":
			c, err := parseCollationValue(req.Name, e.Key, e.Value)
			if err != nil {
				return nil, err
			}
			if c != nil {
				coll, v.Collation = c, c.Spec()
			}
		case e.Key == "capped" && !bsonutil.IsTruthy(e.Value):
		case createOptions[e.Key] || unsupportedCreate[e.Key] != "" || e.Key == "clusteredIndex":
			return nil, mongoerr.Newf(mongoerr.InvalidOptions, "option not supported on a view: %s", e.Key)
		default:
			return nil, mongoerr.Newf(mongoerr.Code(40415), "BSON field 'create.%s' is an unknown field.", e.Key)
		}
	}
	if !hasViewOn {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "'pipeline' requires 'viewOn' to also be specified")
	}
	if strings.HasPrefix(name, "system.") {
		return nil, mongoerr.Newf(mongoerr.InvalidNamespace, "View name cannot start with 'system.', which is reserved for system namespaces: %s.%s", req.DB, name)
	}
	if err := checkViewPipeline(env, req.DB, name, v.ViewOn, v.Pipeline, coll); err != nil {
		return nil, err
	}
	// As in MongoDB 7.0, creating a view that exists with the same
	// definition succeeds.
	if old := env.Catalog.View(req.DB, name); old != nil && old.SameDefinition(&v) {
		return bson.D{}, nil
	}
	if err := env.Catalog.CreateView(ctx, v); err != nil {
		return nil, err
	}
	return bson.D{}, nil
}

// collModView runs collMod on a view (collModCmd's hook): viewOn and
// pipeline may change, nothing else.
func collModView(ctx context.Context, env *Env, req *Request, v *catalog.View) (bson.D, error) {
	var viewOn string
	var pipeline []bson.D
	hasViewOn, hasPipeline := false, false
	for _, e := range req.Body[1:] {
		switch {
		case genericFields[e.Key]:
		case e.Key == "viewOn":
			s, err := viewOnArg(req.Name, e.Value)
			if err != nil {
				return nil, err
			}
			viewOn, hasViewOn = s, true
		case e.Key == "pipeline":
			p, err := viewPipelineArg(req.Name, e.Value)
			if err != nil {
				return nil, err
			}
			pipeline, hasPipeline = p, true
		default:
			return nil, mongoerr.Newf(mongoerr.InvalidOptions, "option not supported on a view: %s", e.Key)
		}
	}
	if !hasViewOn && !hasPipeline {
		return bson.D{}, nil
	}
	// Validate outside the catalog lock (ModifyView holds it while it
	// calls change, and parsing may read the catalog).
	if !hasViewOn {
		viewOn = v.ViewOn
	}
	if !hasPipeline {
		pipeline = v.Pipeline
	}
	coll, err := collationOf(v.Collation)
	if err != nil {
		return nil, err
	}
	if err := checkViewPipeline(env, v.DB, v.Name, viewOn, pipeline, coll); err != nil {
		return nil, err
	}
	err = env.Catalog.ModifyView(ctx, req.DB, v.Name, func(cv *catalog.View) error {
		if hasViewOn {
			cv.ViewOn = viewOn
		}
		if hasPipeline {
			cv.Pipeline = pipeline
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return bson.D{}, nil
}

func collationOf(spec bson.D) (*collation.Collation, error) {
	if spec == nil {
		return nil, nil
	}
	return collation.Parse(spec)
}

// viewNamespace reports whether db.name is a view or the virtual
// system.views (dropCmd's hook).
func viewNamespace(env *Env, db, name string) bool {
	if name == catalog.SystemViews {
		return len(env.Catalog.Views(db)) > 0
	}
	return env.Catalog.View(db, name) != nil
}

// dropView drops a view, or every view of db when name is system.views.
func dropView(ctx context.Context, env *Env, db, name string) (bson.D, error) {
	if name == catalog.SystemViews {
		if _, err := env.Catalog.DropViews(ctx, db); err != nil {
			return nil, err
		}
	} else if _, err := env.Catalog.DropView(ctx, db, name); err != nil {
		return nil, err
	}
	return bson.D{{Key: "ns", Value: ns(db, name)}}, nil
}

// appendViewInfos adds db's views, and system.views when there are any,
// to a listCollections result (listCollectionsCmd's hook). m filters
// the full entries.
func appendViewInfos(env *Env, db string, m *query.Matcher, nameOnly bool, docs []bson.Raw) ([]bson.Raw, error) {
	views := env.Catalog.Views(db)
	if len(views) == 0 {
		return docs, nil
	}
	type entry struct{ full, short bson.D }
	entries := []entry{{
		full: bson.D{
			{Key: "name", Value: catalog.SystemViews},
			{Key: "type", Value: "collection"},
			{Key: "options", Value: bson.D{}},
			{Key: "info", Value: bson.D{{Key: "readOnly", Value: false}, {Key: "uuid", Value: systemViewsUUID(db)}}},
			{Key: "idIndex", Value: catalog.IDIndexSpec()},
		},
		short: bson.D{{Key: "name", Value: catalog.SystemViews}, {Key: "type", Value: "collection"}},
	}}
	for _, v := range views {
		entries = append(entries, entry{
			full: bson.D{
				{Key: "name", Value: v.Name},
				{Key: "type", Value: "view"},
				{Key: "options", Value: v.Options()},
				{Key: "info", Value: bson.D{{Key: "readOnly", Value: true}}},
			},
			short: bson.D{{Key: "name", Value: v.Name}, {Key: "type", Value: "view"}},
		})
	}
	for _, e := range entries {
		ok, err := m.Match(e.full)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		d := e.full
		if nameOnly {
			d = e.short
		}
		b, err := bson.Marshal(d)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	return docs, nil
}

// systemViewsUUID is a stable UUID for db's virtual system.views.
func systemViewsUUID(db string) bson.Binary {
	h := sha256.Sum256([]byte("cairn system.views " + db))
	b := h[:16]
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return bson.Binary{Subtype: 4, Data: append([]byte(nil), b...)}
}
