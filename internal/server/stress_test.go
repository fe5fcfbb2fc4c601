package server_test

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/server/servertest"
	"github.com/cairndb/cairn/internal/wire"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

var (
	stressOps  = flag.Int("stress.ops", 300, "operations per client in TestConcurrentCRUDStress")
	stressSeed = flag.Uint64("stress.seed", 0, "seed for TestConcurrentCRUDStress (0 = from the clock)")
)

const (
	stressClients  = 16
	stressCounters = 4
	stressPairs    = 8
	stressUniqK    = 40
	stressChurn    = 24
)

// stressState is what the clients share to check each other.
type stressState struct {
	mu       sync.Mutex
	incs     [stressCounters]int64 // acknowledged increments
	taken    map[int32]int         // queue item -> client that took it
	removed  map[int32]int         // second queue: item -> client that removed it
	problems []string
}

func (s *stressState) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 30 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
}

// TestConcurrentCRUDStress runs 16 clients (each its own driver client
// and connection pool) mixing every CRUD command over overlapping
// documents for a fixed number of operations, then checks:
//
//   - $inc totals equal the sum of acknowledged increments exactly;
//   - the unique index is never violated (and only DuplicateKey is
//     returned for conflicts);
//   - findAndModify used as a queue never hands out an item twice, and
//     every item is handed out once when there were enough attempts;
//   - readers never see a half-applied update: every write sets a and b
//     to the same value, and every read (find, aggregate, findAndModify)
//     checks a == b;
//   - validate reports every collection valid afterwards.
//
// Run it under the race detector with go test -race. The operation count
// (-stress.ops) bounds the work, not wall time.
func TestConcurrentCRUDStress(t *testing.T) {
	ops := *stressOps
	if testing.Short() {
		ops = 60
	}
	seed := *stressSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("stress: seed %d, %d clients x %d operations (rerun with -stress.seed=%d)", seed, stressClients, ops, seed)
	uri, _ := servertest.Start(t)
	ctx := context.Background()
	setup, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Disconnect(ctx)
	db := setup.Database("stress")
	queueItems := stressClients * ops / 10
	stressSetup(t, db, queueItems)

	st := &stressState{taken: map[int32]int{}, removed: map[int32]int{}}
	var queueAttempts, removeAttempts sync.Map
	var wg sync.WaitGroup
	for c := 0; c < stressClients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client, err := mongo.Connect(options.Client().ApplyURI(uri).SetMaxPoolSize(4))
			if err != nil {
				st.fail("client %d: connect: %v", c, err)
				return
			}
			defer client.Disconnect(ctx)
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			var qa, ra int
			for i := 0; i < ops; i++ {
				switch stressOp(ctx, client.Database("stress"), c, i, rng, st) {
				case "queue":
					qa++
				case "remove":
					ra++
				}
			}
			queueAttempts.Store(c, qa)
			removeAttempts.Store(c, ra)
		}(c)
	}
	wg.Wait()
	if len(st.problems) > 0 {
		t.Fatalf("%d problem(s) during the run:\n  %s", len(st.problems), strings.Join(st.problems, "\n  "))
	}
	sum := func(m *sync.Map) int {
		n := 0
		m.Range(func(_, v any) bool { n += v.(int); return true })
		return n
	}
	stressCheck(t, db, st, queueItems, sum(&queueAttempts), sum(&removeAttempts))
}

func stressSetup(t *testing.T, db *mongo.Database, queueItems int) {
	t.Helper()
	ctx := context.Background()
	var docs []any
	for i := 0; i < stressCounters; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}, {Key: "n", Value: int64(0)}})
	}
	if _, err := db.Collection("counters").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	docs = nil
	for i := 0; i < stressPairs; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}, {Key: "a", Value: int64(0)}, {Key: "b", Value: int64(0)}})
	}
	if _, err := db.Collection("pairs").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("pairs").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: -1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("uniq").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "k", Value: 1}}, Options: options.Index().SetUnique(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("churn").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "tags", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"queue", "queue2"} {
		docs = nil
		for i := 0; i < queueItems; i++ {
			docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}, {Key: "state", Value: "ready"}})
		}
		if _, err := db.Collection(q).InsertMany(ctx, docs); err != nil {
			t.Fatal(err)
		}
	}
}

