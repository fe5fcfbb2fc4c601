package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// worker is one goroutine's private state.
type worker struct {
	rng *rand.Rand
}

// workload is one named load. setup runs once per target before the first
// run and is not timed; op is one timed operation and returns an error for
// any failure, including a wrong answer; verify runs after every run, not
// timed, and checks end state.
type workload struct {
	name   string
	setup  func(ctx context.Context, t *target) error
	op     func(ctx context.Context, t *target, w *worker) error
	verify func(ctx context.Context, t *target) error
}

// Batch and window sizes.
const (
	insertManyBatch = 1000
	rangeLimit      = 20
	rangeWidth      = 100 // count and update_many filter width
)

func lookupWorkload(name string) (workload, error) {
	switch name {
	case "ping":
		return workload{name: name, op: opPing}, nil
	case "insert_many":
		return workload{name: name, setup: setupInsertMany, op: opInsertMany, verify: verifyInsertMany}, nil
	case "insert_one":
		return workload{name: name, setup: setupInsertOne, op: opInsertOne, verify: verifyInsertOne}, nil
	case "find_id":
		return workload{name: name, setup: setupUser, op: opFindID}, nil
	case "ycsb_a":
		return workload{name: name, setup: setupUser, op: ycsbOp(0.50)}, nil
	case "ycsb_b":
		return workload{name: name, setup: setupUser, op: ycsbOp(0.95)}, nil
	case "ycsb_c":
		return workload{name: name, setup: setupUser, op: ycsbOp(1.0)}, nil
	case "range":
		return workload{name: name, setup: setupUser, op: opRange}, nil
	case "count":
		return workload{name: name, setup: setupUser, op: opCount}, nil
	case "group":
		return workload{name: name, setup: setupUser, op: opGroup}, nil
	case "update_many":
		return workload{name: name, setup: setupUser, op: opUpdateMany}, nil
	}
	return workload{}, fmt.Errorf("unknown workload %q", name)
}

func setupUser(ctx context.Context, t *target) error { return t.ensureUsertable(ctx) }

func opPing(ctx context.Context, t *target, _ *worker) error {
	var res bson.Raw
	if err := t.db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Decode(&res); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if ok, isNum := res.Lookup("ok").AsFloat64OK(); !isNum || ok != 1 {
		return fmt.Errorf("ping: reply %s has no ok: 1", res)
	}
	return nil
}

// --- insert_many: batches of 1000 small documents {_id, i, s}.

func setupInsertMany(ctx context.Context, t *target) error {
	if err := t.db.Collection(t.coll(collInsertMany)).Drop(ctx); err != nil {
		return fmt.Errorf("drop %s: %w", t.coll(collInsertMany), err)
	}
	t.nextID.Store(0)
	t.insertedMany.Store(0)
	return nil
}

func opInsertMany(ctx context.Context, t *target, w *worker) error {
	lo := t.nextID.Add(insertManyBatch) - insertManyBatch
	// No _id: the driver adds an ObjectId, as applications' inserts
	// usually get. (Given an _id, the Go driver decodes it back out of
	// every document through a fresh 4 KB buffered reader to report
	// InsertedIDs, which cost the tool more CPU than the server spent.)
	docs := make([]any, insertManyBatch)
	for j := range docs {
		k := lo + int64(j)
		docs[j] = bson.D{{Key: "i", Value: k}, {Key: "s", Value: randString(w.rng, 16)}}
	}
	res, err := t.wdb.Collection(t.coll(collInsertMany)).InsertMany(ctx, docs)
	if res != nil {
		t.insertedMany.Add(int64(len(res.InsertedIDs)))
	}
	if err != nil {
		return fmt.Errorf("insert_many _id %d..%d: %w", lo, lo+insertManyBatch-1, err)
	}
	if len(res.InsertedIDs) != insertManyBatch {
		return fmt.Errorf("insert_many _id %d..%d: %d ids acknowledged, want %d", lo, lo+insertManyBatch-1, len(res.InsertedIDs), insertManyBatch)
	}
	return nil
}

