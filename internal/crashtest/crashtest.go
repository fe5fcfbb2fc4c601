package crashtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
)

// Config configures Run.
type Config struct {
	// Binary is the cairn server executable (see BuildServer).
	Binary string
	// WorkDir holds the data directory and the server log; it is created
	// if needed.
	WorkDir string
	// Cycles is the number of start/write/kill cycles (default 20).
	Cycles int
	// Seed seeds all random choices.
	Seed int64
	// Writers is the number of concurrent writers (default 8).
	Writers int
	// MinRun and MaxRun bound how long the writers run before the kill
	// (defaults 20 ms and 600 ms). The moment is drawn uniformly.
	MinRun, MaxRun time.Duration
	// Logf receives progress lines (may be nil).
	Logf func(format string, args ...any)
}

// Report summarizes a run.
type Report struct {
	Cycles   int
	Restarts int
	// Acked, Uncertain and Rejected count writer operations by outcome:
	// acknowledged, outcome unknown (in flight at the kill) and refused
	// by the unique index.
	Acked, Uncertain, Rejected int64
	// Resolved counts uncertain operations found applied after restart.
	Resolved int64
	// GracefulStops counts cycles that ended with SIGTERM under load.
	GracefulStops int
}

// Database and collection names the harness uses.
const (
	dbName      = "crash"
	docsColl    = "docs"
	countersCol = "counters"
	uniqColl    = "uniq"
	nCounters   = 4
	uniqRange   = 64
)

// docModel is what may be stored under one _id of the docs collection.
type docModel struct {
	present bool
	doc     bson.D // when present
}

// pendingOp is a write whose outcome is unknown.
type pendingOp struct {
	docs    map[string]docModel // docs collection: possible new states
	uniq    map[string]int64    // uniq collection: possible inserts (_id -> k)
	counter int                 // counter index, -1 if none
	inc     int64
}

// model is the harness's knowledge of the database.
type model struct {
	mu       sync.Mutex
	docs     map[string]docModel // acknowledged state of every _id ever written
	uniq     map[string]int64    // acknowledged unique-collection docs
	counters [nCounters]struct{ base, acked, pending int64 }
	pending  []pendingOp
	nextSeq  []int64 // per writer, for fresh _ids
	owned    []idSet // per writer, the ids of its present documents
}

func newModel(writers int) *model {
	m := &model{docs: map[string]docModel{}, uniq: map[string]int64{}, nextSeq: make([]int64, writers), owned: make([]idSet, writers)}
	for i := range m.owned {
		m.owned[i].pos = map[string]int{}
	}
	return m
}

// idSet is a set of ids with O(1) insert, delete and random choice.
type idSet struct {
	ids []string
	pos map[string]int
}

func (s *idSet) add(id string) {
	if _, ok := s.pos[id]; !ok {
		s.pos[id] = len(s.ids)
		s.ids = append(s.ids, id)
	}
}

func (s *idSet) remove(id string) {
	i, ok := s.pos[id]
	if !ok {
		return
	}
	last := s.ids[len(s.ids)-1]
	s.ids[i] = last
	s.pos[last] = i
	s.ids = s.ids[:len(s.ids)-1]
	delete(s.pos, id)
}

// setDoc records the state of id, keeping the owner's set in step.
func (m *model) setDoc(id string, d docModel) {
	m.docs[id] = d
	var w int
	if _, err := fmt.Sscanf(id, "w%d-", &w); err != nil || w < 0 || w >= len(m.owned) {
		return
	}
	if d.present {
		m.owned[w].add(id)
	} else {
		m.owned[w].remove(id)
	}
}