// checkPair reports a document whose a and b differ.
func (s *stressState) checkPair(where string, d bson.D) {
	a, b := get(d, "a"), get(d, "b")
	if a != b {
		s.fail("%s: half-applied update: %v", where, d)
	}
}

// stressOp performs one random operation and returns its kind.
func stressOp(ctx context.Context, db *mongo.Database, c, i int, rng *rand.Rand, st *stressState) string {
	pairs, counters, uniq, churn := db.Collection("pairs"), db.Collection("counters"), db.Collection("uniq"), db.Collection("churn")
	v := int64(c*1000000 + i) // a value no other write uses
	pid := int32(rng.IntN(stressPairs))
	switch r := rng.IntN(100); {
	case r < 8: // $inc with update
		k := rng.IntN(stressCounters)
		n := int64(1 + rng.IntN(9))
		res, err := counters.UpdateOne(ctx, bson.D{{Key: "_id", Value: int32(k)}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: n}}}})
		if err != nil || res.ModifiedCount != 1 {
			st.fail("client %d: $inc: %v %+v", c, err, res)
			return "inc"
		}
		st.mu.Lock()
		st.incs[k] += n
		st.mu.Unlock()
		return "inc"
	case r < 14: // $inc with updateMany over every counter
		res, err := counters.UpdateMany(ctx, bson.D{}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int64(2)}}}})
		if err != nil || res.ModifiedCount != stressCounters {
			st.fail("client %d: updateMany $inc: %v %+v", c, err, res)
			return "inc"
		}
		st.mu.Lock()
		for k := range st.incs {
			st.incs[k] += 2
		}
		st.mu.Unlock()
		return "inc"
	case r < 18: // $inc with findAndModify
		k := rng.IntN(stressCounters)
		var out bson.D
		err := counters.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: int32(k)}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int64(1)}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
		if err != nil {
			st.fail("client %d: findAndModify $inc: %v", c, err)
			return "inc"
		}
		st.mu.Lock()
		st.incs[k]++
		st.mu.Unlock()
		return "inc"
	case r < 30: // multi-field update
		_, err := pairs.UpdateOne(ctx, bson.D{{Key: "_id", Value: pid}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: v}, {Key: "b", Value: v}}}})
		if err != nil {
			st.fail("client %d: update pair: %v", c, err)
		}
		return "pair"
	case r < 34:
		_, err := pairs.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: pid}}}},
			bson.A{bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: v}, {Key: "b", Value: v}}}}})
		if err != nil {
			st.fail("client %d: pipeline updateMany pairs: %v", c, err)
		}
		return "pair"
	case r < 38:
		_, err := pairs.ReplaceOne(ctx, bson.D{{Key: "_id", Value: pid}}, bson.D{{Key: "b", Value: v}, {Key: "a", Value: v}, {Key: "by", Value: int32(c)}})
		if err != nil {
			st.fail("client %d: replace pair: %v", c, err)
		}
		return "pair"
	case r < 42:
		var out bson.D
		err := pairs.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: pid}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: v}, {Key: "b", Value: v}}}}).Decode(&out)
		if err != nil {
			st.fail("client %d: findAndModify pair: %v", c, err)
			return "pair"
		}
		st.checkPair("findAndModify pre-image", out)
		return "pair"
	case r < 50: // readers
		cur, err := pairs.Find(ctx, bson.D{}, options.Find().SetBatchSize(3))
		if err != nil {
			st.fail("client %d: find pairs: %v", c, err)
			return "read"
		}
		var docs []bson.D
		if err := cur.All(ctx, &docs); err != nil {
			st.fail("client %d: find pairs: %v", c, err)
			return "read"
		}
		if len(docs) != stressPairs {
			st.fail("client %d: find pairs returned %d documents, want %d", c, len(docs), stressPairs)
		}
		for _, d := range docs {
			st.checkPair("find", d)
		}
		return "read"
	case r < 54:
		cur, err := pairs.Aggregate(ctx, mongo.Pipeline{
			{{Key: "$match", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$gte", Value: int64(0)}}}}}},
			{{Key: "$project", Value: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 1}, {Key: "same", Value: bson.D{{Key: "$eq", Value: bson.A{"$a", "$b"}}}}}}},
		})
		if err != nil {
			st.fail("client %d: aggregate pairs: %v", c, err)
			return "read"
		}
		var docs []bson.D
		if err := cur.All(ctx, &docs); err != nil {
			st.fail("client %d: aggregate pairs: %v", c, err)
		}
		for _, d := range docs {
			if get(d, "same") != true {
				st.fail("client %d: aggregate saw a half-applied update: %v", c, d)
			}
		}
		return "read"
	case r < 57:
		n, err := pairs.CountDocuments(ctx, bson.D{{Key: "$expr", Value: bson.D{{Key: "$ne", Value: bson.A{"$a", "$b"}}}}})
		if err != nil || n != 0 {
			st.fail("client %d: count of half-applied pairs = %d (%v)", c, n, err)
		}
		return "read"
	case r < 66: // unique index
		id := fmt.Sprintf("c%d-%d", c, i)
		_, err := uniq.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "k", Value: int32(rng.IntN(stressUniqK))}})
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			st.fail("client %d: unique insert: %v", c, err)
		}
		return "uniq"
	case r < 70:
		_, err := uniq.UpdateOne(ctx, bson.D{{Key: "k", Value: int32(rng.IntN(stressUniqK))}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "k", Value: int32(rng.IntN(stressUniqK))}}}})
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			st.fail("client %d: unique update: %v", c, err)
		}
		return "uniq"
	case r < 80: // queue: claim the first ready item
		var out bson.D
		err := db.Collection("queue").FindOneAndUpdate(ctx, bson.D{{Key: "state", Value: "ready"}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: "taken"}, {Key: "by", Value: int32(c)}}}},
			options.FindOneAndUpdate().SetSort(bson.D{{Key: "_id", Value: 1}}).SetReturnDocument(options.After)).Decode(&out)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return "queue"
		}
		if err != nil {
			st.fail("client %d: queue claim: %v", c, err)
			return "queue"
		}
		id, _ := get(out, "_id").(int32)
		if get(out, "by") != int32(c) || get(out, "state") != "taken" {
			st.fail("client %d: queue claim returned %v", c, out)
		}
		st.mu.Lock()
		if prev, dup := st.taken[id]; dup {
			st.mu.Unlock()
			st.fail("queue item %d handed out twice: to client %d and client %d", id, prev, c)
			return "queue"
		}
		st.taken[id] = c
		st.mu.Unlock()
		return "queue"
	case r < 85: // queue: remove the first item
		var out bson.D
		err := db.Collection("queue2").FindOneAndDelete(ctx, bson.D{}, options.FindOneAndDelete().SetSort(bson.D{{Key: "_id", Value: 1}})).Decode(&out)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return "remove"
		}
		if err != nil {
			st.fail("client %d: queue remove: %v", c, err)
			return "remove"
		}
		id, _ := get(out, "_id").(int32)
		st.mu.Lock()
		if prev, dup := st.removed[id]; dup {
			st.mu.Unlock()
			st.fail("queue2 item %d removed twice: by client %d and client %d", id, prev, c)
			return "remove"
		}
		st.removed[id] = c
		st.mu.Unlock()
		return "remove"
	case r < 90: // churn: inserts, upserts and deletes on a small id space
		id := int32(rng.IntN(stressChurn))
		_, err := churn.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "tags", Value: bson.A{v, "t"}}})
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			st.fail("client %d: churn insert: %v", c, err)
		}
		return "churn"
	case r < 94:
		id := int32(rng.IntN(stressChurn))
		_, err := churn.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "tags", Value: bson.A{"u", v}}}, options.Replace().SetUpsert(true))
		// Two concurrent upserts of the same _id may collide; MongoDB
		// reports DuplicateKey for the loser too.
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			st.fail("client %d: churn upsert: %v", c, err)
		}
		return "churn"
	case r < 97:
		_, err := churn.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: int32(rng.IntN(stressChurn))}}}, {Key: "tags", Value: "t"}})
		if err != nil {
			st.fail("client %d: churn deleteMany: %v", c, err)
		}
		return "churn"
	default:
		_, err := churn.DeleteOne(ctx, bson.D{{Key: "_id", Value: int32(rng.IntN(stressChurn))}})
		if err != nil {
			st.fail("client %d: churn delete: %v", c, err)
		}
		return "churn"
	}
}

