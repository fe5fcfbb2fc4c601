package aggregate

import (
	"context"
	"os"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// StatsReader is an optional capability of an Env, found by type
// assertion, that $collStats and $indexStats read through.
type StatsReader interface {
	// CollStats returns the number of documents of db.coll and its
	// storage statistics (the collStats command's fields) scaled by scale.
	CollStats(ctx context.Context, db, coll string, scale int64) (count int64, storage bson.D, err error)
	// IndexStats returns one document per index of db.coll:
	// {name, key, accesses: {ops, since}, spec}.
	IndexStats(ctx context.Context, db, coll string) ([]bson.D, error)
}

func checkFirstOnCollection(pc *parseCtx, name string) error {
	if pc.index != 0 || pc.inSub {
		return mongoerr.Newf(40602, "%s is only valid as the first stage in a pipeline", name)
	}
	return nil
}

// ---- $collStats ----

type collStatsStage struct {
	baseStage
	pc      *parseCtx
	count   bool
	storage bool
	latency bool
	scale   int64
}

func parseCollStats(pc *parseCtx, name string, spec any) (Stage, error) {
	if err := checkFirstOnCollection(pc, name); err != nil {
		return nil, err
	}
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch, "$collStats must take a nested object but found: %s", fmtValue(spec))
	}
	st := &collStatsStage{baseStage: baseStage{name, spec}, pc: pc, scale: 1}
	for _, e := range d {
		sub, ok := e.Value.(bson.D)
		if !ok {
			return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '$collStats.%s' is the wrong type '%s', expected type 'object'", e.Key, bsonutil.TypeName(e.Value))
		}
		switch e.Key {
		case "count":
			st.count = true
		case "storageStats":
			st.storage = true
			for _, o := range sub {
				switch o.Key {
				case "scale":
					n, ok := toInt64Arg(o.Value)
					if !ok || n < 1 {
						return nil, mongoerr.Newf(51024, "BSON field 'scale' value must be >= 1, actual value '%s'", fmtValue(o.Value))
					}
					st.scale = n
				case "verbose", "waitForLock", "numericOnly":
				default:
					return nil, mongoerr.Newf(40415, "BSON field '$collStats.storageStats.%s' is an unknown field.", o.Key)
				}
			}
		case "latencyStats":
			st.latency = true
		case "queryExecStats":
		default:
			return nil, mongoerr.Newf(40415, "BSON field '$collStats.%s' is an unknown field.", e.Key)
		}
	}
	return st, nil
}

func (s *collStatsStage) open(ctx context.Context, in Source) (Source, error) {
	in.Close()
	sr, err := envCapability[StatsReader](s.pc.opts.Env, "$collStats")
	if err != nil {
		return nil, err
	}
	coll := s.pc.opts.Coll
	n, storage, err := sr.CollStats(ctx, s.pc.opts.DB, coll, s.scale)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	out := bson.D{
		{Key: "ns", Value: s.pc.opts.DB + "." + coll},
		{Key: "host", Value: host},
		{Key: "localTime", Value: bson.NewDateTimeFromTime(time.Now())},
	}
	if s.latency {
		zero := bson.D{{Key: "latency", Value: int64(0)}, {Key: "ops", Value: int64(0)}}
		out = append(out, bson.E{Key: "latencyStats", Value: bson.D{
			{Key: "reads", Value: zero}, {Key: "writes", Value: zero},
			{Key: "commands", Value: zero}, {Key: "transactions", Value: zero}}})
	}
	if s.storage {
		out = append(out, bson.E{Key: "storageStats", Value: storage})
	}
	if s.count {
		out = append(out, bson.E{Key: "count", Value: n})
	}
	return SliceSource([]bson.D{out}), nil
}

// ---- $indexStats ----

type indexStatsStage struct {
	baseStage
	pc *parseCtx
}

func parseIndexStats(pc *parseCtx, name string, spec any) (Stage, error) {
	if err := checkFirstOnCollection(pc, name); err != nil {
		return nil, err
	}
	if d, ok := spec.(bson.D); !ok || len(d) != 0 {
		return nil, mongoerr.New(28803, "The $indexStats stage specification must be an empty object")
	}
	return &indexStatsStage{baseStage{name, spec}, pc}, nil
}

func (s *indexStatsStage) open(ctx context.Context, in Source) (Source, error) {
	in.Close()
	sr, err := envCapability[StatsReader](s.pc.opts.Env, "$indexStats")
	if err != nil {
		return nil, err
	}
	docs, err := sr.IndexStats(ctx, s.pc.opts.DB, s.pc.opts.Coll)
	if err != nil {
		return nil, err
	}
	return SliceSource(docs), nil
}
