package commands

import (
	"context"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/update"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "findAndModify", Aliases: []string{"findandmodify"}, Help: "atomically find and update or remove one document", Handler: findAndModifyCmd})
}

func findAndModifyCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseViewWrite(env, req.DB, name); err != nil {
		return nil, err
	}
	if err := checkFields(req, "query", "sort", "remove", "update", "new", "fields", "upsert",
		"bypassDocumentValidation", "collation", "arrayFilters", "hint", "let"); err != nil {
		return nil, err
	}
	q, _, err := argDoc(req, "query")
	if err != nil {
		return nil, err
	}
	if q == nil {
		q = bson.D{}
	}
	sortSpec, _, err := argDoc(req, "sort")
	if err != nil {
		return nil, err
	}
	fields, _, err := argDoc(req, "fields")
	if err != nil {
		return nil, err
	}
	remove, err := argBool(req, "remove")
	if err != nil {
		return nil, err
	}
	returnNew, err := argBool(req, "new")
	if err != nil {
		return nil, err
	}
	upsert, err := argBool(req, "upsert")
	if err != nil {
		return nil, err
	}
	uSpec, hasUpdate := req.Arg("update")
	switch {
	case remove && hasUpdate:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both an update and remove=true")
	case !remove && !hasUpdate:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Either an update or remove=true must be specified")
	case remove && returnNew:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both new=true and remove=true; 'remove' always returns the deleted document")
	case remove && upsert:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both upsert=true and remove=true ")
	}
	opts, _, err := writeOptions(req)
	if err != nil {
		return nil, err
	}
	vars, err := letVars(req)
	if err != nil {
		return nil, err
	}
	var proj *query.Projection
	if len(fields) > 0 {
		if proj, err = query.NewProjection(fields, &query.Options{Vars: vars}); err != nil {
			return nil, err
		}
	}
	var stmt *updateStmt
	if !remove {
		stmtDoc := bson.D{{Key: "q", Value: q}, {Key: "u", Value: uSpec}, {Key: "upsert", Value: upsert}}
		if h, ok := req.Arg("hint"); ok {
			stmtDoc = append(stmtDoc, bson.E{Key: "hint", Value: h})
		}
		if af, ok := req.Arg("arrayFilters"); ok {
			stmtDoc = append(stmtDoc, bson.E{Key: "arrayFilters", Value: af})
		}
		if c, ok := req.Arg("collation"); ok {
			stmtDoc = append(stmtDoc, bson.E{Key: "collation", Value: c})
		}
		if stmt, err = parseUpdateStmt(req.Name, stmtDoc, vars); err != nil {
			return nil, err
		}
		if stmt.bypass, err = argBool(req, "bypassDocumentValidation"); err != nil {
			return nil, err
		}
	}
	coll8n, err := parseCollationArg(req)
	if err != nil {
		return nil, err
	}
	var value any = nil
	var leo bson.D
	err = writeColl(ctx, env, req.DB, name, upsert, opts, func(w *catalog.Writer, coll *catalog.Collection) error {
		value, leo = nil, nil
		var out bson.D
		if remove {
			n, docs, err := runDelete(w, coll, &deleteStmt{q: q, limit: 1, hint: hintArg(req), collation: coll8n}, sortSpec, vars)
			if err != nil {
				return err
			}
			leo = bson.D{{Key: "n", Value: int32(n)}}
			if n > 0 {
				out = docs[0].D
			}
		} else {
			res, err := runUpdate(w, coll, stmt, sortSpec, true)
			if err != nil {
				return err
			}
			if res.upsertedID != nil {
				leo = bson.D{{Key: "n", Value: int32(1)}, {Key: "updatedExisting", Value: false}, {Key: "upserted", Value: res.upsertedID}}
				if returnNew {
					out = res.after
				}
			} else {
				leo = bson.D{{Key: "n", Value: int32(res.matched)}, {Key: "updatedExisting", Value: res.matched > 0}}
				if returnNew {
					out = res.after
				} else {
					out = res.before
				}
			}
		}
		if out != nil {
			if proj != nil {
				p, err := proj.Apply(out, -1)
				if err != nil {
					return err
				}
				out = p
			}
			value = out
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	_ = bsonutil.Missing
	_ = update.Replacement
	return bson.D{{Key: "lastErrorObject", Value: leo}, {Key: "value", Value: value}}, nil
}