func stressCheck(t *testing.T, db *mongo.Database, st *stressState, queueItems, queueAttempts, removeAttempts int) {
	t.Helper()
	ctx := context.Background()
	all := func(coll string) []bson.D {
		cur, err := db.Collection(coll).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.D
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		return docs
	}
	for _, d := range all("counters") {
		k, _ := get(d, "_id").(int32)
		if n, _ := get(d, "n").(int64); n != st.incs[k] {
			t.Errorf("counter %d = %d, want exactly %d", k, n, st.incs[k])
		}
	}
	seen := map[int32]string{}
	for _, d := range all("uniq") {
		k, _ := get(d, "k").(int32)
		if other, dup := seen[k]; dup {
			t.Errorf("unique index violated: k=%d in %v and %s", k, get(d, "_id"), other)
		}
		seen[k] = fmt.Sprint(get(d, "_id"))
	}
	for _, d := range all("pairs") {
		if get(d, "a") != get(d, "b") {
			t.Errorf("half-applied pair at the end: %v", d)
		}
	}
	taken := 0
	for _, d := range all("queue") {
		id, _ := get(d, "_id").(int32)
		by, took := st.taken[id]
		switch get(d, "state") {
		case "taken":
			taken++
			if !took || get(d, "by") != int32(by) {
				t.Errorf("queue item %v: stored %v, handed to client %d (%v)", id, d, by, took)
			}
		case "ready":
			if took {
				t.Errorf("queue item %d handed out but still ready", id)
			}
		}
	}
	if taken != len(st.taken) || taken != min(queueItems, queueAttempts) {
		t.Errorf("queue: %d items taken in the database, %d handed out, want min(%d items, %d attempts)", taken, len(st.taken), queueItems, queueAttempts)
	}
	left := len(all("queue2"))
	if left+len(st.removed) != queueItems || len(st.removed) != min(queueItems, removeAttempts) {
		t.Errorf("queue2: %d left + %d removed, want %d items, %d attempts", left, len(st.removed), queueItems, removeAttempts)
	}
	for _, coll := range []string{"counters", "pairs", "uniq", "churn", "queue", "queue2"} {
		var res bson.D
		if err := db.RunCommand(ctx, bson.D{{Key: "validate", Value: coll}, {Key: "full", Value: true}}).Decode(&res); err != nil {
			t.Fatalf("validate %s: %v", coll, err)
		}
		if get(res, "valid") != true {
			t.Errorf("validate %s: %v", coll, res)
		}
	}
}

