package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// Collection names inside Config.DB.
const (
	collUser       = "usertable"
	collInsertMany = "insert_many" // + "_a" or "_b"
	collInsertOne  = "insert_one"  // + "_a" or "_b"
)

// target is one server under load, with the state its workloads share.
type target struct {
	label string // "A" or "B"
	uri   string
	cfg   *Config

	client *mongo.Client
	db     *mongo.Database // the URI's write concern (the server's default unless it sets one)
	jdb    *mongo.Database // j:true, for the durable insert_one
	wdb    *mongo.Database // the other write workloads: db, or jdb with --journal
	zipf   *Zipfian
	local  bool         // URI names only loopback hosts, so /proc/<pid> is the server's
	pid    atomic.Int64 // the server's pid when local and reported (serverStatus), else 0

	userOnce sync.Once
	userErr  error

	nextID       atomic.Int64 // next _id for insert_many
	insertedMany atomic.Int64 // documents insert_many has acknowledged
	insertedOne  atomic.Int64 // documents insert_one has acknowledged
}

func connectTarget(ctx context.Context, label, uri string, cfg *Config) (*target, error) {
	opts := options.Client().ApplyURI(uri)
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("server %s: bad URI %s: %w", label, redactURI(uri), err)
	}
	pool := uint64(cfg.Concurrency) + 4
	if pool < 100 {
		pool = 100
	}
	opts.SetMaxPoolSize(pool)
	if opts.AppName == nil {
		opts.SetAppName("cairn-load")
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("server %s: connect %s: %w", label, redactURI(uri), err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("server %s: ping %s: %w", label, redactURI(uri), err)
	}
	z, err := NewScrambledZipfian(cfg.Records, YCSBTheta)
	if err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return newTarget(label, uri, cfg, client, z, loopbackOnly(opts.Hosts)), nil
}

// newTarget wraps a connected client.
func newTarget(label, uri string, cfg *Config, client *mongo.Client, z *Zipfian, local bool) *target {
	t := &target{
		label:  label,
		uri:    uri,
		cfg:    cfg,
		client: client,
		db:     client.Database(cfg.DB),
		jdb:    client.Database(cfg.DB, options.Database().SetWriteConcern(writeconcern.Journaled())),
		zipf:   z,
		local:  local,
	}
	t.wdb = t.db
	if cfg.Journal {
		t.wdb = t.jdb
	}
	return t
}

// coll names a per-server collection, e.g. insert_one_a, so that comparing
// a server with itself (an A/A run to gauge noise) cannot mix the two
// servers' insert counts.
func (t *target) coll(base string) string {
	return base + "_" + strings.ToLower(t.label)
}

func (t *target) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.client.Disconnect(ctx)
}

// fieldCount and fieldSize shape a 1 KB record: 10 fields of 100 bytes.
const (
	fieldCount = 10
	fieldSize  = 100
)

var fieldNames = func() [fieldCount]string {
	var n [fieldCount]string
	for i := range n {
		n[i] = fmt.Sprintf("f%d", i)
	}
	return n
}()

// randPool is 1 MiB of random lowercase letters; randString slices it.
var randPool = func() string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = 'a' + byte(r.IntN(26))
	}
	return string(b)
}()

// randString returns n random lowercase letters: a slice of randPool at a
// random offset, so the tool spends no allocation or time making values
// (n must not exceed len(randPool)).
func randString(r *rand.Rand, n int) string {
	off := r.IntN(len(randPool) - n + 1)
	return randPool[off : off+n]
}

// userRecord is record k of the usertable: {_id: k, i: k, g: k%100, n: 0,
// f0..f9: 100 random bytes each}.
func userRecord(r *rand.Rand, k int64) bson.D {
	d := make(bson.D, 0, 4+fieldCount)
	d = append(d,
		bson.E{Key: "_id", Value: k},
		bson.E{Key: "i", Value: k},
		bson.E{Key: "g", Value: int32(k % groupCount)},
		bson.E{Key: "n", Value: int32(0)},
	)
	for _, f := range fieldNames {
		d = append(d, bson.E{Key: f, Value: randString(r, fieldSize)})
	}
	return d
}

// groupCount is the number of distinct "g" values in the usertable.
const groupCount = 100

// ensureUsertable drops and loads the usertable once per target: Records
// 1 KB records inserted in batches of 1000 by Concurrency workers, then an
// ascending index on "i", then a count check.
func (t *target) ensureUsertable(ctx context.Context) error {
	t.userOnce.Do(func() { t.userErr = t.loadUsertable(ctx) })
	return t.userErr
}

func (t *target) loadUsertable(ctx context.Context) error {
	coll := t.db.Collection(collUser)
	if err := coll.Drop(ctx); err != nil {
		return fmt.Errorf("preload: drop %s: %w", collUser, err)
	}
	const batch = 1000
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, t.cfg.Concurrency)
	for w := 0; w < t.cfg.Concurrency; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 0x5eed))
			for {
				lo := next.Add(batch) - batch
				if lo >= t.cfg.Records {
					return
				}
				hi := min(lo+batch, t.cfg.Records)
				docs := make([]any, 0, hi-lo)
				for k := lo; k < hi; k++ {
					docs = append(docs, userRecord(r, k))
				}
				res, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
				if err != nil {
					errc <- fmt.Errorf("preload: insert records %d..%d: %w", lo, hi-1, err)
					return
				}
				if len(res.InsertedIDs) != len(docs) {
					errc <- fmt.Errorf("preload: insert records %d..%d: %d acknowledged, want %d", lo, hi-1, len(res.InsertedIDs), len(docs))
					return
				}
			}
		}(t.cfg.Seed + uint64(w) + 1)
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "i", Value: 1}}}); err != nil {
		return fmt.Errorf("preload: create index {i: 1}: %w", err)
	}
	n, err := coll.CountDocuments(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("preload: count: %w", err)
	}
	if n != t.cfg.Records {
		return fmt.Errorf("preload: %s holds %d documents after loading, want %d", collUser, n, t.cfg.Records)
	}
	return nil
}

// redactURI hides the password in a URI for printing.
func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		return uri
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