// Run runs the crash cycles. It returns an error describing the first
// cycle in which a check failed (with up to 20 violations), or nil.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Cycles <= 0 {
		cfg.Cycles = 20
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 8
	}
	if cfg.MinRun <= 0 {
		cfg.MinRun = 20 * time.Millisecond
	}
	if cfg.MaxRun < cfg.MinRun {
		cfg.MaxRun = max(cfg.MinRun, 600*time.Millisecond)
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(cfg.WorkDir, "data")
	logPath := filepath.Join(cfg.WorkDir, "server.log")
	h := &harness{cfg: cfg, dataDir: dataDir, logPath: logPath, m: newModel(cfg.Writers), rep: &Report{}}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x63726173680a))
	for cycle := 0; cycle < cfg.Cycles; cycle++ {
		if err := ctx.Err(); err != nil {
			return h.rep, err
		}
		p, client, err := h.start(ctx)
		if err != nil {
			return h.rep, fmt.Errorf("cycle %d: %w", cycle, err)
		}
		if cycle == 0 {
			err = h.setup(ctx, client)
		} else {
			err = h.verify(ctx, client)
		}
		if err != nil {
			_ = client.Disconnect(context.Background())
			p.kill()
			return h.rep, fmt.Errorf("cycle %d (seed %d): %w", cycle, cfg.Seed, err)
		}
		run := cfg.MinRun + time.Duration(rng.Int64N(int64(cfg.MaxRun-cfg.MinRun)+1))
		wseed := rng.Uint64()
		// The last cycle shuts the server down gracefully (SIGTERM) in the
		// middle of the load instead of killing it: in-flight requests must
		// complete or fail cleanly, the process must exit 0, and the data
		// must all be there after the restart.
		graceful := cycle == cfg.Cycles-1
		if err := h.workload(ctx, client, p, run, wseed, graceful); err != nil {
			_ = client.Disconnect(context.Background())
			return h.rep, fmt.Errorf("cycle %d (seed %d): %w", cycle, cfg.Seed, err)
		}
		_ = client.Disconnect(context.Background())
		h.rep.Cycles++
		how := "killed"
		if graceful {
			how = "shut down with SIGTERM"
			h.rep.GracefulStops++
		}
		cfg.Logf("cycle %d: %s after %v; acked %d, uncertain %d so far", cycle, how, run, h.rep.Acked, h.rep.Uncertain)
	}
	// Final checks: recover from the last kill, then shut down cleanly and
	// check again after a clean restart.
	for i, clean := range []bool{true, true} {
		p, client, err := h.start(ctx)
		if err != nil {
			return h.rep, fmt.Errorf("final restart %d: %w", i, err)
		}
		err = h.verify(ctx, client)
		_ = client.Disconnect(context.Background())
		if err != nil {
			p.kill()
			return h.rep, fmt.Errorf("final restart %d (seed %d): %w", i, cfg.Seed, err)
		}
		if clean {
			if err := p.stop(60 * time.Second); err != nil {
				return h.rep, err
			}
		}
	}
	return h.rep, nil
}

type harness struct {
	cfg              Config
	dataDir, logPath string
	m                *model
	rep              *Report
}

func (h *harness) start(ctx context.Context) (*process, *mongo.Client, error) {
	p, err := startProcess(h.cfg.Binary, h.dataDir, h.logPath, 60*time.Second)
	if err != nil {
		return nil, nil, err
	}
	h.rep.Restarts++
	co := options.Client().ApplyURI("mongodb://" + p.addr + "/?directConnection=true").
		SetRetryWrites(false).SetRetryReads(false).
		SetTimeout(20 * time.Second).SetServerSelectionTimeout(3 * time.Second).SetConnectTimeout(3 * time.Second)
	client, err := mongo.Connect(co)
	if err != nil {
		p.kill()
		return nil, nil, err
	}
	return p, client, nil
}

func (h *harness) setup(ctx context.Context, client *mongo.Client) error {
	db := client.Database(dbName)
	if _, err := db.Collection(docsColl).Indexes().CreateMany(ctx, []mongo.IndexModel{
		{Keys: bson.D{{Key: "a", Value: 1}}},
		{Keys: bson.D{{Key: "tags", Value: 1}, {Key: "w", Value: -1}}},
	}); err != nil {
		return fmt.Errorf("setup: create docs indexes: %w", err)
	}
	if _, err := db.Collection(uniqColl).Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "k", Value: 1}}, Options: options.Index().SetUnique(true),
	}); err != nil {
		return fmt.Errorf("setup: create unique index: %w", err)
	}
	var counters []any
	for i := 0; i < nCounters; i++ {
		counters = append(counters, bson.D{{Key: "_id", Value: counterID(i)}, {Key: "n", Value: int64(0)}})
	}
	if _, err := db.Collection(countersCol).InsertMany(ctx, counters); err != nil {
		return fmt.Errorf("setup: insert counters: %w", err)
	}
	return nil
}

func counterID(i int) string { return fmt.Sprintf("c%d", i) }

// content is the full document a writer stores under id at version ver.
func content(rng *rand.Rand, w int, id string, ver int64) bson.D {
	x := rng.Int64N(1000)
	tags := bson.A{}
	for i := rng.IntN(4); i > 0; i-- {
		tags = append(tags, fmt.Sprintf("t%d", rng.IntN(20)))
	}
	return bson.D{
		{Key: "_id", Value: id},
		{Key: "w", Value: int32(w)},
		{Key: "ver", Value: ver},
		{Key: "a", Value: x},
		{Key: "b", Value: x},
		{Key: "tags", Value: tags},
		{Key: "pad", Value: strings.Repeat("p", rng.IntN(2000))},
	}
}

