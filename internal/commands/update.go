package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/collation"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"github.com/cairndb/cairn/internal/update"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "update", Help: "update documents", Handler: updateCmd})
}

// updateStmt is one parsed entry of the update command's "updates".
type updateStmt struct {
	q      bson.D
	u      *update.Update
	multi  bool
	upsert bool
	vars   *expr.Vars
	hint   any // index hint, passed to the planner
	bypass bool
	// collation is the statement's collation (nil: simple).
	collation *collation.Collation
}

func parseUpdateStmt(cmd string, d bson.D, vars *expr.Vars) (*updateStmt, error) {
	s := &updateStmt{vars: vars}
	var uSpec any
	var arrayFilters []bson.D
	hasU := false
	for _, e := range d {
		switch e.Key {
		case "q":
			q, ok := e.Value.(bson.D)
			if !ok {
				return nil, idl(fieldErr(cmd+".updates", "q", "object", e.Value))
			}
			s.q = q
		case "u":
			uSpec, hasU = e.Value, true
		case "multi":
			s.multi = bsonutil.IsTruthy(e.Value)
		case "upsert":
			s.upsert = bsonutil.IsTruthy(e.Value)
		case "arrayFilters":
			a, ok := e.Value.(bson.A)
			if !ok {
				return nil, idl(fieldErr(cmd+".updates", "arrayFilters", "array", e.Value))
			}
			for _, f := range a {
				fd, ok := f.(bson.D)
				if !ok {
					return nil, mongoerr.New(mongoerr.TypeMismatch, "arrayFilters must be an array of objects")
				}
				arrayFilters = append(arrayFilters, fd)
			}
		case "collation":
			c, err := parseCollationValue(cmd+".updates", "collation", e.Value)
			if err != nil {
				return nil, err
			}
			s.collation = c
		case "hint":
			s.hint = e.Value
		case "upsertSupplied":
		case "c":
			c, ok := e.Value.(bson.D)
			if !ok {
				return nil, idl(fieldErr(cmd+".updates", "c", "object", e.Value))
			}
			for _, ce := range c {
				s.vars = s.vars.With(ce.Key, ce.Value)
			}
		default:
			return nil, idl(mongoerr.Newf(mongoerr.Code(40415), "BSON field '%s.updates.%s' is an unknown field.", cmd, e.Key))
		}
	}
	if s.q == nil {
		return nil, idl(mongoerr.Newf(mongoerr.Code(40414), "BSON field '%s.updates.q' is missing but a required field", cmd))
	}
	if !hasU {
		return nil, idl(mongoerr.Newf(mongoerr.Code(40414), "BSON field '%s.updates.u' is missing but a required field", cmd))
	}
	switch uSpec.(type) {
	case bson.D, bson.A:
	default:
		return nil, mongoerr.Newf(mongoerr.FailedToParse, "Update argument must be either an object or an array")
	}
	u, err := update.Parse(uSpec, &update.Options{ArrayFilters: arrayFilters, Vars: s.vars, Collation: s.collation})
	if err != nil {
		return nil, err
	}
	if s.multi && u.Kind() == update.Replacement {
		return nil, mongoerr.New(mongoerr.FailedToParse, "multi update is not supported for replacement-style update")
	}
	s.u = u
	return s, nil
}

// updateResult is the outcome of one update statement.
type updateResult struct {
	matched, modified int
	upsertedID        any // nil if no upsert happened
	before, after     bson.D
}

