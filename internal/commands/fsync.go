package commands

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
)

func init() {
	Register(&Command{Name: "fsync", Help: "flush every acknowledged write to disk", AdminOnly: true, Handler: fsyncCmd})
}

// fsyncCmd implements {fsync: 1}: writes acknowledged with the default
// write concern are in the log file but may not be on disk yet (see
// docs/reliability.md); fsync syncs them all before it answers. The
// lock form, which blocks writes for a backup, is refused.
func fsyncCmd(_ context.Context, env *Env, req *Request) (bson.D, error) {
	if v, ok := req.Arg("lock"); ok && bsonutil.IsTruthy(v) {
		return nil, mongoerr.New(mongoerr.CommandNotSupported, "fsync with lock: true is not supported: Cairn cannot block writes for a backup")
	}
	if s, ok := env.Catalog.Engine().(storage.Syncer); ok {
		if err := s.Sync(); err != nil {
			return nil, err
		}
	}
	return bson.D{{Key: "numFiles", Value: int32(1)}}, nil
}