// workload runs the writers, kills the server after run and waits for the
// writers to notice.
func (h *harness) workload(ctx context.Context, client *mongo.Client, p *process, run time.Duration, seed uint64, graceful bool) error {
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, h.cfg.Writers)
	for w := 0; w < h.cfg.Writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			if err := h.writer(ctx, client, w, rng, &stop); err != nil {
				errs <- err
			}
		}(w)
	}
	select {
	case <-time.After(run):
	case <-ctx.Done():
	}
	var stopErr error
	if graceful {
		stopErr = p.stop(60 * time.Second)
		stop.Store(true)
	} else {
		stop.Store(true)
		p.kill()
	}
	wg.Wait()
	close(errs)
	var all []error
	if stopErr != nil {
		all = append(all, fmt.Errorf("graceful shutdown under load: %w", stopErr))
	}
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// writer performs random operations until stop is set or an operation's
// outcome is unknown (the server died). An unexpected server error is
// returned.
func (h *harness) writer(ctx context.Context, client *mongo.Client, w int, rng *rand.Rand, stop *atomic.Bool) error {
	// Odd writers ask for j:true (acknowledged once synced), even ones
	// use the default {w: 1} (acknowledged once in the log file): kill -9
	// must lose neither.
	var dbOpts []options.Lister[options.DatabaseOptions]
	if w%2 == 1 {
		dbOpts = append(dbOpts, options.Database().SetWriteConcern(writeconcern.Journaled()))
	}
	db := client.Database(dbName, dbOpts...)
	docs, counters, uniq := db.Collection(docsColl), db.Collection(countersCol), db.Collection(uniqColl)
	m := h.m
	for !stop.Load() {
		m.mu.Lock()
		var ownedID string
		if n := len(m.owned[w].ids); n > 0 {
			ownedID = m.owned[w].ids[rng.IntN(n)]
		}
		seq := m.nextSeq[w]
		m.nextSeq[w] += 3
		m.mu.Unlock()
		newID := func(i int64) string { return fmt.Sprintf("w%d-%d", w, seq+i) }

		op := pendingOp{docs: map[string]docModel{}, counter: -1}
		var err error
		switch r := rng.IntN(100); {
		case r < 25 || ownedID == "":
			id := newID(0)
			d := content(rng, w, id, 1)
			op.docs[id] = docModel{present: true, doc: d}
			_, err = docs.InsertOne(ctx, d)
		case r < 30:
			var many []any
			for i := int64(0); i < 3; i++ {
				id := newID(i)
				d := content(rng, w, id, 1)
				op.docs[id] = docModel{present: true, doc: d}
				many = append(many, d)
			}
			_, err = docs.InsertMany(ctx, many)
		case r < 50:
			id := ownedID
			m.mu.Lock()
			ver, _ := lookup(m.docs[id].doc, "ver").(int64)
			ver++
			m.mu.Unlock()
			d := content(rng, w, id, ver)
			op.docs[id] = docModel{present: true, doc: d}
			var res *mongo.UpdateResult
			res, err = docs.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: d[1:]}})
			if err == nil && res.MatchedCount != 1 {
				return fmt.Errorf("writer %d: update of %s matched %d documents, want 1", w, id, res.MatchedCount)
			}
		case r < 58:
			id := ownedID
			m.mu.Lock()
			ver, _ := lookup(m.docs[id].doc, "ver").(int64)
			ver++
			m.mu.Unlock()
			d := content(rng, w, id, ver)
			op.docs[id] = docModel{present: true, doc: d}
			var res *mongo.UpdateResult
			res, err = docs.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, d)
			if err == nil && res.MatchedCount != 1 {
				return fmt.Errorf("writer %d: replace of %s matched %d documents, want 1", w, id, res.MatchedCount)
			}
		case r < 68:
			id := ownedID
			op.docs[id] = docModel{present: false}
			var res *mongo.DeleteResult
			res, err = docs.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
			if err == nil && res.DeletedCount != 1 {
				return fmt.Errorf("writer %d: delete of %s removed %d documents, want 1", w, id, res.DeletedCount)
			}
		case r < 88:
			op.counter = rng.IntN(nCounters)
			op.inc = 1 + rng.Int64N(5)
			var res *mongo.UpdateResult
			res, err = counters.UpdateOne(ctx, bson.D{{Key: "_id", Value: counterID(op.counter)}},
				bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: op.inc}}}})
			if err == nil && res.ModifiedCount != 1 {
				return fmt.Errorf("writer %d: $inc on %s modified %d documents, want 1", w, counterID(op.counter), res.ModifiedCount)
			}
		default:
			id := "u-" + newID(0)
			k := rng.Int64N(uniqRange)
			op.uniq = map[string]int64{id: k}
			_, err = uniq.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "k", Value: k}})
			if mongo.IsDuplicateKeyError(err) && !mongo.IsNetworkError(err) {
				h.count(&h.rep.Rejected)
				continue // rejected: the model does not change
			}
		}
		if err == nil {
			h.count(&h.rep.Acked)
			m.mu.Lock()
			for id, d := range op.docs {
				m.setDoc(id, d)
			}
			for id, k := range op.uniq {
				m.uniq[id] = k
			}
			if op.counter >= 0 {
				m.counters[op.counter].acked += op.inc
			}
			m.mu.Unlock()
			continue
		}
		if !outcomeUnknown(err) {
			return fmt.Errorf("writer %d: unexpected server error: %w", w, err)
		}
		// Outcome unknown: the server was killed (or is being killed).
		h.count(&h.rep.Uncertain)
		m.mu.Lock()
		m.pending = append(m.pending, op)
		if op.counter >= 0 {
			m.counters[op.counter].pending += op.inc
		}
		m.mu.Unlock()
		return nil
	}
	return nil
}