// nested returns a document nested depth levels deep ({a: {a: ... 1}}),
// counting the outer document as level 1.
func nested(depth int) bson.D {
	d := bson.D{{Key: "a", Value: int32(1)}}
	for i := 1; i < depth; i++ {
		d = bson.D{{Key: "a", Value: d}}
	}
	return d
}

// TestLimits checks the server's answers at MongoDB's documented limits,
// sent over a raw connection so that the driver's own client-side checks
// do not get in the way. code 0 means the operation must succeed.
func TestLimits(t *testing.T) {
	uri, _ := servertest.Start(t)
	c := dialRaw(t, uri)
	insert := func(coll string, doc any) bson.D {
		return bson.D{{Key: "insert", Value: coll}, {Key: "documents", Value: bson.A{doc}}, {Key: "$db", Value: "limits"}}
	}
	pad := func(n int) bson.D {
		return bson.D{{Key: "_id", Value: int32(n)}, {Key: "p", Value: strings.Repeat("x", n)}}
	}
	const maxDoc = 16 * 1024 * 1024
	// {_id: int32, p: "<n bytes>"} is 4 + (1+4+4) + (1+2+4+n+1) + 1 = n + 22 bytes.
	tests := []struct {
		name string
		cmd  bson.D
		seq  *bson.D // sent as the "documents" kind-1 sequence instead
		// code is the command error (ok: 0) or, with writeError, the
		// write error code. 0 means success.
		code       int32
		writeError bool
	}{
		{name: "document of exactly 16 MiB", seq: ptr(pad(maxDoc - 22))},
		// MongoDB reports "object to insert too large" as a write error
		// with code 2 (BadValue).
		{name: "document of 16 MiB + 1", seq: ptr(pad(maxDoc - 21)), code: 2, writeError: true},
		{name: "document far beyond the command limit", seq: ptr(pad(maxDoc + 64*1024)), code: 10334},
		{name: "nesting depth 100", cmd: insert("n", nested(100))},
		// MongoDB refuses to store documents nested deeper than its
		// limit with code 15 (Overflow).
		{name: "nesting depth 200", cmd: insert("n", nested(200)), code: 15, writeError: true},
		{name: "empty field name", cmd: insert("f", bson.D{{Key: "", Value: int32(1)}})},
		{name: "dollar-prefixed _id subfield", cmd: insert("f", bson.D{{Key: "_id", Value: bson.D{{Key: "$x", Value: 1}}}}), code: 52, writeError: true},
		{name: "db name with a dot", cmd: bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{}}}, {Key: "$db", Value: "a.b"}}, code: 73},
		{name: "db name with a space", cmd: bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{}}}, {Key: "$db", Value: "a b"}}, code: 73},
		{name: "empty db name", cmd: bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{}}}, {Key: "$db", Value: ""}}, code: 73},
		{name: "db name of 64 bytes", cmd: bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{}}}, {Key: "$db", Value: strings.Repeat("d", 64)}}, code: 73},
		{name: "collection name with $", cmd: insert("a$b", bson.D{}), code: 73},
		{name: "empty collection name", cmd: insert("", bson.D{}), code: 73},
		{name: "collection name with NUL", cmd: insert("a\x00b", bson.D{}), code: 73},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var id int32
			if tc.seq != nil {
				raw, err := bson.Marshal(*tc.seq)
				if err != nil {
					t.Fatal(err)
				}
				id = c.msg(0, bson.D{{Key: "insert", Value: "big"}, {Key: "$db", Value: "limits"}},
					wire.Sequence{Identifier: "documents", Documents: []bsoncore.Document{raw}})
			} else {
				id = c.msg(0, tc.cmd)
			}
			out := c.reply(id)
			code, _ := get(out, "code").(int32)
			if we, ok := get(out, "writeErrors").(bson.A); ok && len(we) > 0 {
				if !tc.writeError {
					t.Errorf("unexpected write error: %v", we)
				}
				code, _ = get(we[0].(bson.D), "code").(int32)
			} else if tc.writeError && tc.code != 0 {
				t.Errorf("want a write error, got %v", trimReply(out))
			}
			if code != tc.code {
				t.Errorf("code %d, want %d: %v", code, tc.code, trimReply(out))
			}
		})
	}
	// The connection survives all of the above.
	id := c.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	if out := c.reply(id); get(out, "ok") != 1.0 {
		t.Fatalf("ping: %v", out)
	}
}