// runUpdate applies one statement inside w. sort and limitOne serve
// findAndModify.
func runUpdate(w *catalog.Writer, coll *catalog.Collection, s *updateStmt, sort bson.D, wantDocs bool) (updateResult, error) {
	var res updateResult
	now := bson.NewDateTimeFromTime(time.Now())
	v, err := newValidator(coll, s.bypass)
	if err != nil {
		return res, err
	}
	if coll != nil {
		q := &planner.Query{Filter: s.q, Sort: sort, Vars: s.vars, Hint: s.hint, Collation: s.collation}
		if !s.multi {
			q.Limit = 1
		}
		// An update that only sets top-level fields no index reads, on a
		// collection without a validator, edits the stored bytes (see
		// update.ApplyRaw) unless the plan had to decode the document.
		raw := !wantDocs && v == nil && coll.RawReplaceable(s.u.RawFields())
		var docs []planner.Doc
		if raw {
			docs, err = planner.MatchesRaw(w, coll, q)
		} else {
			docs, err = planner.Matches(w, coll, q)
		}
		if err != nil {
			return res, err
		}
		for _, d := range docs {
			res.matched++
			if raw {
				nraw, modified, err := s.u.ApplyRaw(d.Raw)
				if err != nil {
					return res, fmt.Errorf("update: stored document: %w", err)
				}
				if modified {
					if err := w.ReplaceRaw(coll, d.Raw, nraw); err != nil {
						return res, err
					}
					res.modified++
				}
				continue
			}
			nd, modified, err := s.u.Apply(d.D, &update.ApplyContext{MatchPos: d.MatchPos, Now: now})
			if err != nil {
				return res, err
			}
			if wantDocs {
				res.before, res.after = d.D, nd
			}
			if !modified {
				continue
			}
			if err := validateStoredFieldNames(nd); err != nil {
				return res, err
			}
			if err := v.check(nd, d.D); err != nil {
				return res, err
			}
			if err := w.Replace(coll, d.Raw, d.D, nd); err != nil {
				return res, err
			}
			res.modified++
		}
	}
	if res.matched > 0 || !s.upsert {
		return res, nil
	}
	if coll == nil {
		return res, mongoerr.New(mongoerr.NamespaceNotFound, "collection vanished during upsert")
	}
	seed, err := update.UpsertSeed(s.q)
	if err != nil {
		return res, err
	}
	nd, _, err := s.u.Apply(seed, &update.ApplyContext{MatchPos: -1, Inserting: true, Now: now})
	if err != nil {
		return res, err
	}
	nd, err = catalog.PrepareInsert(nd)
	if err != nil {
		return res, err
	}
	if err := validateStoredFieldNames(nd); err != nil {
		return res, err
	}
	if err := v.check(nd, nil); err != nil {
		return res, err
	}
	if err := w.Insert(coll, nd); err != nil {
		return res, err
	}
	res.upsertedID = nd[0].Value
	if wantDocs {
		res.after = nd
	}
	return res, nil
}

func updateCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseViewWrite(env, req.DB, name); err != nil {
		return nil, err
	}
	if err := checkFields(req, "updates", "ordered", "bypassDocumentValidation", "let"); err != nil {
		return nil, err
	}
	stmts, err := docsArg(req, "updates")
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
	bypass, err := argBool(req, "bypassDocumentValidation")
	if err != nil {
		return nil, err
	}
	if len(stmts) == 0 {
		return nil, mongoerr.New(mongoerr.InvalidLength, "Write batch sizes must be between 1 and 100000. Got 0 operations.")
	}
	create := false
	parsed := make([]*updateStmt, len(stmts))
	parseErrs := make([]error, len(stmts))
	for i, st := range stmts {
		parsed[i], parseErrs[i] = parseUpdateStmt(req.Name, st, vars)
		if isIDLError(parseErrs[i]) {
			return nil, parseErrs[i]
		}
		if parsed[i] != nil {
			parsed[i].bypass = bypass
			create = create || parsed[i].upsert
		}
	}
	var n, nModified int
	var upserted, writeErrs bson.A
	err = writeColl(ctx, env, req.DB, name, create, opts, func(w *catalog.Writer, coll *catalog.Collection) error {
		n, nModified, upserted, writeErrs = 0, 0, nil, nil
		for i, s := range parsed {
			err := parseErrs[i]
			var res updateResult
			if err == nil {
				res, err = runUpdate(w, coll, s, nil, false)
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
			n += res.matched
			nModified += res.modified
			if res.upsertedID != nil {
				n++
				upserted = append(upserted, bson.D{{Key: "index", Value: int32(i)}, {Key: "_id", Value: res.upsertedID}})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	reply := bson.D{{Key: "n", Value: int32(n)}}
	if len(upserted) > 0 {
		reply = append(reply, bson.E{Key: "upserted", Value: upserted})
	}
	reply = append(reply, bson.E{Key: "nModified", Value: int32(nModified)})
	if len(writeErrs) > 0 {
		reply = append(reply, bson.E{Key: "writeErrors", Value: writeErrs})
	}
	return reply, nil
}