// outcomeUnknown reports whether a failed write may or may not have been
// applied because the server went away: a network error or a timeout, or
// any error the driver made itself rather than received. The driver fails
// a check-out from a pool it cleared after a network error (a graceful
// shutdown closing connections does that) with an error labelled only
// TransientTransactionError; it wraps a driver.RetryablePoolError, and a
// retried write that meets it may have been applied by its first attempt.
// A reply from the server (CommandError or WriteException otherwise) is a
// definite refusal.
func outcomeUnknown(err error) bool {
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) {
		return true
	}
	var pe driver.RetryablePoolError
	if errors.As(err, &pe) {
		return true
	}
	var ce mongo.CommandError
	var we mongo.WriteException
	return !errors.As(err, &ce) && !errors.As(err, &we)
}

func (h *harness) count(p *int64) { atomic.AddInt64(p, 1) }

// verify checks the database against the model and then resolves the
// uncertain operations to what the database holds.
func (h *harness) verify(ctx context.Context, client *mongo.Client) error {
	m := h.m
	db := client.Database(dbName)
	var bad []string
	fail := func(format string, args ...any) {
		if len(bad) < 20 {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}

	// Possible states per _id: the acknowledged one plus pending ones.
	possible := map[string][]docModel{}
	for id, d := range m.docs {
		possible[id] = []docModel{d}
	}
	possibleUniq := map[string]bool{}
	for _, op := range m.pending {
		for id, d := range op.docs {
			if _, ok := possible[id]; !ok {
				possible[id] = []docModel{{present: false}}
			}
			possible[id] = append(possible[id], d)
		}
		for id := range op.uniq {
			possibleUniq[id] = true
		}
	}

	// docs
	actual, err := readAll(ctx, db.Collection(docsColl))
	if err != nil {
		return err
	}
	for id, d := range actual {
		states, ok := possible[id]
		if !ok {
			fail("docs: unexpected document %v", d)
			continue
		}
		if !matchesAny(d, states) {
			fail("docs: %s holds %v, which matches none of %d possible states (acked %v)", id, summarize(d), len(states), summarizeState(states[0]))
		}
		if len(d) > 4 && !reflect.DeepEqual(lookup(d, "a"), lookup(d, "b")) {
			fail("docs: %s is half applied: a=%v b=%v", id, lookup(d, "a"), lookup(d, "b"))
		}
	}
	for id, states := range possible {
		if _, ok := actual[id]; ok {
			continue
		}
		absentOK := false
		for _, s := range states {
			absentOK = absentOK || !s.present
		}
		if !absentOK {
			fail("docs: acknowledged document %s is missing (acked %v)", id, summarizeState(states[0]))
		}
	}

	// counters
	cs, err := readAll(ctx, db.Collection(countersCol))
	if err != nil {
		return err
	}
	var newBase [nCounters]int64
	for i := 0; i < nCounters; i++ {
		c := m.counters[i]
		d, ok := cs[counterID(i)]
		if !ok {
			fail("counters: %s is missing", counterID(i))
			continue
		}
		n, _ := lookup(d, "n").(int64)
		lo, hi := c.base+c.acked, c.base+c.acked+c.pending
		if n < lo || n > hi {
			fail("counters: %s = %d, want between %d (acknowledged) and %d (attempted)", counterID(i), n, lo, hi)
		}
		newBase[i] = n
	}
	if len(cs) != nCounters {
		fail("counters: %d documents, want %d", len(cs), nCounters)
	}

	// uniq
	us, err := readAll(ctx, db.Collection(uniqColl))
	if err != nil {
		return err
	}
	byK := map[int64]string{}
	for id, d := range us {
		k, _ := lookup(d, "k").(int64)
		if other, dup := byK[k]; dup {
			fail("uniq: unique index violated: %s and %s both have k=%d", id, other, k)
		}
		byK[k] = id
		ak, acked := m.uniq[id]
		switch {
		case acked && ak != k:
			fail("uniq: %s has k=%d, want %d", id, k, ak)
		case !acked && !possibleUniq[id]:
			fail("uniq: unexpected document %v (rejected or never attempted)", d)
		}
	}
	for id := range m.uniq {
		if _, ok := us[id]; !ok {
			fail("uniq: acknowledged document %s is missing", id)
		}
	}

	// validate
	for _, c := range []string{docsColl, countersCol, uniqColl} {
		var res bson.D
		if err := db.RunCommand(ctx, bson.D{{Key: "validate", Value: c}, {Key: "full", Value: true}}).Decode(&res); err != nil {
			return fmt.Errorf("validate %s: %w", c, err)
		}
		if lookup(res, "valid") != true {
			fail("validate %s: not valid: errors %v", c, lookup(res, "errors"))
		}
	}

	if len(bad) > 0 {
		return fmt.Errorf("%d violation(s) after restart:\n  %s\nserver log tail:\n%s", len(bad), strings.Join(bad, "\n  "), logTail(h.logPath, 15))
	}

	// Resolve: the database is the truth now.
	for _, op := range m.pending {
		applied := false
		for id := range op.docs {
			d, ok := actual[id]
			if acked := m.docs[id]; ok != acked.present || (ok && !sameDoc(d, acked.doc)) {
				applied = true
			}
		}
		for id := range op.uniq {
			if _, ok := us[id]; ok {
				applied = true
			}
		}
		if applied {
			h.rep.Resolved++
		}
	}
	for id := range possible {
		if d, ok := actual[id]; ok {
			m.setDoc(id, docModel{present: true, doc: d})
		} else {
			m.setDoc(id, docModel{present: false})
		}
	}
	for id, d := range us {
		m.uniq[id], _ = lookup(d, "k").(int64)
	}
	for i := range m.counters {
		m.counters[i] = struct{ base, acked, pending int64 }{base: newBase[i]}
	}
	m.pending = nil
	return nil
}

func readAll(ctx context.Context, c *mongo.Collection) (map[string]bson.D, error) {
	// An explicit batch size keeps getMore replies small: without one the
	// server fills 16 MiB of documents and its reply overflows the BSON
	// limit (see docs/reliability.md, "faults found").
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetBatchSize(1000))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	var docs []bson.D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	out := map[string]bson.D{}
	for _, d := range docs {
		id, _ := lookup(d, "_id").(string)
		out[id] = d
	}
	return out, nil
}

func lookup(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

// sameDoc compares two documents field by field, ignoring field order.
func sameDoc(a, b bson.D) bool {
	if len(a) != len(b) {
		return false
	}
	for _, e := range a {
		v := lookup(b, e.Key)
		if v == nil || !reflect.DeepEqual(normalize(e.Value), normalize(v)) {
			return false
		}
	}
	return true
}

// normalize maps an empty array to a canonical value (nil and bson.A{}
// decode alike).
func normalize(v any) any {
	if a, ok := v.(bson.A); ok && len(a) == 0 {
		return bson.A{}
	}
	return v
}

func matchesAny(d bson.D, states []docModel) bool {
	for _, s := range states {
		if s.present && sameDoc(d, s.doc) {
			return true
		}
	}
	return false
}

func summarize(d bson.D) string {
	return fmt.Sprintf("{ver: %v, a: %v, b: %v, tags: %v, pad: %d bytes}", lookup(d, "ver"), lookup(d, "a"), lookup(d, "b"),
		lookup(d, "tags"), len(fmt.Sprint(lookup(d, "pad"))))
}

func summarizeState(s docModel) string {
	if !s.present {
		return "absent"
	}
	return summarize(s.doc)
}
