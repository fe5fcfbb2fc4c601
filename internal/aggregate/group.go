package aggregate

import (
	"context"
	"io"
	"math"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// groupSpec is a compiled $group: the _id expression and accumulators.
type groupSpec struct {
	stage string
	id    argExpr
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
			g.id = newArgExpr(e.Value, id)
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
	index  map[string][]int // hash key (appendHashKey) -> groups
	nums   map[uint64][]int // number keys: the bits of their double value -> groups
	keys   []any
	states [][]accumulator
	mem    *memTracker
	sc     docScope // the document being added
	kbuf   []byte   // scratch for hash keys
}

func (g *groupSpec) newRun() *groupRun {
	return &groupRun{g: g, index: map[string][]int{}, nums: map[uint64][]int{}, mem: newMemTracker(g.stage, g.opts)}
}

// key evaluates the group key of the document in r.sc.
func (r *groupRun) key() (any, error) {
	k, err := r.g.id.eval(&r.sc)
	if err != nil {
		return nil, err
	}
	return nullIfMissing(k), nil
}

// add feeds one document into its group.
func (r *groupRun) add(doc bson.D) error {
	r.sc.reset(r.g.vars, doc)
	key, err := r.key()
	if err != nil {
		return err
	}
	return r.addScoped(key)
}

// numberKey returns the map key of a number group key: the bits of its
// double value, with -0 and NaN made canonical as in appendHashKey, so
// that numbers that compare equal (whatever their types) share it.
func numberKey(v any) (uint64, bool) {
	var f float64
	switch x := v.(type) {
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		if !bsonutil.IsNumber(v) {
			return 0, false
		}
		f, _ = bsonutil.ToFloat64(v) // Decimal128
	}
	if f == 0 {
		f = 0
	}
	if math.IsNaN(f) {
		f = math.NaN()
	}
	return math.Float64bits(f), true
}

// find returns the index of the group with key, or -1. Numbers (the
// common group keys) are looked up by value bits, other keys by their
// hash key, which find leaves in r.kbuf. Equal hash keys do not always
// mean equal values, so candidates are confirmed with bsonutil.Compare.
func (r *groupRun) find(key any) int {
	var cands []int
	if nk, ok := numberKey(key); ok {
		cands = r.nums[nk]
	} else {
		r.kbuf = appendHashKey(r.kbuf[:0], key)
		cands = r.index[string(r.kbuf)]
	}
	for _, i := range cands {
		if bsonutil.Compare(r.keys[i], key) == 0 {
			return i
		}
	}
	return -1
}

// insert registers key as group gi; find(key) must have been called
// last. It returns the bytes the index entry takes, roughly.
func (r *groupRun) insert(key any, gi int) int64 {
	if nk, ok := numberKey(key); ok {
		r.nums[nk] = append(r.nums[nk], gi)
		return 8
	}
	ks := string(r.kbuf)
	r.index[ks] = append(r.index[ks], gi)
	return int64(len(ks))
}

// addWithKey feeds doc into the group with key.
func (r *groupRun) addWithKey(key any, doc bson.D) error {
	r.sc.reset(r.g.vars, doc)
	return r.addScoped(key)
}

// addScoped feeds the document in r.sc into the group with key.
func (r *groupRun) addScoped(key any) error {
	gi := r.find(key)
	if gi < 0 {
		gi = len(r.keys)
		ksize := r.insert(key, gi)
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
		if err := r.mem.add(ksize + approxSize(key) + 64*int64(len(st)+1)); err != nil {
			return err
		}
	}
	return addAll(r.states[gi], &r.sc, r.mem)
}

// addAll feeds the document in sc to each of accs, accounting the growth
// of their state in mem.
func addAll(accs []accumulator, sc *docScope, mem *memTracker) error {
	for _, a := range accs {
		n, err := a.add(sc)
		if err != nil {
			return err
		}
		if n != 0 {
			if err := mem.add(n); err != nil {
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
		r.sc.reset(g.vars, doc)
		key, err := r.key()
		if err != nil {
			return err
		}
		if r.find(key) >= 0 {
			return r.addScoped(key)
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
		if err := r.addWithKey(key, doc); err != nil {
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
