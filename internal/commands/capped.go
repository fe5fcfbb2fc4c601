package commands

import (
	"context"
	"io"
	"math"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Capped collections.
//
// create {capped: true, size, max} makes a collection whose records are
// keyed by record id (internal/catalog/recordid.go): documents are kept in
// insertion order, and an insert that takes the collection past size bytes
// or max documents removes the oldest documents in the same write.
// Updates (growing documents included) and deletes are allowed, as in
// MongoDB 5.0+. Tailable cursors are in tailable.go.

func init() {
	Register(&Command{Name: "convertToCapped", Help: "convert a collection to a capped collection", Handler: convertToCappedCmd})
	Register(&Command{Name: "cloneCollectionAsCapped", Help: "copy a collection into a new capped collection", Handler: cloneCollectionAsCappedCmd})
}

// layoutOptions are the create options that choose a record layout:
// capped collections (capped, size, max) and time series collections
// (timeseries). createCmd collects them for applyLayout.
var layoutOptions = map[string]bool{"capped": true, "size": true, "max": true, "timeseries": true}

// maxCappedSize is the largest capped size MongoDB accepts (1 PB).
const maxCappedSize = 1 << 50

// cappedSize reads a capped size option (create's or convertToCapped's
// size) and rounds it up to a multiple of 256 bytes, as the manual says
// MongoDB does.
func cappedSize(cmd string, v any) (int64, error) {
	f, ok := bsonutil.ToFloat64(v)
	if !ok {
		return 0, fieldErr(cmd, "size", "long", v)
	}
	if math.IsNaN(f) || f < 1 {
		return 0, mongoerr.Newf(mongoerr.Code(51024), "BSON field '%s.size' value must be >= 1, actual value '%s'", cmd, bsonutil.Format(v))
	}
	if f > maxCappedSize {
		return 0, mongoerr.Newf(mongoerr.Code(51024), "BSON field '%s.size' value must be <= %d, actual value '%s'", cmd, int64(maxCappedSize), bsonutil.Format(v))
	}
	n := int64(math.Ceil(f))
	return (n + 255) &^ 255, nil
}

// mongoNumber returns n as MongoDB's appendNumber stores a long: an int32
// when small, else an int64.
func mongoNumber(n int64) any {
	if n > -(1<<30) && n < 1<<30 {
		return int32(n)
	}
	return n
}

// applyLayout reads the layout options createCmd collected into copts: the
// record layout and the options listCollections reports (capped, size and
// max first, as MongoDB lists them; timeseries with its defaults filled
// in).
func applyLayout(copts *catalog.CreateOptions, layout bson.D) error {
	var capped, hasSize bool
	var size, maxDocs int64
	var ts any
	for _, e := range layout {
		switch e.Key {
		case "capped":
			switch e.Value.(type) {
			case bool, int32, int64, float64, bson.Decimal128:
				capped = bsonutil.IsTruthy(e.Value)
			default:
				return fieldErr("create", "capped", "bool", e.Value)
			}
		case "size":
			n, err := cappedSize("create", e.Value)
			if err != nil {
				return err
			}
			size, hasSize = n, true
		case "max":
			f, ok := bsonutil.ToFloat64(e.Value)
			if !ok {
				return fieldErr("create", "max", "long", e.Value)
			}
			if f >= 1<<31 {
				return mongoerr.Newf(mongoerr.Code(51024), "BSON field 'create.max' value must be < 2147483648, actual value '%s'", bsonutil.Format(e.Value))
			}
			maxDocs = max(int64(f), 0) // zero or negative: no document limit
		case "timeseries":
			ts = e.Value
		}
	}
	if ts != nil {
		if capped {
			return mongoerr.New(mongoerr.InvalidOptions, "a time series collection cannot be capped")
		}
		return applyTimeseries(copts, ts)
	}
	if !capped {
		return nil // size and max only matter for capped collections
	}
	if !hasSize {
		return mongoerr.New(mongoerr.InvalidOptions, "the 'size' field is required when 'capped' is true")
	}
	if copts.IDIndexSpec != nil {
		return mongoerr.New(mongoerr.InvalidOptions, "a clustered collection cannot be capped")
	}
	copts.Capped = &catalog.CappedLimits{Size: size, Max: maxDocs}
	opts := bson.D{{Key: "capped", Value: true}, {Key: "size", Value: mongoNumber(size)}}
	if maxDocs > 0 {
		opts = append(opts, bson.E{Key: "max", Value: mongoNumber(maxDocs)})
	}
	copts.Options = append(opts, copts.Options...)
	return nil
}

// withCappedStats sets the capped fields of a collStats reply (or of
// $collStats' storageStats): capped, and for a capped collection max and
// maxSize (scaled) after it.
func withCappedStats(coll *catalog.Collection, scale int64, d bson.D) bson.D {
	limits, ok := coll.Capped()
	if !ok {
		return d
	}
	out := make(bson.D, 0, len(d)+2)
	for _, e := range d {
		if e.Key != "capped" {
			out = append(out, e)
			continue
		}
		out = append(out, bson.E{Key: "capped", Value: true},
			bson.E{Key: "max", Value: limits.Max},
			bson.E{Key: "maxSize", Value: limits.Size / max(scale, 1)})
	}
	return out
}

// naturalSort turns a find sort of {$natural: 1 | -1} (natural order:
// insertion order for capped and time series collections, _id order for
// others) into the equivalent hint, which the planner understands.
func naturalSort(q *planner.Query) error {
	if len(q.Sort) == 0 || q.Sort[0].Key != "$natural" {
		return nil
	}
	f, ok := bsonutil.ToFloat64(q.Sort[0].Value)
	if len(q.Sort) != 1 || !ok || (f != 1 && f != -1) {
		return mongoerr.New(mongoerr.BadValue, "$natural sort must be the only sort field, with value 1 or -1")
	}
	natural := bson.D{{Key: "$natural", Value: int32(f)}}
	switch h := q.Hint.(type) {
	case nil:
		q.Hint = natural
	case bson.D:
		if len(h) == 0 {
			q.Hint = natural
		} else if h[0].Key != "$natural" {
			return mongoerr.New(mongoerr.BadValue, "a $natural sort cannot be combined with an index hint")
		}
	default:
		if s, isStr := h.(string); isStr && s == "" {
			q.Hint = natural
		} else {
			return mongoerr.New(mongoerr.BadValue, "a $natural sort cannot be combined with an index hint")
		}
	}
	q.Sort = nil
	return nil
}

// outTargetAllowed refuses $out into a capped or time series collection,
// as MongoDB does (Cairn cannot give the replacement the target's layout).
func outTargetAllowed(target *catalog.Collection) error {
	if target == nil {
		return nil
	}
	if _, ok := target.Capped(); ok {
		return mongoerr.Newf(mongoerr.Code(17152), "namespace '%s' is capped so it can't be used for $out", target.NS())
	}
	if target.TimeField() != "" {
		return mongoerr.Newf(mongoerr.NotImplemented, "$out to a time-series collection is not supported (%s)", target.NS())
	}
	return nil
}

// copyCapped creates the capped collection db.to and copies db.from's
// documents into it in natural order (the oldest are evicted if they do
// not all fit). Secondary indexes are not copied, as in MongoDB.
func copyCapped(ctx context.Context, env *Env, db, from, to string, size int64) error {
	src := env.Catalog.Collection(db, from)
	if src == nil {
		return mongoerr.Newf(mongoerr.NamespaceNotFound, "source collection %s.%s does not exist", db, from)
	}
	if src.TimeField() != "" {
		return mongoerr.Newf(mongoerr.IllegalOperation, "cannot make a capped collection of the time series collection %s", src.NS())
	}
	copts := catalog.CreateOptions{
		Capped:  &catalog.CappedLimits{Size: size},
		Options: bson.D{{Key: "capped", Value: true}, {Key: "size", Value: mongoNumber(size)}},
	}
	if _, err := env.Catalog.Create(ctx, db, to, copts); err != nil {
		return err
	}
	snap, err := env.Catalog.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Close()
	it, err := snap.Scan(src, false)
	if err != nil {
		return err
	}
	defer it.Close()
	return writeColl(ctx, env, db, to, false, storageOpts{}, func(w *catalog.Writer, coll *catalog.Collection) error {
		if coll == nil {
			return mongoerr.Newf(mongoerr.NamespaceNotFound, "collection %s.%s was dropped during the copy", db, to)
		}
		for {
			raw, err := it.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			doc, err := bsonutil.Decode(raw)
			if err != nil {
				return err
			}
			if err := w.Insert(coll, doc); err != nil {
				return err
			}
		}
	})
}

func cappedCommandSize(req *Request) (int64, error) {
	v, ok := req.Arg("size")
	if !ok {
		return 0, mongoerr.Newf(mongoerr.Code(40414), "BSON field '%s.size' is missing but a required field", req.Name)
	}
	return cappedSize(req.Name, v)
}

func cloneCollectionAsCappedCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	from, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, "toCollection", "size", "temp"); err != nil {
		return nil, err
	}
	toV, ok := req.Arg("toCollection")
	if !ok {
		return nil, mongoerr.Newf(mongoerr.Code(40414), "BSON field '%s.toCollection' is missing but a required field", req.Name)
	}
	to, ok := toV.(string)
	if !ok {
		return nil, fieldErr(req.Name, "toCollection", "string", toV)
	}
	if err := catalog.ValidateCollName(req.DB, to); err != nil {
		return nil, err
	}
	size, err := cappedCommandSize(req)
	if err != nil {
		return nil, err
	}
	if env.Catalog.Collection(req.DB, to) != nil {
		return nil, mongoerr.Newf(mongoerr.NamespaceExists, "Collection %s.%s already exists.", req.DB, to)
	}
	if err := copyCapped(ctx, env, req.DB, from, to, size); err != nil {
		return nil, err
	}
	return bson.D{}, nil
}

func convertToCappedCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, "size"); err != nil {
		return nil, err
	}
	size, err := cappedCommandSize(req)
	if err != nil {
		return nil, err
	}
	if env.Catalog.Collection(req.DB, name) == nil {
		return nil, mongoerr.Newf(mongoerr.NamespaceNotFound, "source collection %s.%s does not exist", req.DB, name)
	}
	tmp := "tmp.convertToCapped." + name
	if env.Catalog.Collection(req.DB, tmp) != nil {
		if _, err := env.Catalog.Drop(ctx, req.DB, tmp); err != nil {
			return nil, err
		}
	}
	if err := copyCapped(ctx, env, req.DB, name, tmp, size); err != nil {
		_, _ = env.Catalog.Drop(ctx, req.DB, tmp)
		return nil, err
	}
	if err := env.Catalog.Rename(ctx, req.DB, tmp, req.DB, name, true); err != nil {
		_, _ = env.Catalog.Drop(ctx, req.DB, tmp)
		return nil, err
	}
	return bson.D{}, nil
}
