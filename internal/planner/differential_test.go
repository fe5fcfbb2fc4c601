package planner

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestDifferential checks, on random data, indexes and queries, that
// every way of answering a query (the planner's choice, each usable index
// forced by hint, with exact or conservative multikey information) gives
// the collection scan's answer. Set PLANNER_SEED to replay a run.
func TestDifferential(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PLANNER_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PLANNER_SEED: %v", err)
		}
		seed = n
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with PLANNER_SEED=%d", seed)
		}
	})
	for round := 0; round < 4; round++ {
		r := rand.New(rand.NewPCG(seed, uint64(round)))
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) { differentialRound(t, r) })
	}
}

var diffFields = []string{"a", "b", "c", "n.x"}

func randScalar(r *rand.Rand) any {
	switch r.IntN(12) {
	case 0, 1, 2:
		return int32(r.IntN(9) - 3)
	case 3:
		return int64(r.IntN(9) - 3)
	case 4:
		return float64(r.IntN(9)-3) + 0.5
	case 5, 6:
		return "s" + strconv.Itoa(r.IntN(5))
	case 7:
		return nil
	case 8:
		return r.IntN(2) == 0
	case 9:
		return bson.DateTime(int64(r.IntN(5)) * 1000)
	case 10:
		if r.IntN(4) == 0 {
			return math.NaN()
		}
		return math.Inf(1 - 2*r.IntN(2))
	}
	return ""
}

func randValue(r *rand.Rand, depth int) any {
	switch r.IntN(10) {
	case 0:
		if depth > 0 {
			return randScalar(r)
		}
		n := r.IntN(4)
		a := bson.A{}
		for i := 0; i < n; i++ {
			a = append(a, randValue(r, depth+1))
		}
		return a
	case 1:
		if depth > 0 {
			return randScalar(r)
		}
		return bson.D{{Key: "x", Value: randScalar(r)}}
	}
	return randScalar(r)
}

func randDoc(r *rand.Rand, id int) bson.D {
	d := bson.D{{Key: "_id", Value: int32(id)}}
	for _, f := range []string{"a", "b", "c"} {
		if r.IntN(6) == 0 {
			continue // sometimes missing
		}
		v := randValue(r, 0)
		if _, isArr := v.(bson.A); isArr && (f == "a" || (f == "b" && r.IntN(10) != 0)) {
			// Keep a and b mostly scalar so some indexes stay
			// non-multikey (and can provide sorts and counts).
			v = randScalar(r)
		}
		d = append(d, bson.E{Key: f, Value: v})
	}
	switch r.IntN(4) {
	case 0:
	case 1:
		d = append(d, bson.E{Key: "n", Value: bson.A{bson.D{{Key: "x", Value: randScalar(r)}}, bson.D{{Key: "x", Value: randScalar(r)}}}})
	default:
		d = append(d, bson.E{Key: "n", Value: bson.D{{Key: "x", Value: randValue(r, 1)}}})
	}
	d = append(d, bson.E{Key: "u", Value: int32(id * 7)})
	return d
}

func randIndex(r *rand.Rand, i int) bson.D {
	nf := 1 + r.IntN(2)
	key := bson.D{}
	used := map[string]bool{}
	for len(key) < nf {
		f := diffFields[r.IntN(len(diffFields))]
		if used[f] {
			continue
		}
		used[f] = true
		dir := int32(1)
		if r.IntN(3) == 0 {
			dir = -1
		}
		key = append(key, bson.E{Key: f, Value: dir})
	}
	spec := bson.D{{Key: "key", Value: key}, {Key: "name", Value: fmt.Sprintf("ix%d", i)}}
	if r.IntN(4) == 0 {
		spec = append(spec, bson.E{Key: "sparse", Value: true})
	}
	return spec
}

func randPred(r *rand.Rand) bson.E {
	f := diffFields[r.IntN(len(diffFields))]
	v := randScalar(r)
	switch r.IntN(11) {
	case 0, 1:
		return bson.E{Key: f, Value: v}
	case 2:
		ops := []string{"$gt", "$gte", "$lt", "$lte"}
		return bson.E{Key: f, Value: bson.D{{Key: ops[r.IntN(4)], Value: v}}}
	case 3:
		return bson.E{Key: f, Value: bson.D{{Key: "$gte", Value: v}, {Key: "$lt", Value: randScalar(r)}}}
	case 4:
		return bson.E{Key: f, Value: bson.D{{Key: "$in", Value: bson.A{v, randScalar(r), randScalar(r)}}}}
	case 5:
		return bson.E{Key: f, Value: bson.D{{Key: "$exists", Value: r.IntN(2) == 0}}}
	case 6:
		return bson.E{Key: f, Value: bson.Regex{Pattern: "^s" + strconv.Itoa(r.IntN(3))}}
	case 7:
		return bson.E{Key: f, Value: bson.D{{Key: "$ne", Value: v}}}
	case 8:
		return bson.E{Key: "$or", Value: bson.A{bson.D{randPred(r)}, bson.D{randPred(r)}}}
	case 9:
		return bson.E{Key: f, Value: bson.D{{Key: "x", Value: randScalar(r)}}}
	}
	return bson.E{Key: f, Value: bson.D{{Key: "$eq", Value: v}}}
}

