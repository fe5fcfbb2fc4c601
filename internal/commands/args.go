package commands

import (
	"errors"
	"fmt"
	"github.com/cairndb/cairn/internal/collation"
	"io"
	"math"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// genericFields are accepted on every command and ignored where they do
// not apply.
var genericFields = map[string]bool{
	"$db": true, "lsid": true, "$clusterTime": true, "txnNumber": true, "autocommit": true,
	"startTransaction": true, "$readPreference": true, "readConcern": true, "writeConcern": true,
	"comment": true, "maxTimeMS": true, "apiVersion": true, "apiStrict": true,
	"apiDeprecationErrors": true, "$audit": true, "$client": true, "$configServerState": true,
	"$gleStats": true, "$oplogQueryData": true, "$replData": true, "allowImplicitCollectionCreation": true,
	"mayBypassWriteBlocking": true, "$queryOptions": true, "readOnly": true, "omitCommandFromLogs": true,
}

// collName returns the collection named by the command's first field.
func collName(req *Request) (string, error) {
	v := req.Body[0].Value
	s, ok := v.(string)
	if !ok {
		return "", mongoerr.Newf(mongoerr.InvalidNamespace, "collection name has invalid type %s", bsonutil.TypeName(v))
	}
	if err := catalog.ValidateCollName(req.DB, s); err != nil {
		return "", err
	}
	return s, nil
}

// checkFields rejects fields that are neither generic nor in known.
func checkFields(req *Request, known ...string) error {
	for _, e := range req.Body[1:] {
		if genericFields[e.Key] {
			continue
		}
		found := false
		for _, k := range known {
			if k == e.Key {
				found = true
				break
			}
		}
		if !found {
			return mongoerr.Newf(mongoerr.Code(40415), "BSON field '%s.%s' is an unknown field.", req.Name, e.Key)
		}
	}
	return nil
}

func fieldErr(cmd, field, want string, v any) error {
	return mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.%s' is the wrong type '%s', expected type '%s'", cmd, field, bsonutil.TypeName(v), want)
}

func argDoc(req *Request, field string) (bson.D, bool, error) {
	v, ok := req.Arg(field)
	if !ok {
		return nil, false, nil
	}
	d, isD := v.(bson.D)
	if !isD {
		return nil, true, fieldErr(req.Name, field, "object", v)
	}
	return d, true, nil
}

func argBool(req *Request, field string) (bool, error) {
	v, ok := req.Arg(field)
	if !ok {
		return false, nil
	}
	switch v.(type) {
	case bool, int32, int64, float64, bson.Decimal128:
		return bsonutil.IsTruthy(v), nil
	case nil, bson.Null:
		return false, nil
	}
	return false, fieldErr(req.Name, field, "bool", v)
}

// argInt64 reads an integral numeric argument (doubles with an integral
// value are accepted, as MongoDB does).
func argInt64(req *Request, field string) (int64, bool, error) {
	v, ok := req.Arg(field)
	if !ok {
		return 0, false, nil
	}
	switch x := v.(type) {
	case nil, bson.Null:
		return 0, false, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, true, mongoerr.Newf(mongoerr.BadValue, "BSON field '%s.%s' must be a finite number", req.Name, field)
		}
		return int64(x), true, nil
	}
	n, isNum := bsonutil.ToInt64(v)
	if !isNum {
		if f, ok := bsonutil.ToFloat64(v); ok {
			return int64(f), true, nil
		}
		return 0, true, fieldErr(req.Name, field, "long", v)
	}
	return n, true, nil
}

// writeOptions derives storage options from writeConcern, as a
// standalone mongod acknowledges writes: j:true, and w:"majority" unless
// j is false, wait for the commit to be synced (on disk, as MongoDB waits
// for its journal); w:0 without j waits for nothing; everything else (no
// writeConcern, w:1, j:false) returns once the commit is written to the
// storage engine's log file, where it survives the process being killed
// and is synced within the engine's sync interval (MongoDB's journal
// commit interval). fsync:true waits like j:true, as it does on mongod.
// The bool reports an unacknowledged write (w:0).
func writeOptions(req *Request) (storage.UpdateOptions, bool, error) {
	wc, ok, err := argDoc(req, "writeConcern")
	if err != nil {
		return storage.UpdateOptions{}, false, err
	}
	if !ok {
		return storage.UpdateOptions{Written: true}, false, nil
	}
	w, j, fsync := bsonutil.Get(wc, "w"), bsonutil.Get(wc, "j"), bsonutil.Get(wc, "fsync")
	if err := checkWriteConcern(w, j, fsync); err != nil {
		return storage.UpdateOptions{}, false, err
	}
	switch {
	case bsonutil.IsTruthy(j), bsonutil.IsTruthy(fsync):
		return storage.UpdateOptions{}, false, nil
	case isW0(w):
		return storage.UpdateOptions{NoSync: true}, true, nil
	case w == "majority" && bsonutil.IsNullish(j):
		return storage.UpdateOptions{}, false, nil
	}
	return storage.UpdateOptions{Written: true}, false, nil
}