// TestMessageSizeLimit sends a frame claiming more than the 48 MB
// maxMessageSizeBytes: the server must close that connection (it cannot
// skip the body safely) and keep serving others.
func TestMessageSizeLimit(t *testing.T) {
	uri, _ := servertest.Start(t)
	c := dialRaw(t, uri)
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(wire.MaxMessageSize+1))
	binary.LittleEndian.PutUint32(h[12:], uint32(wire.OpMsg))
	c.send(h[:])
	c.expectClosed()
	c2 := dialRaw(t, uri)
	id := c2.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	if out := c2.reply(id); get(out, "ok") != 1.0 {
		t.Fatalf("ping on a new connection: %v", out)
	}
}

// TestLargeResultBatches reads more than 16 MiB of small documents with
// the driver's default batching: every getMore reply must stay within
// the 16 MiB + 16 KiB reply limit.
func TestLargeResultBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: inserts 20 MB of documents")
	}
	client, _ := servertest.Client(t)
	coll := client.Database("limits").Collection("many")
	ctx := context.Background()
	const n, size = 20000, 1000
	docs := make([]any, 0, 1000)
	for i := 0; i < n; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}, {Key: "p", Value: strings.Repeat("x", size)}})
		if len(docs) == cap(docs) {
			if _, err := coll.InsertMany(ctx, docs); err != nil {
				t.Fatal(err)
			}
			docs = docs[:0]
		}
	}
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for cur.Next(ctx) {
		got++
	}
	if err := cur.Err(); err != nil {
		t.Fatalf("after %d documents: %v", got, err)
	}
	if got != n {
		t.Fatalf("read %d documents, want %d", got, n)
	}
}