func verifyInsertMany(ctx context.Context, t *target) error {
	return verifyCount(ctx, t, t.coll(collInsertMany), t.insertedMany.Load())
}

func verifyCount(ctx context.Context, t *target, coll string, want int64) error {
	n, err := t.db.Collection(coll).CountDocuments(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("count %s: %w", coll, err)
	}
	if n != want {
		return fmt.Errorf("%s holds %d documents, want %d (the number of acknowledged inserts)", coll, n, want)
	}
	return nil
}

// --- insert_one: 1 KB documents, durable: written with j:true, so each
// is acknowledged once synced to disk (group commit shares the syncs).

func setupInsertOne(ctx context.Context, t *target) error {
	if err := t.db.Collection(t.coll(collInsertOne)).Drop(ctx); err != nil {
		return fmt.Errorf("drop %s: %w", t.coll(collInsertOne), err)
	}
	t.insertedOne.Store(0)
	return nil
}

func opInsertOne(ctx context.Context, t *target, w *worker) error {
	// No _id, as for insert_many: the driver adds an ObjectId (given one,
	// it would decode the whole document again to report it).
	d := make(bson.D, 0, fieldCount)
	for _, f := range fieldNames {
		d = append(d, bson.E{Key: f, Value: randString(w.rng, fieldSize)})
	}
	res, err := t.jdb.Collection(t.coll(collInsertOne)).InsertOne(ctx, d)
	if err != nil {
		return fmt.Errorf("insert_one: %w", err)
	}
	t.insertedOne.Add(1)
	if id, ok := res.InsertedID.(bson.ObjectID); !ok || id.IsZero() {
		return fmt.Errorf("insert_one: inserted id %v, want an ObjectId", res.InsertedID)
	}
	return nil
}

func verifyInsertOne(ctx context.Context, t *target) error {
	return verifyCount(ctx, t, t.coll(collInsertOne), t.insertedOne.Load())
}

// --- reads and updates over the usertable.

// findRecord fetches record k and checks that its _id is k.
func findRecord(ctx context.Context, t *target, k int64) error {
	raw, err := t.db.Collection(collUser).FindOne(ctx, bson.D{{Key: "_id", Value: k}}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("find _id %d: record missing", k)
	}
	if err != nil {
		return fmt.Errorf("find _id %d: %w", k, err)
	}
	got, ok := raw.Lookup("_id").AsInt64OK()
	if !ok || got != k {
		return fmt.Errorf("find _id %d: got document with _id %s", k, raw.Lookup("_id"))
	}
	return nil
}

func opFindID(ctx context.Context, t *target, w *worker) error {
	return findRecord(ctx, t, w.rng.Int64N(t.cfg.Records))
}

// ycsbOp reads a Zipfian-chosen record with probability readFrac and
// otherwise overwrites one of its ten fields.
func ycsbOp(readFrac float64) func(context.Context, *target, *worker) error {
	return func(ctx context.Context, t *target, w *worker) error {
		k := t.zipf.Next(w.rng)
		if readFrac >= 1 || w.rng.Float64() < readFrac {
			return findRecord(ctx, t, k)
		}
		f := fieldNames[w.rng.IntN(fieldCount)]
		res, err := t.wdb.Collection(collUser).UpdateOne(ctx,
			bson.D{{Key: "_id", Value: k}},
			bson.D{{Key: "$set", Value: bson.D{{Key: f, Value: randString(w.rng, fieldSize)}}}})
		if err != nil {
			return fmt.Errorf("update _id %d: %w", k, err)
		}
		if res.MatchedCount != 1 {
			return fmt.Errorf("update _id %d: matched %d documents, want 1", k, res.MatchedCount)
		}
		return nil
	}
}

