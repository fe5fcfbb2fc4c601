package aggregate

import (
	"context"
	"io"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// groupSpec is a compiled $group: the _id expression and accumulators.
type groupSpec struct {
	stage string
	id    expr.Expr
	accs  []*accDef
	vars  *expr.Vars
	opts  *Options
}

type groupStage struct {
	baseStage
	g *groupSpec
}

func parseGroup(pc *parseCtx, name string, spec any) (Stage, error) {
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.New(15947, "a group's fields must be specified in an object")
	}
	g, err := parseGroupSpec(d, name, pc)
	if err != nil {
		return nil, err
	}
	return &groupStage{baseStage{name, spec}, g}, nil
}

func parseGroupSpec(d bson.D, stage string, pc *parseCtx) (*groupSpec, error) {
	g := &groupSpec{stage: stage, vars: pc.vars, opts: pc.opts}
	haveID := false
	for _, e := range d {
		if e.Key == "_id" {
			if haveID {
				return nil, mongoerr.New(16948, "a group's _id may only be specified once")
			}
			haveID = true
			id, err := parseExpr(e.Value)
			if err != nil {
				return nil, err
			}
			g.id = id
			continue
		}
		def, err := parseAccField(e.Key, e.Value)
		if err != nil {
			return nil, err
		}
		g.accs = append(g.accs, def)
	}
	if !haveID {
		return nil, mongoerr.New(15955, "a group specification must include an _id")
	}
	return g, nil
}

// parseAccField compiles one {field: {$op: arg}} entry.
func parseAccField(field string, v any) (*accDef, error) {
	if field == "" {
		return nil, mongoerr.New(40352, "FieldPath cannot be constructed with empty string")
	}
	if strings.HasPrefix(field, "$") {
		return nil, mongoerr.Newf(40236, "The field name '%s' cannot be an operator name", field)
	}
	if strings.Contains(field, ".") {
		return nil, mongoerr.Newf(40235, "The field name '%s' cannot contain '.'", field)
	}
	d, ok := v.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(40234, "The field '%s' must be an accumulator object", field)
	}
	if len(d) != 1 {
		return nil, mongoerr.Newf(40238, "The field '%s' must specify one accumulator", field)
	}
	return parseAccumulator(field, d[0].Key, d[0].Value)
}

// groupRun is the per-run state of a $group.
type groupRun struct {
	g      *groupSpec
	index  map[string][]int
	keys   []any
	states [][]accumulator
	mem    *memTracker
}

func (g *groupSpec) newRun() *groupRun {
	return &groupRun{g: g, index: map[string][]int{}, mem: newMemTracker(g.stage, g.opts)}
}

// add feeds one document into its group.
func (r *groupRun) add(doc bson.D) error {
	vars := r.g.vars.WithRoot(doc)
	key, err := r.g.id.Eval(vars)
	if err != nil {
		return err
	}
	return r.addWithKey(nullIfMissing(key), vars, doc)
}

// find returns the index of the group with key, or -1.
func (r *groupRun) find(ks string, key any) int {
	for _, i := range r.index[ks] {
		if bsonutil.Compare(r.keys[i], key) == 0 {
			return i
		}
	}
	return -1
}

func (r *groupRun) addWithKey(key any, vars *expr.Vars, doc bson.D) error {
	ks := keyString(key)
	gi := r.find(ks, key)
	if gi < 0 {
		gi = len(r.keys)
		r.index[ks] = append(r.index[ks], gi)
		r.keys = append(r.keys, key)
		st := make([]accumulator, len(r.g.accs))
		for i, def := range r.g.accs {
			a, err := def.newAcc(key, r.g.vars)
			if err != nil {
				return err
			}
			st[i] = a
		}
		r.states = append(r.states, st)
		if err := r.mem.add(int64(len(ks)) + approxSize(key) + 64*int64(len(st)+1)); err != nil {
			return err
		}
	}
	for _, a := range r.states[gi] {
		n, err := a.add(vars, doc)
		if err != nil {
			return err
		}
		if n != 0 {
			if err := r.mem.add(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// results returns the group documents in first-seen key order.
func (r *groupRun) results() ([]bson.D, error) {
	out := make([]bson.D, 0, len(r.keys))
	for i, k := range r.keys {
		d := make(bson.D, 0, len(r.g.accs)+1)
		d = append(d, bson.E{Key: "_id", Value: k})
		for j, a := range r.states[i] {
			v, err := a.result()
			if err != nil {
				return nil, err
			}
			d = append(d, bson.E{Key: r.g.accs[j].field, Value: v})
		}
		out = append(out, d)
	}
	return out, nil
}

// run drains in through the group and returns the groups. Past the
// memory limit with AllowDiskUse, documents of groups not yet in memory
// are written to hash-partitioned spill files, and each partition is
// aggregated on its own at the end; the groups then come out in memory
// groups first, then partition by partition.
func (g *groupSpec) run(ctx context.Context, in Source) ([]bson.D, error) {
	r := g.newRun()
	var spill *groupSpill
	defer func() {
		if spill != nil {
			spill.close()
		}
	}()
	err := drain(ctx, in, func(doc bson.D) error {
		if spill == nil {
			if err := r.add(doc); err != nil {
				return err
			}
			if r.mem.over() {
				spill = &groupSpill{}
			}
			return nil
		}
		vars := g.vars.WithRoot(doc)
		k, err := g.id.Eval(vars)
		if err != nil {
			return err
		}
		key := nullIfMissing(k)
		if r.find(keyString(key), key) >= 0 {
			return r.addWithKey(key, vars, doc)
		}
		return spill.write(key, doc)
	})
	if err != nil {
		return nil, err
	}
	out, err := r.results()
	if err != nil || spill == nil {
		return out, err
	}
	for _, f := range spill.parts {
		if f == nil {
			continue
		}
		docs, err := g.runPartition(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	return out, nil
}

// runPartition aggregates one spill partition in memory.
func (g *groupSpec) runPartition(ctx context.Context, f *spillFile) ([]bson.D, error) {
	rd, err := f.reader()
	if err != nil {
		return nil, err
	}
	r := g.newRun()
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := checkCtx(ctx); err != nil {
				return nil, err
			}
		}
		rec, err := rd.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		key, doc, ok := recordParts(rec)
		if !ok {
			return nil, errBadRecord
		}
		if err := r.addWithKey(key, g.vars.WithRoot(doc), doc); err != nil {
			return nil, err
		}
	}
	return r.results()
}

func (s *groupStage) open(ctx context.Context, in Source) (Source, error) {
	return lazySource(in, func(ctx context.Context) ([]bson.D, error) { return s.g.run(ctx, in) }), nil
}

// lazySource runs fill on the first Next and then hands out its result.
func lazySource(in Source, fill func(ctx context.Context) ([]bson.D, error)) Source {
	var out Source
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		if out == nil {
			docs, err := fill(ctx)
			if err != nil {
				return nil, err
			}
			out = SliceSource(docs)
		}
		return out.Next(ctx)
	}}
}
