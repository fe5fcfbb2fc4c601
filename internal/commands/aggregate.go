package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/cairndb/cairn/internal/collation"
	"slices"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/aggregate"
	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "aggregate", Help: "run an aggregation pipeline", Handler: aggregateCmd})
}

// planSource adapts an iterator over stored documents (the planner's, or
// a collection's records) to an aggregation source, decoding each document
// with dec (only the fields the pipeline reads) and closing the snapshot
// with it.
type planSource struct {
	it   planner.Iterator
	snap *catalog.Snap
	dec  *aggregate.DocDecoder
}

func (p *planSource) Next(ctx context.Context) (bson.D, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := p.it.Next()
	if err != nil {
		return nil, err
	}
	d, err := p.dec.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("commands: decode document: %w", err)
	}
	return d, nil
}

// viewIter reads records without copying them (catalog.RecordIter.NextView);
// only for a planSource whose decoder copies what it keeps.
type viewIter struct{ *catalog.RecordIter }

func (v viewIter) Next() (bson.Raw, error) { return v.NextView() }

func (p *planSource) Close() error {
	err := p.it.Close()
	if p.snap != nil {
		if cerr := p.snap.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// aggEnv gives pipeline stages access to other collections. It implements
// aggregate.Env, aggregate.Writer ($out, $merge) and aggregate.StatsReader
// ($collStats, $indexStats).
type aggEnv struct {
	env    *Env
	opts   storageOpts // write concern of the aggregate command
	bypass bool        // bypassDocumentValidation
}

var (
	_ aggregate.Writer      = aggEnv{}
	_ aggregate.StatsReader = aggEnv{}
)

func (a aggEnv) Scan(ctx context.Context, db, coll string) (aggregate.Source, error) {
	if vr := viewReadOf(a.env, db, coll); vr != nil {
		return vr.source(ctx, a.env, db)
	}
	return scanSource(a.env, db, coll, &planner.Query{})
}

// scanSource runs q over db.name through the planner, decoding whole
// documents.
func scanSource(env *Env, db, name string, q *planner.Query) (aggregate.Source, error) {
	return scanSourceFor(env, db, name, q, aggregate.Deps{All: true})
}

// scanSourceFor runs q over db.name through the planner; the documents are
// decoded for a pipeline with dependencies deps (see
// aggregate.Pipeline.Dependencies). A query that asks for
// every document in natural order (no filter, sort, limit, skip, hint or
// bounds) reads the collection's records directly: the planner would run
// the same collection scan but decode every document to match it against
// the empty filter.
func scanSourceFor(env *Env, db, name string, q *planner.Query, deps aggregate.Deps) (aggregate.Source, error) {
	coll := env.Catalog.Collection(db, name)
	snap, err := env.Catalog.Snapshot()
	if err != nil {
		return nil, err
	}
	dec := aggregate.NewDocDecoder(deps)
	if wholeCollection(q) {
		if coll == nil {
			snap.Close()
			return aggregate.SliceSource(nil), nil
		}
		it, err := snap.Scan(coll, false)
		if err != nil {
			snap.Close()
			return nil, err
		}
		if dec.Detached() {
			// Decoded fields are copies: read the records in place.
			return &planSource{it: viewIter{it}, snap: snap, dec: dec}, nil
		}
		return &planSource{it: it, snap: snap, dec: dec}, nil
	}
	it, err := planner.Find(snap, coll, q)
	if err != nil {
		snap.Close()
		return nil, err
	}
	return &planSource{it: it, snap: snap, dec: dec}, nil
}

// matchInPipeline reports whether the leading $match stages that pushdown
// gave the planner as q should rather stay in the pipeline. That is so when
// the planner could only run q as a collection scan: no index other than
// _id has a field the filter names, the filter does not name _id, and
// there is no hint, bounds, sort, skip or limit. The planner would then
// decode every document whole to match it, while in the pipeline the
// $match (the same matcher, with the same let variables and collation)
// reads documents decoded only for the fields the pipeline reads. Filters
// that read whole documents ($where, $text, $jsonSchema, ...) or need an
// index ($near, $nearSphere) stay with the planner.
func matchInPipeline(coll *catalog.Collection, q *planner.Query) bool {
	if coll == nil || len(q.Filter) == 0 || !unshaped(q) {
		return false
	}
	fd := aggregate.FilterDeps(q.Filter)
	if fd.All || slices.Contains(fd.Fields, "_id") || namesOperator(q.Filter, "$near", "$nearSphere", "$geoNear") {
		return false
	}
	for _, ix := range coll.Indexes {
		if ix.IsID() {
			continue
		}
		for _, f := range ix.Fields() {
			top, _, _ := strings.Cut(f, ".")
			if strings.Contains(f, "$") || slices.Contains(fd.Fields, top) {
				return false
			}
		}
	}
	return true
}

// namesOperator reports whether any document inside v has one of the
// given keys.
func namesOperator(v any, ops ...string) bool {
	switch x := v.(type) {
	case bson.D:
		for _, e := range x {
			if slices.Contains(ops, e.Key) || namesOperator(e.Value, ops...) {
				return true
			}
		}
	case bson.A:
		for _, e := range x {
			if namesOperator(e, ops...) {
				return true
			}
		}
	}
	return false
}

// wholeCollection reports whether q reads every document of a collection
// in natural order, unchanged.
func wholeCollection(q *planner.Query) bool { return len(q.Filter) == 0 && unshaped(q) }

// unshaped reports whether q has no sort, projection, skip, limit, hint,
// bounds or returnKey: it only filters.
func unshaped(q *planner.Query) bool {
	return len(q.Sort) == 0 && len(q.Projection) == 0 && q.Skip == 0 && q.Limit == 0 &&
		q.Hint == nil && q.Min == nil && q.Max == nil && !q.ReturnKey
}

// ---- $out ----

type aggOut struct {
	a        aggEnv
	db, coll string
	tmp      string
}

// BeginOut creates the temporary collection "tmp.agg_out.<random>" in db
// with the target's indexes.
func (a aggEnv) BeginOut(ctx context.Context, db, coll string) (aggregate.OutTarget, error) {
	if err := catalog.ValidateCollName(db, coll); err != nil {
		return nil, err
	}
	if err := refuseViewWrite(a.env, db, coll); err != nil {
		return nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := "tmp.agg_out." + hex.EncodeToString(rnd[:])
	// The temporary collection gets the target's options (validator, ...)
	// and indexes, which the rename then keeps.
	target := a.env.Catalog.Collection(db, coll)
	if err := outTargetAllowed(target); err != nil {
		return nil, err
	}
	var copts catalog.CreateOptions
	if target != nil {
		copts.Options = target.Options
	}
	if _, err := a.env.Catalog.Create(ctx, db, tmp, copts); err != nil {
		return nil, err
	}
	o := &aggOut{a: a, db: db, coll: coll, tmp: tmp}
	if target != nil {
		var specs []bson.D
		for _, ix := range target.Indexes {
			if !ix.IsID() {
				specs = append(specs, ix.Spec)
			}
		}
		if len(specs) > 0 {
			if _, _, _, err := a.env.Catalog.CreateIndexes(ctx, db, tmp, specs); err != nil {
				_ = o.Abort(ctx)
				return nil, err
			}
		}
	}
	return o, nil
}

func (o *aggOut) Insert(ctx context.Context, docs []bson.D) error {
	return writeColl(ctx, o.a.env, o.db, o.tmp, false, o.a.opts, func(w *catalog.Writer, coll *catalog.Collection) error {
		if coll == nil {
			return mongoerr.Newf(mongoerr.NamespaceNotFound, "$out temporary collection %s.%s was dropped", o.db, o.tmp)
		}
		v, err := newValidator(coll, o.a.bypass)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if err := insertOne(w, coll, d, v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (o *aggOut) Commit(ctx context.Context) error {
	return o.a.env.Catalog.Rename(ctx, o.db, o.tmp, o.db, o.coll, true)
}

func (o *aggOut) Abort(ctx context.Context) error {
	_, err := o.a.env.Catalog.Drop(ctx, o.db, o.tmp)
	return err
}

// ---- $merge ----

type aggTxn struct {
	w    *catalog.Writer
	coll *catalog.Collection
	v    *docValidator
}

func (a aggEnv) WriteBatch(ctx context.Context, db, coll string, fn func(t aggregate.WriteTxn) error) error {
	if err := refuseViewWrite(a.env, db, coll); err != nil {
		return err
	}
	return writeColl(ctx, a.env, db, coll, true, a.opts, func(w *catalog.Writer, c *catalog.Collection) error {
		v, err := newValidator(c, a.bypass)
		if err != nil {
			return err
		}
		return fn(&aggTxn{w: w, coll: c, v: v})
	})
}

func (t *aggTxn) Find(filter bson.D) ([]bson.D, error) {
	docs, err := planner.Matches(t.w, t.coll, &planner.Query{Filter: filter})
	if err != nil {
		return nil, err
	}
	out := make([]bson.D, len(docs))
	for i, d := range docs {
		out[i] = d.D
	}
	return out, nil
}

func (t *aggTxn) Insert(doc bson.D) error { return insertOne(t.w, t.coll, doc, t.v) }

func (t *aggTxn) Replace(old, doc bson.D) error {
	raw, err := t.w.FindID(t.coll, bsonutil.Get(old, "_id"))
	if err != nil {
		return err
	}
	if raw == nil {
		return mongoerr.New(mongoerr.NoSuchKey, "$merge: the matched document disappeared")
	}
	if err := validateStoredFieldNames(doc); err != nil {
		return err
	}
	doc, err = catalog.PrepareInsert(doc)
	if err != nil {
		return err
	}
	if err := t.v.check(doc, old); err != nil {
		return err
	}
	return t.w.Replace(t.coll, raw, nil, doc)
}

func (a aggEnv) UniqueIndex(ctx context.Context, db, coll string, fields []string) (bool, bool, error) {
	c := a.env.Catalog.Collection(db, coll)
	if c == nil {
		return false, false, nil
	}
	want := slices.Clone(fields)
	slices.Sort(want)
	for _, ix := range c.Indexes {
		if !(ix.Unique || ix.IsID()) || ix.Partial != nil {
			continue
		}
		got := slices.Clone(ix.Fields())
		slices.Sort(got)
		if slices.Equal(got, want) {
			return true, true, nil
		}
	}
	return true, false, nil
}

// ---- $collStats / $indexStats ----

// LocalSessions lists the sessions the server has seen
// ($listLocalSessions).
func (a aggEnv) LocalSessions(ctx context.Context) ([]bson.D, error) {
	return a.env.Sessions.List(), nil
}

func (a aggEnv) CollStats(ctx context.Context, db, name string, scale int64) (int64, bson.D, error) {
	coll := a.env.Catalog.Collection(db, name)
	if coll == nil {
		return 0, nil, mongoerr.Newf(mongoerr.NamespaceNotFound, "Unable to retrieve storageStats in $collStats stage :: caused by :: Collection [%s.%s] not found.", db, name)
	}
	return collStorageStats(a.env, coll, scale)
}

func (a aggEnv) IndexStats(ctx context.Context, db, name string) ([]bson.D, error) {
	coll := a.env.Catalog.Collection(db, name)
	if coll == nil {
		return nil, nil
	}
	host := ""
	since := time.Now()
	if a.env.Info != nil {
		host = a.env.Info.Host
		if !a.env.Info.StartTime.IsZero() {
			since = a.env.Info.StartTime
		}
	}
	out := make([]bson.D, 0, len(coll.Indexes))
	for _, ix := range coll.Indexes {
		out = append(out, bson.D{
			{Key: "name", Value: ix.Name},
			{Key: "key", Value: ix.Key},
			{Key: "host", Value: host},
			{Key: "accesses", Value: bson.D{
				{Key: "ops", Value: int64(0)},
				{Key: "since", Value: bson.NewDateTimeFromTime(since)},
			}},
			{Key: "spec", Value: ix.Spec},
		})
	}
	return out, nil
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

// aggRequest is a parsed aggregate command.
type aggRequest struct {
	coll           string // "" when collectionless
	stages         []bson.D
	explain        bool
	hasCursor      bool
	batchSize      int64
	allowDiskUse   bool
	vars           *expr.Vars
	writeOpts      storageOpts
	bypass         bool
	collectionless bool
	collation      *collation.Collation
}

// parseAggregate parses an aggregate command; inExplain is set when it is
// the command wrapped by explain (no cursor needed).
func parseAggregate(req *Request, inExplain bool) (*aggRequest, error) {
	ar := &aggRequest{batchSize: defaultFirstBatch}
	switch v := req.Body[0].Value.(type) {
	case string:
		n, err := collName(req)
		if err != nil {
			return nil, err
		}
		ar.coll = n
	default:
		if n, ok := bsonutil.ToInt64(v); ok && n == 1 {
			ar.collectionless = true
		} else {
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "Invalid %s: aggregate field must be a string or the number 1", bsonutil.TypeName(v))
		}
	}
	if err := checkFields(req, "pipeline", "cursor", "explain", "allowDiskUse", "bypassDocumentValidation",
		"collation", "hint", "let", "fromMongos", "needsMerge", "isMapReduceCommand", "writeConcern"); err != nil {
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
	ar.stages = make([]bson.D, len(pa))
	for i, s := range pa {
		d, ok := s.(bson.D)
		if !ok {
			return nil, mongoerr.Newf(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
		}
		ar.stages[i] = d
	}
	var err error
	if ar.explain, err = argBool(req, "explain"); err != nil {
		return nil, err
	}
	cursorOpts, hasCursor, err := argDoc(req, "cursor")
	if err != nil {
		return nil, err
	}
	ar.hasCursor = hasCursor
	if inExplain {
		ar.explain = true
	}
	if !hasCursor && !ar.explain {
		return nil, mongoerr.New(mongoerr.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument")
	}
	if v := bsonutil.Get(cursorOpts, "batchSize"); !bsonutil.IsMissing(v) {
		n, ok := bsonutil.ToInt64(v)
		if !ok || n < 0 {
			return nil, mongoerr.New(mongoerr.BadValue, "cursor.batchSize must not be negative")
		}
		ar.batchSize = n
	}
	if ar.allowDiskUse, err = argBool(req, "allowDiskUse"); err != nil {
		return nil, err
	}
	if ar.collation, err = parseCollationArg(req); err != nil {
		return nil, err
	}
	if ar.vars, err = letVars(req); err != nil {
		return nil, err
	}
	if ar.bypass, err = argBool(req, "bypassDocumentValidation"); err != nil {
		return nil, err
	}
	if ar.writeOpts, _, err = writeOptions(req); err != nil {
		return nil, err
	}
	return ar, nil
}

// pushdown splits the pipeline into the query the planner runs (leading
// $match stages, then a leading $sort with a following $limit) and the
// rest.
func pushdown(req *Request, p *aggregate.Pipeline, vars *expr.Vars, allowDiskUse bool) (*planner.Query, *aggregate.Pipeline, error) {
	filter, rest := p.LeadingMatch()
	q := &planner.Query{Filter: filter, Vars: vars, AllowDiskUse: allowDiskUse}
	if err := queryHints(req, q); err != nil {
		return nil, nil, err
	}
	if sort, r := rest.LeadingSort(); sort != nil {
		q.Sort, rest = sort, r
		if n, ok := rest.LeadingLimit(); ok {
			// The $limit stays in the pipeline; applying it twice is
			// harmless.
			q.Limit = n
		}
	}
	return q, rest, nil
}

// nonV1Stages are the pipeline stages outside Stable API version 1.
var nonV1Stages = map[string]bool{
	"$listLocalSessions": true, "$listSessions": true, "$currentOp": true, "$indexStats": true,
	"$collStats": true, "$planCacheStats": true, "$search": true, "$searchMeta": true,
}

// checkAPIStrictStages refuses stages outside API version 1 when the
// command declares apiStrict: true.
func checkAPIStrictStages(req *Request, stages []bson.D) error {
	if v, ok := req.Arg("apiStrict"); !ok || v != true {
		return nil
	}
	for _, st := range stages {
		if len(st) > 0 && nonV1Stages[st[0].Key] {
			return mongoerr.Newf(mongoerr.APIStrictError, "%s is not allowed with 'apiStrict: true' in API Version 1", st[0].Key)
		}
	}
	return nil
}

func aggregateCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	ar, err := parseAggregate(req, false)
	if err != nil {
		return nil, err
	}
	if err := checkAPIStrictStages(req, ar.stages); err != nil {
		return nil, err
	}
	if vr := viewReadOf(env, req.DB, ar.coll); vr != nil {
		return vr.aggregate(ctx, env, req, ar)
	}
	if ar.explain {
		return explainAggregatePipeline(env, req, ar, planner.VerbosityQueryPlanner)
	}
	p, err := ar.parse(env, req)
	if err != nil {
		return nil, err
	}
	var in aggregate.Source
	if ar.collectionless || startsWithOwnSource(p) {
		in = aggregate.SliceSource(nil)
	} else {
		whole := p
		var q *planner.Query
		if q, p, err = pushdown(req, p, ar.vars, ar.allowDiskUse); err != nil {
			return nil, err
		}
		if matchInPipeline(env.Catalog.Collection(req.DB, ar.coll), q) {
			q, p = &planner.Query{Vars: q.Vars, AllowDiskUse: q.AllowDiskUse, Collation: q.Collation}, whole
		}
		in, err = scanSourceFor(env, req.DB, ar.coll, q, p.Dependencies())
		if err != nil {
			return nil, err
		}
	}
	out, err := p.Run(ctx, in)
	if err != nil {
		in.Close()
		return nil, err
	}
	nsName := ar.coll
	if ar.collectionless {
		nsName = "$cmd.aggregate"
	}
	// The cursor outlives this request; it must not use the request's context.
	cur := &Cursor{NS: ns(req.DB, nsName), Iter: &sourceIter{ctx: context.WithoutCancel(ctx), src: out}}
	return firstBatch(env, cur, ar.batchSize, false, nil)
}

// startsWithOwnSource reports whether the first stage produces its own
// documents ($collStats, $indexStats, $documents), so that the collection
// need not be scanned.
func startsWithOwnSource(p *aggregate.Pipeline) bool {
	st := p.Stages()
	if len(st) == 0 {
		return false
	}
	switch st[0].Name() {
	case "$collStats", "$indexStats", "$documents", "$listLocalSessions":
		return true
	}
	return false
}

func (ar *aggRequest) parse(env *Env, req *Request) (*aggregate.Pipeline, error) {
	return aggregate.Parse(ar.stages, &aggregate.Options{DB: req.DB, Coll: ar.coll,
		Env: aggEnv{env: env, opts: ar.writeOpts, bypass: ar.bypass}, Vars: ar.vars, AllowDiskUse: ar.allowDiskUse, Collation: ar.collation})
}

// aggregateExplain explains the aggregate command req (as wrapped by the
// explain command) with the given verbosity.
func aggregateExplain(env *Env, req *Request, verbosity string) (bson.D, error) {
	ar, err := parseAggregate(req, true)
	if err != nil {
		return nil, err
	}
	return explainAggregatePipeline(env, req, ar, verbosity)
}

// explainAggregatePipeline describes how the pipeline would run: the part
// pushed down to the planner (leading $match stages, a leading $sort and
// its $limit) as a $cursor stage with the planner's explain, then the
// remaining stages. Nothing is written: $out and $merge are only shown.
func explainAggregatePipeline(env *Env, req *Request, ar *aggRequest, verbosity string) (bson.D, error) {
	p, err := ar.parse(env, req)
	if err != nil {
		return nil, err
	}
	var stages bson.A
	rest := p
	if !ar.collectionless && !startsWithOwnSource(p) {
		var q *planner.Query
		if q, rest, err = pushdown(req, p, ar.vars, ar.allowDiskUse); err != nil {
			return nil, err
		}
		coll := env.Catalog.Collection(req.DB, ar.coll)
		snap, err := env.Catalog.Snapshot()
		if err != nil {
			return nil, err
		}
		ex, err := planner.Explain(snap, coll, ns(req.DB, ar.coll), q, planner.ExplainAggregate, verbosity)
		snap.Close()
		if err != nil {
			return nil, err
		}
		if len(rest.Stages()) == 0 {
			return ex, nil
		}
		cursor := bson.D{}
		for _, e := range ex {
			if e.Key != "explainVersion" {
				cursor = append(cursor, e)
			}
		}
		stages = append(stages, bson.D{{Key: "$cursor", Value: cursor}})
	}
	for _, s := range rest.Specs() {
		stages = append(stages, s)
	}
	return bson.D{{Key: "explainVersion", Value: "1"}, {Key: "stages", Value: stages}}, nil
}
