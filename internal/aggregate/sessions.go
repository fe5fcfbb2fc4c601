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
	if pc.index != 0 || pc.inSub {
		return nil, mongoerr.Newf(40602, "%s is only valid as the first stage in a pipeline", name)
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
	sl, ok := s.pc.opts.Env.(SessionLister)
	if !ok || s.pc.opts.Env == nil {
		return nil, mongoerr.New(mongoerr.NotImplemented, "$listLocalSessions is not available in this context")
	}
	docs, err := sl.LocalSessions(ctx)
	if err != nil {
		return nil, err
	}
	return SliceSource(docs), nil
}
