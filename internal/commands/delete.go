package commands

import (
	"context"
	"github.com/cairndb/cairn/internal/collation"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "delete", Help: "delete documents", Handler: deleteCmd})
}

type deleteStmt struct {
	q     bson.D
	limit int64
	hint  any // index hint, passed to the planner
	// collation is the statement's collation (nil: simple).
	collation *collation.Collation
}

func parseDeleteStmt(cmd string, d bson.D) (*deleteStmt, error) {
	s := &deleteStmt{}
	hasLimit := false
	for _, e := range d {
		switch e.Key {
		case "q":
			q, ok := e.Value.(bson.D)
			if !ok {
				return nil, idl(fieldErr(cmd+".deletes", "q", "object", e.Value))
			}
			s.q = q
		case "limit":
			n, ok := bsonutil.ToInt64(e.Value)
			if !ok || (n != 0 && n != 1) {
				return nil, mongoerr.Newf(mongoerr.FailedToParse, "The limit field in delete objects must be 0 or 1. Got %s", bsonutil.Format(e.Value))
			}
			s.limit, hasLimit = n, true
		case "collation":
			c, err := parseCollationValue(cmd+".deletes", "collation", e.Value)
			if err != nil {
				return nil, err
			}
			s.collation = c
		case "hint":
			s.hint = e.Value
		default:
			return nil, idl(mongoerr.Newf(mongoerr.Code(40415), "BSON field '%s.deletes.%s' is an unknown field.", cmd, e.Key))
		}
	}
	if s.q == nil {
		return nil, idl(mongoerr.Newf(mongoerr.Code(40414), "BSON field '%s.deletes.q' is missing but a required field", cmd))
	}
	if !hasLimit {
		return nil, idl(mongoerr.Newf(mongoerr.Code(40414), "BSON field '%s.deletes.limit' is missing but a required field", cmd))
	}
	return s, nil
}

func runDelete(w *catalog.Writer, coll *catalog.Collection, s *deleteStmt, sort bson.D, vars *expr.Vars) (int, []planner.Doc, error) {
	if coll == nil {
		return 0, nil, nil
	}
	docs, err := planner.Matches(w, coll, &planner.Query{Filter: s.q, Sort: sort, Limit: s.limit, Vars: vars, Hint: s.hint, Collation: s.collation})
	if err != nil {
		return 0, nil, err
	}
	for _, d := range docs {
		if err := w.Delete(coll, d.Raw); err != nil {
			return 0, nil, err
		}
	}
	return len(docs), docs, nil
}

func deleteCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseViewWrite(env, req.DB, name); err != nil {
		return nil, err
	}
	if err := checkFields(req, "deletes", "ordered", "let"); err != nil {
		return nil, err
	}
	stmts, err := docsArg(req, "deletes")
	if err != nil {
		return nil, err
	}
	ordered := true
	if _, ok := req.Arg("ordered"); ok {
		if ordered, err = argBool(req, "ordered"); err != nil {
			return nil, err
		}
	}
	opts, _, err := writeOptions(req)
	if err != nil {
		return nil, err
	}
	vars, err := letVars(req)
	if err != nil {
		return nil, err
	}
	if len(stmts) == 0 {
		return nil, mongoerr.New(mongoerr.InvalidLength, "Write batch sizes must be between 1 and 100000. Got 0 operations.")
	}
	var n int
	var writeErrs bson.A
	parsed := make([]*deleteStmt, len(stmts))
	parseErrs := make([]error, len(stmts))
	for i, st := range stmts {
		parsed[i], parseErrs[i] = parseDeleteStmt(req.Name, st)
		if isIDLError(parseErrs[i]) {
			return nil, parseErrs[i]
		}
	}
	err = writeColl(ctx, env, req.DB, name, false, opts, func(w *catalog.Writer, coll *catalog.Collection) error {
		n, writeErrs = 0, nil
		for i := range stmts {
			s, err := parsed[i], parseErrs[i]
			var k int
			if err == nil {
				k, _, err = runDelete(w, coll, s, nil, vars)
			}
			if err != nil {
				if !isWriteError(err) {
					return err
				}
				writeErrs = append(writeErrs, writeErrorDoc(i, err))
				if ordered {
					break
				}
				continue
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	reply := bson.D{{Key: "n", Value: int32(n)}}
	if len(writeErrs) > 0 {
		reply = append(reply, bson.E{Key: "writeErrors", Value: writeErrs})
	}
	return reply, nil
}