func ptr[T any](v T) *T { return &v }

func trimReply(d bson.D) string {
	s := fmt.Sprint(d)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

const diskFullEnv = "CAIRN_DISKFULL_CHILD"

// TestDiskFullThroughServer fills the "disk" under the WAL of an
// in-process server and checks what a client sees. It runs the server in
// a child process because Pebble may bring the process down. The child
// must report that the write failed with a command error (never an
// acknowledgement), that reads and ping keep working, that the failed
// write is not visible to readers, and it must shut down cleanly.
func TestDiskFullThroughServer(t *testing.T) {
	if os.Getenv(diskFullEnv) != "" {
		t.Skip("running as the disk-full child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$", "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), diskFullEnv+"=1")
	out, err := cmd.CombinedOutput()
	obs := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "DISKFULL "); i >= 0 {
			k, v, _ := strings.Cut(line[i+len("DISKFULL "):], "=")
			obs[k] = v
		}
	}
	t.Logf("observations: %v", obs)
	if obs["fault.write"] == "acknowledged" {
		t.Errorf("insert acknowledged while the WAL cannot be written")
	}
	if obs["reads"] != "ok" || obs["ping"] != "ok" {
		t.Errorf("reads %q, ping %q during the fault", obs["reads"], obs["ping"])
	}
	if obs["fault.visible"] != "false" {
		t.Errorf("the failed insert is visible to readers (visible=%q) although it is not durable", obs["fault.visible"])
	}
	if err != nil || obs["done"] != "true" {
		lines := strings.Split(string(out), "\n")
		for i, l := range lines {
			if strings.Contains(l, "fatal error") || strings.HasPrefix(l, "panic") {
				lines = lines[i:min(len(lines), i+25)]
				break
			}
		}
		t.Errorf("the server process did not shut down cleanly after the fault (%v):\n%s", err, strings.Join(lines, "\n"))
	}
}

// TestDiskFullChild is the child half of TestDiskFullThroughServer.
func TestDiskFullChild(t *testing.T) {
	if os.Getenv(diskFullEnv) == "" {
		t.Skip("only runs as a child of TestDiskFullThroughServer")
	}
	report := func(k string, v any) { fmt.Printf("DISKFULL %s=%v\n", k, v) }
	var on atomic.Bool
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if on.Load() && strings.HasSuffix(op.Path, ".log") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt) {
			return fmt.Errorf("write: %w", syscall.ENOSPC)
		}
		return nil
	}))
	t.Cleanup(func() { report("done", true) }) // runs last, after the server's cleanup
	client, _ := servertest.Client(t, servertest.WithFS(fs))
	ctx := context.Background()
	coll := client.Database("disk").Collection("c")
	for i := 0; i < 50; i++ {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	on.Store(true)
	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "during"}})
	var ce mongo.CommandError
	switch {
	case err == nil:
		report("fault.write", "acknowledged")
	case errors.As(err, &ce):
		report("fault.write", fmt.Sprintf("error %d (%s): %s", ce.Code, ce.Name, ce.Message))
	default:
		report("fault.write", err)
	}
	reads := "ok"
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: int32(50)}}}}); err != nil || n != 50 {
		reads = fmt.Sprintf("%d %v", n, err)
	}
	report("reads", reads)
	n, err := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: "during"}})
	report("fault.visible", err == nil && n == 1)
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		report("ping", err)
	} else {
		report("ping", "ok")
	}
	on.Store(false)
	_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "after"}})
	report("after.write", fmt.Sprint(err))
}