func randQuery(r *rand.Rand) *Query {
	q := &Query{Filter: bson.D{}}
	for n := r.IntN(3); n >= 0; n-- {
		q.Filter = append(q.Filter, randPred(r))
	}
	if r.IntN(2) == 0 {
		f := diffFields[r.IntN(len(diffFields))]
		if first := q.Filter[0].Key; first != "$or" && r.IntN(2) == 0 {
			f = first // sorting on a filtered field is where index order matters
		}
		dir := int32(1 - 2*r.IntN(2))
		q.Sort = bson.D{{Key: f, Value: dir}}
		if r.IntN(3) == 0 {
			g := diffFields[r.IntN(len(diffFields))]
			if g != f {
				q.Sort = append(q.Sort, bson.E{Key: g, Value: int32(1)})
			}
		}
		q.Sort = append(q.Sort, bson.E{Key: "_id", Value: int32(1 - 2*r.IntN(2))})
		if r.IntN(2) == 0 {
			q.Limit = int64(1 + r.IntN(10))
			q.Skip = int64(r.IntN(3))
		}
	}
	if r.IntN(4) == 0 {
		f := diffFields[r.IntN(len(diffFields))]
		q.Projection = bson.D{{Key: f, Value: int32(1)}, {Key: "_id", Value: int32(0)}}
		if q.Limit > 0 && len(q.Sort) > 0 {
			q.Projection = nil // projected duplicates would hide order problems
		}
	}
	return q
}

func differentialRound(t *testing.T, r *rand.Rand) {
	env := newEnv(t)
	var specs []bson.D
	for i := 0; i < 6; i++ {
		specs = append(specs, randIndex(r, i))
	}
	specs = append(specs, bson.D{{Key: "key", Value: bson.D{{Key: "u", Value: int32(1)}}}, {Key: "name", Value: "u_unique"}, {Key: "unique", Value: true}})
	create := func(s bson.D) {
		if _, _, _, err := env.cat.CreateIndexes(context.Background(), "db", "c", []bson.D{s}); err != nil {
			t.Logf("index %v not created: %v", s, err)
		}
	}
	// Half the indexes exist before the documents (maintained on write),
	// half are built over existing documents.
	for _, s := range specs[:3] {
		create(s)
	}
	var docs []bson.D
	for i := 0; i < 250; i++ {
		docs = append(docs, randDoc(r, i))
	}
	env.insert(docs[:125]...)
	for _, s := range specs[3:] {
		create(s)
	}
	env.insert(docs[125:]...)
	coll := env.coll()
	natural := bson.D{{Key: "$natural", Value: int32(1)}}
	for qi := 0; qi < 40; qi++ {
		q := randQuery(r)
		for _, tracked := range []bool{true, false} {
			src := env.source(tracked)
			base := *q
			base.Hint = natural
			want, werr := answer(src, coll, &base)
			wantCount, cerr := Count(src, coll, &Query{Filter: q.Filter, Hint: natural})
			if werr != nil || cerr != nil {
				// Invalid queries (for example $in with a regex in a
				// bad place) must fail the same way everywhere.
				continue
			}
			var hints []any
			hints = append(hints, nil) // the planner's own choice
			a := analyze(q.Filter)
			for _, ix := range coll.Indexes {
				if ix.Sparse || ix.Partial != nil {
					c, err := makeCandidate(src, coll, ix, a, q.Sort, false)
					if err != nil || c == nil {
						continue
					}
				}
				hints = append(hints, ix.Name)
			}
			for _, h := range hints {
				hq := *q
				hq.Hint = h
				got, err := answer(src, coll, &hq)
				if err != nil {
					t.Fatalf("query %s hint %v tracked=%v: %v", ext(q.Filter), h, tracked, err)
				}
				if len(q.Sort) == 0 || q.Projection != nil {
					sort.Strings(got)
					sort.Strings(want)
				}
				if ext(got) != ext(want) {
					p, _ := prepare(src, coll, &hq, false)
					plan := ""
					if p != nil {
						plan = shape(p.sol.root)
						if p.it != nil {
							p.it.close()
						}
					}
					t.Fatalf("query %s sort %s skip %d limit %d proj %s hint %v tracked=%v plan %s:\n got %d %v\nwant %d %v",
						ext(q.Filter), ext(q.Sort), q.Skip, q.Limit, ext(q.Projection), h, tracked, plan, len(got), got, len(want), want)
				}
				n, err := Count(src, coll, &Query{Filter: q.Filter, Hint: h})
				if err != nil || n != wantCount {
					t.Fatalf("count %s hint %v tracked=%v = %d, %v; want %d", ext(q.Filter), h, tracked, n, err, wantCount)
				}
			}
		}
	}
}

func answer(src Source, coll interface{}, q *Query) ([]string, error) {
	c := coll.(*catalogCollection)
	it, err := Find(src, c, q)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []string
	for {
		raw, err := it.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return nil, err
		}
		var d bson.D
		if err := bson.Unmarshal(raw, &d); err != nil {
			return nil, err
		}
		out = append(out, ext(d))
	}
}
