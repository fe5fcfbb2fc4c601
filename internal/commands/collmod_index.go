package commands

import (
	"context"
	"math"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// collMod's index option, as in MongoDB 7.0:
//
//	{collMod: coll, index: {keyPattern: {...} | name: "...", hidden, expireAfterSeconds,
//	 prepareUnique, unique}, dryRun}
//
// hidden toggles the index's visibility to the planner; expireAfterSeconds
// changes a TTL index (or makes a single-field index one); prepareUnique
// makes the index refuse new duplicate keys; unique: true (only after
// prepareUnique) converts it to a unique index if no two documents share a
// key, and otherwise fails with CannotConvertIndexToUnique (359) and a
// violations field listing the _ids of each group of duplicates. dryRun
// reports what unique: true would find without changing anything. The
// reply has the old and new values: expireAfterSeconds_old/_new,
// hidden_old/_new (only when it changes), unique_new,
// prepareUnique_old/_new (only when it changes).

// collModOtherMods are the collMod options that count as modifications
// besides the index option (prepareUnique must come alone).
var collModOtherMods = map[string]bool{
	"validator": true, "validationLevel": true, "validationAction": true, "changeStreamPreAndPostImages": true,
}

// collModIndex applies collMod's index and dryRun options. dryRun
// reports that the command was a dry run (nothing else may be applied).
func collModIndex(ctx context.Context, env *Env, req *Request, name string) (reply bson.D, dryRun bool, err error) {
	iv, hasIndex := req.Arg("index")
	if dryRun, err = argBool(req, "dryRun"); err != nil {
		return nil, false, err
	}
	if !hasIndex {
		if dryRun {
			return nil, false, mongoerr.New(mongoerr.InvalidOptions, "dry run mode requires an valid index modification.")
		}
		return bson.D{}, false, nil
	}
	spec, ok := iv.(bson.D)
	if !ok {
		return nil, false, fieldErr(req.Name, "index", "object", iv)
	}
	mod, err := parseIndexMod(req.Name, spec)
	if err != nil {
		return nil, false, err
	}
	if dryRun && (mod.Unique == nil || !*mod.Unique) {
		return nil, false, mongoerr.New(mongoerr.InvalidOptions, "dry run mode requires an index modification with unique: true.")
	}
	mod.DryRun = dryRun
	for _, e := range req.Body[1:] {
		if collModOtherMods[e.Key] {
			mod.OtherMods++
		}
	}
	res, err := env.Catalog.ModifyIndex(ctx, req.DB, name, mod)
	if err != nil {
		return nil, false, err
	}
	reply = bson.D{}
	if res.ExpireOld != nil {
		reply = append(reply, bson.E{Key: "expireAfterSeconds_old", Value: *res.ExpireOld})
	}
	if res.ExpireNew != nil {
		reply = append(reply, bson.E{Key: "expireAfterSeconds_new", Value: *res.ExpireNew})
	}
	if res.HiddenNew != nil {
		reply = append(reply, bson.E{Key: "hidden_old", Value: *res.HiddenOld}, bson.E{Key: "hidden_new", Value: *res.HiddenNew})
	}
	if res.UniqueNew {
		reply = append(reply, bson.E{Key: "unique_new", Value: true})
	}
	if res.PrepareUniqueNew != nil {
		reply = append(reply, bson.E{Key: "prepareUnique_old", Value: *res.PrepareUniqueOld}, bson.E{Key: "prepareUnique_new", Value: *res.PrepareUniqueNew})
	}
	return reply, dryRun, nil
}

// parseIndexMod parses collMod's index document.
func parseIndexMod(cmd string, spec bson.D) (catalog.IndexMod, error) {
	var mod catalog.IndexMod
	hasName, hasKey := false, false
	boolOpt := func(e bson.E) (*bool, error) {
		switch e.Value.(type) {
		case bool, int32, int64, float64, bson.Decimal128:
			b := bsonutil.IsTruthy(e.Value)
			return &b, nil
		}
		return nil, fieldErr(cmd+".index", e.Key, "bool", e.Value)
	}
	for _, e := range spec {
		var err error
		switch e.Key {
		case "name":
			s, ok := e.Value.(string)
			if !ok {
				return mod, fieldErr(cmd+".index", "name", "string", e.Value)
			}
			mod.Name, hasName = s, true
		case "keyPattern":
			d, ok := e.Value.(bson.D)
			if !ok {
				return mod, fieldErr(cmd+".index", "keyPattern", "object", e.Value)
			}
			mod.KeyPattern, hasKey = d, true
		case "expireAfterSeconds":
			n, err := expireAfterSecondsArg(cmd, e.Value)
			if err != nil {
				return mod, err
			}
			mod.ExpireAfterSeconds = &n
		case "hidden":
			mod.Hidden, err = boolOpt(e)
		case "prepareUnique":
			mod.PrepareUnique, err = boolOpt(e)
		case "unique":
			mod.Unique, err = boolOpt(e)
		default:
			return mod, mongoerr.Newf(mongoerr.Code(40415), "BSON field '%s.index.%s' is an unknown field.", cmd, e.Key)
		}
		if err != nil {
			return mod, err
		}
	}
	switch {
	case hasName && hasKey:
		return mod, mongoerr.New(mongoerr.InvalidOptions, "Cannot specify both key pattern and name.")
	case !hasName && !hasKey:
		return mod, mongoerr.New(mongoerr.InvalidOptions, "Must specify either index name or key pattern.")
	case mod.ExpireAfterSeconds == nil && mod.Hidden == nil && mod.PrepareUnique == nil && mod.Unique == nil:
		return mod, mongoerr.New(mongoerr.InvalidOptions, "no expireAfterSeconds, hidden, unique, or prepareUnique field")
	}
	return mod, nil
}

// expireAfterSecondsArg validates a TTL index's expireAfterSeconds.
func expireAfterSecondsArg(cmd string, v any) (int64, error) {
	var n int64
	switch x := v.(type) {
	case int32, int64:
		n, _ = bsonutil.ToInt64(x)
	case float64:
		if math.IsNaN(x) {
			return 0, mongoerr.New(mongoerr.InvalidOptions, "TTL index 'expireAfterSeconds' option must be a number, got NaN")
		}
		n = int64(math.Max(math.Min(x, math.MaxInt64), math.MinInt64))
	case bson.Decimal128:
		f, _ := bsonutil.ToFloat64(x)
		n = int64(math.Max(math.Min(f, math.MaxInt64), math.MinInt64))
	default:
		return 0, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field '%s.index.expireAfterSeconds' is the wrong type '%s', expected types '[long, int, decimal, double]'", cmd, bsonutil.TypeName(v))
	}
	if n < 0 {
		return 0, mongoerr.New(mongoerr.InvalidOptions, "TTL index 'expireAfterSeconds' option cannot be less than 0")
	}
	if n > catalog.MaxTTLExpireAfterSeconds {
		return 0, mongoerr.New(mongoerr.InvalidOptions, "TTL index 'expireAfterSeconds' option must be within an acceptable range, try a lower number")
	}
	return n, nil
}
