package commands

import (
	"context"
	"os"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "explain", Help: "describe how a command would be executed", Handler: explainCmd})
}

// queryHints copies the hint, min and max arguments of a read command
// into q.
func queryHints(req *Request, q *planner.Query) error {
	if h, ok := req.Arg("hint"); ok {
		if err := setHint(req.Name, h, q); err != nil {
			return err
		}
	}
	var err error
	if q.Min, _, err = argDoc(req, "min"); err != nil {
		return err
	}
	if q.Max, _, err = argDoc(req, "max"); err != nil {
		return err
	}
	if q.Collation, err = parseCollationArg(req); err != nil {
		return err
	}
	return nil
}

// setHint validates a hint value (an index name or a key pattern).
func setHint(cmd string, h any, q *planner.Query) error {
	switch h.(type) {
	case string, bson.D:
		q.Hint = h
	case nil, bson.Null:
	default:
		return mongoerr.Newf(mongoerr.FailedToParse, "BSON field '%s.hint' is the wrong type '%s', expected types '[string, object]'", cmd, bsonutil.TypeName(h))
	}
	return nil
}

// explainCmd runs {explain: {<command>}, verbosity}. The explained
// command is planned (and, unless verbosity is queryPlanner, its read part
// is run) but never writes.
func explainCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	inner, ok := req.Body[0].Value.(bson.D)
	if !ok {
		return nil, fieldErr("explain", "explain", "object", req.Body[0].Value)
	}
	if len(inner) == 0 {
		return nil, mongoerr.New(mongoerr.FailedToParse, "explain command requires a nested object")
	}
	if err := checkFields(req, "verbosity"); err != nil {
		return nil, err
	}
	vv, _ := req.Arg("verbosity")
	verbosity, err := planner.ParseVerbosity(vv)
	if err != nil {
		return nil, err
	}
	sub := &Request{DB: req.DB, Name: inner[0].Key, Body: inner, Conn: req.Conn}
	if d, ok := sub.Arg("$db"); ok {
		if s, isStr := d.(string); isStr {
			sub.DB = s
		}
	}
	if sub, err = explainViewRequest(env, sub); err != nil {
		return nil, err
	}
	var out bson.D
	switch sub.Name {
	case "find":
		out, err = explainFind(env, sub, verbosity)
	case "count":
		out, err = explainCount(env, sub, verbosity)
	case "distinct":
		out, err = explainDistinct(env, sub, verbosity)
	case "aggregate":
		// Defined with the aggregate command (pipeline push-down).
		out, err = aggregateExplain(env, sub, verbosity)
	case "update":
		out, err = explainUpdate(env, sub, verbosity)
	case "delete":
		out, err = explainDelete(env, sub, verbosity)
	case "findAndModify", "findandmodify":
		out, err = explainFindAndModify(env, sub, verbosity)
	default:
		return nil, mongoerr.Newf(mongoerr.CommandNotFound, "Explain failed due to unknown command: %s", sub.Name)
	}
	if err != nil {
		return nil, err
	}
	return append(out,
		bson.E{Key: "command", Value: inner},
		bson.E{Key: "serverInfo", Value: serverInfo()},
	), nil
}

func serverInfo() bson.D {
	host, _ := os.Hostname()
	return bson.D{
		{Key: "host", Value: host},
		{Key: "version", Value: "7.0.0"},
		{Key: "gitVersion", Value: "cairn"},
	}
}

// runExplain explains q against db.name.
func runExplain(env *Env, db, name string, q *planner.Query, kind planner.ExplainKind, verbosity string) (bson.D, error) {
	coll := env.Catalog.Collection(db, name)
	snap, err := env.Catalog.Snapshot()
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	return planner.Explain(snap, coll, ns(db, name), q, kind, verbosity)
}

func explainFind(env *Env, req *Request, verbosity string) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	q, err := parseFindQuery(req)
	if err != nil {
		return nil, err
	}
	return runExplain(env, req.DB, name, q, planner.ExplainFind, verbosity)
}

func explainCount(env *Env, req *Request, verbosity string) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	q, err := parseCountQuery(req)
	if err != nil {
		return nil, err
	}
	return runExplain(env, req.DB, name, q, planner.ExplainCount, verbosity)
}

func explainDistinct(env *Env, req *Request, verbosity string) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	q := &planner.Query{}
	if q.Filter, _, err = argDoc(req, "query"); err != nil {
		return nil, err
	}
	if err := queryHints(req, q); err != nil {
		return nil, err
	}
	return runExplain(env, req.DB, name, q, planner.ExplainDistinct, verbosity)
}

func firstStatement(req *Request, field string) (bson.D, error) {
	v, _ := req.Arg(field)
	a, ok := v.(bson.A)
	if !ok || len(a) == 0 {
		return nil, mongoerr.Newf(mongoerr.InvalidLength, "explain of %s requires exactly one statement in '%s'", req.Name, field)
	}
	d, ok := a[0].(bson.D)
	if !ok {
		return nil, fieldErr(req.Name, field, "object", a[0])
	}
	return d, nil
}

func explainUpdate(env *Env, req *Request, verbosity string) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	st, err := firstStatement(req, "updates")
	if err != nil {
		return nil, err
	}
	q := &planner.Query{Limit: 1}
	q.Filter, _ = bsonutil.Get(st, "q").(bson.D)
	if bsonutil.IsTruthy(bsonutil.Get(st, "multi")) {
		q.Limit = 0
	}
	if h := bsonutil.Get(st, "hint"); !bsonutil.IsMissing(h) {
		if err := setHint(req.Name, h, q); err != nil {
			return nil, err
		}
	}
	return runExplain(env, req.DB, name, q, planner.ExplainUpdate, verbosity)
}

func explainDelete(env *Env, req *Request, verbosity string) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	st, err := firstStatement(req, "deletes")
	if err != nil {
		return nil, err
	}
	q := &planner.Query{}
	q.Filter, _ = bsonutil.Get(st, "q").(bson.D)
	if n, ok := bsonutil.ToInt64(bsonutil.Get(st, "limit")); ok && n == 1 {
		q.Limit = 1
	}
	if h := bsonutil.Get(st, "hint"); !bsonutil.IsMissing(h) {
		if err := setHint(req.Name, h, q); err != nil {
			return nil, err
		}
	}
	return runExplain(env, req.DB, name, q, planner.ExplainDelete, verbosity)
}

func explainFindAndModify(env *Env, req *Request, verbosity string) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	q := &planner.Query{Limit: 1}
	if q.Filter, _, err = argDoc(req, "query"); err != nil {
		return nil, err
	}
	if q.Sort, _, err = argDoc(req, "sort"); err != nil {
		return nil, err
	}
	if h, ok := req.Arg("hint"); ok {
		if err := setHint(req.Name, h, q); err != nil {
			return nil, err
		}
	}
	kind := planner.ExplainUpdate
	if remove, _ := argBool(req, "remove"); remove {
		kind = planner.ExplainDelete
	}
	return runExplain(env, req.DB, name, q, kind, verbosity)
}

// hintArg returns the command's hint argument, or nil.
func hintArg(req *Request) any {
	h, _ := req.Arg("hint")
	return h
}
