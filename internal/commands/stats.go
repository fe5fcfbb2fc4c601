package commands

import (
	"context"
	"io"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

var errEOF = io.EOF

func init() {
	Register(&Command{Name: "collStats", Help: "collection statistics", Handler: collStatsCmd})
	Register(&Command{Name: "dbStats", Aliases: []string{"dbstats"}, Help: "database statistics", Handler: dbStatsCmd})
}

type collSizes struct {
	count, size int64
}

func statsOf(env *Env, colls []*catalog.Collection) (map[uint64]collSizes, error) {
	snap, err := env.Catalog.Snapshot()
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	out := map[uint64]collSizes{}
	for _, c := range colls {
		n, s, err := snap.Stats(c)
		if err != nil {
			return nil, err
		}
		out[c.ID] = collSizes{n, s}
	}
	return out, nil
}

func dbSize(env *Env, db string) (int64, error) {
	colls := env.Catalog.Collections(db)
	st, err := statsOf(env, colls)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, s := range st {
		total += s.size
	}
	// Every collection occupies some space even when empty, as in MongoDB.
	return total + int64(len(colls))*4096, nil
}

func scaleArg(req *Request) (int64, error) {
	scale, ok, err := argInt64(req, "scale")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 1, nil
	}
	if scale < 1 {
		return 0, mongoerr.New(mongoerr.BadValue, "scale has to be >= 1")
	}
	return scale, nil
}

func collStatsCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseView(env, req.DB, name); err != nil {
		return nil, err
	}
	scale, err := scaleArg(req)
	if err != nil {
		return nil, err
	}
	coll := env.Catalog.Collection(req.DB, name)
	if coll == nil {
		return nil, mongoerr.Newf(mongoerr.NamespaceNotFound, "Collection [%s.%s] not found.", req.DB, name)
	}
	_, stats, err := collStorageStats(env, coll, scale)
	if err != nil {
		return nil, err
	}
	return append(bson.D{{Key: "ns", Value: coll.NS()}}, stats...), nil
}

// collStorageStats is the storage part of collStats (and of $collStats'
// storageStats): counts, sizes, index sizes, scaled, with the capped
// fields. It also returns the document count.
func collStorageStats(env *Env, coll *catalog.Collection, scale int64) (int64, bson.D, error) {
	st, err := statsOf(env, []*catalog.Collection{coll})
	if err != nil {
		return 0, nil, err
	}
	s := st[coll.ID]
	var avg int64
	if s.count > 0 {
		avg = s.size / s.count
	}
	recBytes, ixBytes, err := env.Catalog.DiskUsage(coll)
	if err != nil {
		return 0, nil, err
	}
	// The _id index lives in the records themselves (they are keyed by
	// _id), so its size is reported as part of them.
	indexSizes := bson.D{}
	var idx int64
	for _, ix := range coll.Indexes {
		n := ixBytes[ix.Name]
		if ix.IsID() {
			n = 0
		}
		idx += n
		indexSizes = append(indexSizes, bson.E{Key: ix.Name, Value: n / scale})
	}
	idx /= scale
	storage := recBytes / scale
	return s.count, withCappedStats(coll, scale, bson.D{
		{Key: "size", Value: s.size / scale},
		{Key: "count", Value: s.count},
		{Key: "avgObjSize", Value: avg},
		{Key: "storageSize", Value: storage},
		{Key: "freeStorageSize", Value: int64(0)},
		{Key: "capped", Value: false},
		{Key: "nindexes", Value: int32(len(coll.Indexes))},
		{Key: "indexSizes", Value: indexSizes},
		{Key: "totalIndexSize", Value: idx},
		{Key: "totalSize", Value: storage + idx},
		{Key: "scaleFactor", Value: scale},
	}), nil
}

func dbStatsCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	if err := catalog.ValidateDBName(req.DB); err != nil {
		return nil, err
	}
	scale, err := scaleArg(req)
	if err != nil {
		return nil, err
	}
	colls := env.Catalog.Collections(req.DB)
	st, err := statsOf(env, colls)
	if err != nil {
		return nil, err
	}
	var objects, size, storage, idx int64
	nIndexes := 0
	for _, c := range colls {
		objects += st[c.ID].count
		size += st[c.ID].size
		nIndexes += len(c.Indexes)
		recBytes, ixBytes, err := env.Catalog.DiskUsage(c)
		if err != nil {
			return nil, err
		}
		storage += recBytes
		for _, n := range ixBytes {
			idx += n
		}
	}
	var avg float64
	if objects > 0 {
		avg = float64(size) / float64(objects)
	}
	storage /= scale
	idx /= scale
	_ = bsonutil.Missing
	return bson.D{
		{Key: "db", Value: req.DB},
		{Key: "collections", Value: int64(len(colls))},
		{Key: "views", Value: int64(len(env.Catalog.Views(req.DB)))},
		{Key: "objects", Value: objects},
		{Key: "avgObjSize", Value: avg},
		{Key: "dataSize", Value: float64(size) / float64(scale)},
		{Key: "storageSize", Value: float64(storage)},
		{Key: "indexes", Value: int64(nIndexes)},
		{Key: "indexSize", Value: float64(idx)},
		{Key: "totalSize", Value: float64(storage + idx)},
		{Key: "scaleFactor", Value: float64(scale)},
		{Key: "fsUsedSize", Value: float64(0)},
		{Key: "fsTotalSize", Value: float64(0)},
	}, nil
}