// maxW is the largest numeric w: the most members a replica set can
// have.
const maxW = 50

// checkWriteConcern refuses what mongod's write concern parser refuses
// (FailedToParse): j or fsync that is neither a boolean nor a number, both
// true at once, and a numeric w below 0 or above maxW. Other w values
// (strings, tags) are accepted, as they are on a standalone; a null j or
// fsync is taken as absent.
func checkWriteConcern(w, j, fsync any) error {
	if !bsonutil.IsNullish(j) && !bsonutil.IsBoolOrNumber(j) {
		return mongoerr.New(mongoerr.FailedToParse, "j must be numeric or a boolean value")
	}
	if !bsonutil.IsNullish(fsync) && !bsonutil.IsBoolOrNumber(fsync) {
		return mongoerr.New(mongoerr.FailedToParse, "fsync must be numeric or a boolean value")
	}
	if bsonutil.IsTruthy(j) && bsonutil.IsTruthy(fsync) {
		return mongoerr.New(mongoerr.FailedToParse, "fsync and j options cannot be used together")
	}
	if f, isNum := bsonutil.ToFloat64(w); isNum && (f < 0 || f > maxW) {
		return mongoerr.Newf(mongoerr.FailedToParse, "w has to be a non-negative number and not greater than %d", maxW)
	}
	return nil
}

func isW0(w any) bool {
	n, isNum := bsonutil.ToInt64(w)
	return isNum && n == 0
}

// letVars builds the variable scope from the command's "let" document.
func letVars(req *Request) (*expr.Vars, error) {
	vars := expr.NewVars(nil, bson.NewDateTimeFromTime(time.Now()))
	let, ok, err := argDoc(req, "let")
	if err != nil || !ok {
		return vars, err
	}
	for _, e := range let {
		ex, err := expr.Parse(e.Value)
		if err != nil {
			return nil, err
		}
		v, err := ex.Eval(vars)
		if err != nil {
			return nil, err
		}
		vars = vars.With(e.Key, v)
	}
	return vars, nil
}

// parseCollationArg parses a command's "collation" argument; nil means
// the simple collation.
func parseCollationArg(req *Request) (*collation.Collation, error) {
	v, ok := req.Arg("collation")
	if !ok {
		return nil, nil
	}
	return parseCollationValue(req.Name, "collation", v)
}

// parseCollationValue parses a collation document found at field.
func parseCollationValue(cmd, field string, v any) (*collation.Collation, error) {
	d, ok := v.(bson.D)
	if !ok {
		return nil, fieldErr(cmd, field, "object", v)
	}
	return collation.Parse(d)
}

// arrayArg reads a required array argument.
func arrayArg(req *Request, field string) (bson.A, error) {
	v, ok := req.Arg(field)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.Code(40414), "BSON field '%s.%s' is missing but a required field", req.Name, field)
	}
	a, isA := v.(bson.A)
	if !isA {
		return nil, fieldErr(req.Name, field, "array", v)
	}
	return a, nil
}

// docsArg reads an array-of-documents argument.
func docsArg(req *Request, field string) ([]bson.D, error) {
	a, err := arrayArg(req, field)
	if err != nil {
		return nil, err
	}
	out := make([]bson.D, len(a))
	for i, e := range a {
		d, isD := e.(bson.D)
		if !isD {
			return nil, docTypeErr(req, field, i, e)
		}
		out[i] = d
	}
	return out, nil
}

func docTypeErr(req *Request, field string, i int, v any) error {
	return mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.%s.%d' is the wrong type '%s', expected type 'object'", req.Name, field, i, bsonutil.TypeName(v))
}

// writeErrorDoc renders a per-document write error.
func writeErrorDoc(i int, err error) bson.D {
	me := mongoerr.As(err)
	d := bson.D{{Key: "index", Value: int32(i)}, {Key: "code", Value: int32(me.Code)}}
	for _, x := range me.Extra {
		d = append(d, bson.E{Key: x.Key, Value: x.Value})
	}
	return append(d, bson.E{Key: "errmsg", Value: me.Msg})
}

// isWriteError reports whether err is a per-document error (reported in
// writeErrors) rather than a command failure.
func isWriteError(err error) bool {
	var me *mongoerr.Error
	if e := mongoerr.As(err); e != nil {
		me = e
	}
	return me != nil && me.Code != mongoerr.InternalError
}

func drain(it interface{ Next() (bson.Raw, error) }) ([]bson.Raw, error) {
	var out []bson.Raw
	for {
		d, err := it.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
}

func ns(db, coll string) string { return fmt.Sprintf("%s.%s", db, coll) }

type storageOpts = storage.UpdateOptions

// idlError marks an error in a command's structure (an unknown or
// missing field, a field of the wrong type): it fails the whole command,
// where a per-statement error would be reported in writeErrors.
type idlError struct{ err error }

func (e idlError) Error() string { return e.err.Error() }
func (e idlError) Unwrap() error { return e.err }

func idl(err error) error { return idlError{err} }

// isIDLError reports whether err is a structural command error.
func isIDLError(err error) bool {
	var ie idlError
	return errors.As(err, &ie)
}
