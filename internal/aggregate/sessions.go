package aggregate

import (
	"context"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// SessionLister is an optional capability of an Env, found by type
// assertion, that $listLocalSessions reads through.
type SessionLister interface {
	// LocalSessions returns one {_id: {id, uid}, lastUse} document per
	// session the server has seen recently.
	LocalSessions(ctx context.Context) ([]bson.D, error)
}

type listLocalSessionsStage struct {
	baseStage
	pc *parseCtx
}

func parseListLocalSessions(pc *parseCtx, name string, spec any) (Stage, error) {
	if err := checkFirstOnCollection(pc, name); err != nil {
		return nil, err
	}
	d, ok := spec.(bson.D)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch, "$listLocalSessions must take a nested object but found: %s", fmtValue(spec))
	}
	for _, e := range d {
		switch e.Key {
		case "allUsers", "users":
		default:
			return nil, mongoerr.Newf(40415, "BSON field '$listLocalSessions.%s' is an unknown field.", e.Key)
		}
	}
	return &listLocalSessionsStage{baseStage: baseStage{name, spec}, pc: pc}, nil
}

func (s *listLocalSessionsStage) open(ctx context.Context, in Source) (Source, error) {
	in.Close()
	sl, err := envCapability[SessionLister](s.pc.opts.Env, "$listLocalSessions")
	if err != nil {
		return nil, err
	}
	docs, err := sl.LocalSessions(ctx)
	if err != nil {
		return nil, err
	}
	return SliceSource(docs), nil
}