// opRange: {i: {$gte: k}} sorted by i, limit 20, through the {i: 1} index.
func opRange(ctx context.Context, t *target, w *worker) error {
	k := w.rng.Int64N(t.cfg.Records)
	cur, err := t.db.Collection(collUser).Find(ctx,
		bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: k}}}},
		options.Find().SetSort(bson.D{{Key: "i", Value: 1}}).SetLimit(rangeLimit))
	if err != nil {
		return fmt.Errorf("range i >= %d: %w", k, err)
	}
	// The documents are checked in place (cur.Current) rather than
	// copied out with cur.All, so the tool's own CPU per operation stays
	// small next to the server's.
	defer cur.Close(ctx)
	want := min(int64(rangeLimit), t.cfg.Records-k)
	var n int64
	for cur.Next(ctx) {
		if got, ok := cur.Current.Lookup("i").AsInt64OK(); !ok || got != k+n {
			return fmt.Errorf("range i >= %d: document %d has i %s, want %d", k, n, cur.Current.Lookup("i"), k+n)
		}
		n++
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("range i >= %d: %w", k, err)
	}
	if n != want {
		return fmt.Errorf("range i >= %d: got %d documents, want %d", k, n, want)
	}
	return nil
}

// rangeFilter is {i: {$gte: k, $lt: k+100}} and how many records match it.
func rangeFilter(t *target, k int64) (bson.D, int64) {
	hi := k + rangeWidth
	return bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: k}, {Key: "$lt", Value: hi}}}},
		min(hi, t.cfg.Records) - k
}

func opCount(ctx context.Context, t *target, w *worker) error {
	k := w.rng.Int64N(t.cfg.Records)
	filter, want := rangeFilter(t, k)
	n, err := t.db.Collection(collUser).CountDocuments(ctx, filter)
	if err != nil {
		return fmt.Errorf("count %d <= i < %d: %w", k, k+rangeWidth, err)
	}
	if n != want {
		return fmt.Errorf("count %d <= i < %d: got %d, want %d", k, k+rangeWidth, n, want)
	}
	return nil
}

// opGroup groups the whole usertable by g and checks the group sizes.
func opGroup(ctx context.Context, t *target, _ *worker) error {
	cur, err := t.db.Collection(collUser).Aggregate(ctx, mongo.Pipeline{
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$g"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return fmt.Errorf("group: %w", err)
	}
	var groups []bson.Raw
	if err := cur.All(ctx, &groups); err != nil {
		return fmt.Errorf("group: %w", err)
	}
	wantGroups := min(int64(groupCount), t.cfg.Records)
	if int64(len(groups)) != wantGroups {
		return fmt.Errorf("group: got %d groups, want %d", len(groups), wantGroups)
	}
	var total int64
	for _, g := range groups {
		id, ok1 := g.Lookup("_id").AsInt64OK()
		n, ok2 := g.Lookup("n").AsInt64OK()
		if !ok1 || !ok2 || id < 0 || id >= groupCount {
			return fmt.Errorf("group: malformed group %s", g)
		}
		if want := groupSize(t.cfg.Records, id); n != want {
			return fmt.Errorf("group: group %d has %d documents, want %d", id, n, want)
		}
		total += n
	}
	if total != t.cfg.Records {
		return fmt.Errorf("group: groups add up to %d documents, want %d", total, t.cfg.Records)
	}
	return nil
}

// groupSize is how many k in [0, records) have k % groupCount == g.
func groupSize(records, g int64) int64 {
	if g >= records {
		return 0
	}
	return (records-1-g)/groupCount + 1
}

func opUpdateMany(ctx context.Context, t *target, w *worker) error {
	k := w.rng.Int64N(t.cfg.Records)
	filter, want := rangeFilter(t, k)
	res, err := t.wdb.Collection(collUser).UpdateMany(ctx, filter,
		bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}})
	if err != nil {
		return fmt.Errorf("update_many %d <= i < %d: %w", k, k+rangeWidth, err)
	}
	if res.MatchedCount != want || res.ModifiedCount != want {
		return fmt.Errorf("update_many %d <= i < %d: matched %d, modified %d, want %d", k, k+rangeWidth, res.MatchedCount, res.ModifiedCount, want)
	}
	return nil
}
