package commands

import (
	"context"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "create", Help: "create a collection", Handler: createCmd})
	Register(&Command{Name: "drop", Help: "drop a collection", Handler: dropCmd})
	Register(&Command{Name: "dropDatabase", Help: "drop a database", Handler: dropDatabaseCmd})
	Register(&Command{Name: "listCollections", Help: "list collections", Handler: listCollectionsCmd})
	Register(&Command{Name: "listDatabases", Help: "list databases", AdminOnly: true, Handler: listDatabasesCmd})
	Register(&Command{Name: "renameCollection", Help: "rename a collection", AdminOnly: true, Handler: renameCollectionCmd})
	Register(&Command{Name: "collMod", Help: "modify collection options", Handler: collModCmd})
}

// createOptions are the create command's options Cairn stores and reports.
var createOptions = map[string]bool{
	"validator": true, "validationLevel": true, "validationAction": true, "storageEngine": true,
	"indexOptionDefaults": true, "changeStreamPreAndPostImages": true, "expireAfterSeconds": true,
	"idIndex": true, "autoIndexId": true, "flags": true, "encryptedFields": true,
}

// unsupportedCreate are create options Cairn refuses rather than ignore.
var unsupportedCreate = map[string]string{
	"capped": "capped collections", "size": "capped collections", "max": "capped collections",
	"timeseries": "time series collections",
}

// clusteredIndexSpec validates create's clusteredIndex option. Cairn keeps
// every collection's records in _id order, so a collection clustered by
// _id needs nothing more than reporting it. It returns the option as
// listCollections shows it and the index as listIndexes shows it.
func clusteredIndexSpec(v any) (opt, ix bson.D, err error) {
	d, ok := v.(bson.D)
	if !ok {
		return nil, nil, fieldErr("create", "clusteredIndex", "object", v)
	}
	name := "_id_"
	var key bson.D
	unique := false
	for _, e := range d {
		switch e.Key {
		case "key":
			key, _ = e.Value.(bson.D)
		case "unique":
			unique = bsonutil.IsTruthy(e.Value)
		case "name":
			s, ok := e.Value.(string)
			if !ok {
				return nil, nil, fieldErr("create", "clusteredIndex.name", "string", e.Value)
			}
			name = s
		case "v":
		default:
			return nil, nil, mongoerr.Newf(mongoerr.Code(40415), "BSON field 'clusteredIndex.%s' is an unknown field.", e.Key)
		}
	}
	if len(key) != 1 || key[0].Key != "_id" || !bsonutil.Equal(key[0].Value, int32(1)) {
		return nil, nil, mongoerr.New(mongoerr.InvalidIndexSpecificationOption, "The clusteredIndex option requires the key pattern {_id: 1}")
	}
	if !unique {
		return nil, nil, mongoerr.New(mongoerr.Code(5979700), "The clusteredIndex option requires unique: true")
	}
	opt = bson.D{{Key: "v", Value: int32(2)}, {Key: "key", Value: key}, {Key: "name", Value: name}, {Key: "unique", Value: true}}
	ix = bson.D{{Key: "v", Value: int32(2)}, {Key: "key", Value: key}, {Key: "name", Value: name}, {Key: "unique", Value: true}, {Key: "clustered", Value: true}}
	return opt, ix, nil
}

func createCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if isViewCreate(req) {
		return createView(ctx, env, req, name)
	}
	var opts, idSpec, layout bson.D
	for _, e := range req.Body[1:] {
		switch {
		case genericFields[e.Key]:
		case layoutOptions[e.Key]: // capped and time series: applyLayout
			layout = append(layout, e)
		case e.Key == "clusteredIndex":
			opt, ix, err := clusteredIndexSpec(e.Value)
			if err != nil {
				return nil, err
			}
			opts, idSpec = append(opts, bson.E{Key: e.Key, Value: opt}), ix
		case e.Key == "collation":
			c, err := parseCollationValue(req.Name, e.Key, e.Value)
			if err != nil {
				return nil, err
			}
			if c != nil {
				return nil, mongoerr.New(mongoerr.NotImplemented, "Cairn does not support a collection default collation yet; pass collation on each operation")
			}
		case unsupportedCreate[e.Key] != "":
			if e.Key == "capped" && !bsonutil.IsTruthy(e.Value) {
				continue
			}
			return nil, mongoerr.Newf(mongoerr.NotImplemented, "Cairn does not support %s yet (option '%s')", unsupportedCreate[e.Key], e.Key)
		case createOptions[e.Key]:
			if e.Key == "validator" {
				if err := validateValidatorSpec(e.Value); err != nil {
					return nil, err
				}
			}
			opts = append(opts, e)
		default:
			return nil, mongoerr.Newf(mongoerr.Code(40415), "BSON field 'create.%s' is an unknown field.", e.Key)
		}
	}
	copts := catalog.CreateOptions{Options: opts, IDIndexSpec: idSpec}
	if err := applyLayout(&copts, layout); err != nil {
		return nil, err
	}
	if existing := env.Catalog.Collection(req.DB, name); existing != nil {
		if bsonutil.Equal(existing.Options, orEmpty(copts.Options)) {
			return bson.D{}, nil
		}
		return nil, mongoerr.Newf(mongoerr.NamespaceExists, "Collection %s.%s already exists.", req.DB, name)
	}
	if _, err := env.Catalog.Create(ctx, req.DB, name, copts); err != nil {
		if mongoerr.Is(err, mongoerr.NamespaceExists) {
			return nil, err
		}
		return nil, err
	}
	return bson.D{}, nil
}

func orEmpty(d bson.D) bson.D {
	if d == nil {
		return bson.D{}
	}
	return d
}

func dropCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if viewNamespace(env, req.DB, name) {
		return dropView(ctx, env, req.DB, name)
	}
	coll := env.Catalog.Collection(req.DB, name)
	if coll == nil {
		return bson.D{}, nil
	}
	nIndexes := len(coll.Indexes)
	if _, err := env.Catalog.Drop(ctx, req.DB, name); err != nil {
		return nil, err
	}
	return bson.D{{Key: "nIndexesWas", Value: int32(nIndexes)}, {Key: "ns", Value: coll.NS()}}, nil
}

func dropDatabaseCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	if err := catalog.ValidateDBName(req.DB); err != nil {
		return nil, err
	}
	if err := env.Catalog.DropDatabase(ctx, req.DB); err != nil {
		return nil, err
	}
	return bson.D{{Key: "dropped", Value: req.DB}}, nil
}

func collectionInfo(coll *catalog.Collection, nameOnly bool) bson.D {
	if info, ok := timeseriesInfo(coll, nameOnly); ok {
		return info
	}
	if nameOnly {
		return bson.D{{Key: "name", Value: coll.Name}, {Key: "type", Value: "collection"}}
	}
	info := bson.D{
		{Key: "name", Value: coll.Name},
		{Key: "type", Value: "collection"},
		{Key: "options", Value: orEmpty(coll.Options)},
		{Key: "info", Value: bson.D{{Key: "readOnly", Value: false}, {Key: "uuid", Value: coll.UUID}}},
	}
	// A clustered collection has no separate _id index to report.
	if bsonutil.IsMissing(bsonutil.Get(coll.Options, "clusteredIndex")) {
		info = append(info, bson.E{Key: "idIndex", Value: catalog.IDIndexSpec()})
	}
	return info
}

func listCollectionsCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	if err := checkFields(req, "filter", "nameOnly", "authorizedCollections", "cursor", "includePendingDrops"); err != nil {
		return nil, err
	}
	if err := catalog.ValidateDBName(req.DB); err != nil {
		return nil, err
	}
	filter, _, err := argDoc(req, "filter")
	if err != nil {
		return nil, err
	}
	nameOnly, err := argBool(req, "nameOnly")
	if err != nil {
		return nil, err
	}
	var batchSize int64
	if c, ok, err := argDoc(req, "cursor"); err != nil {
		return nil, err
	} else if ok {
		if v := bsonutil.Get(c, "batchSize"); !bsonutil.IsMissing(v) {
			n, ok := bsonutil.ToInt64(v)
			if !ok || n < 0 {
				return nil, mongoerr.New(mongoerr.BadValue, "cursor.batchSize must be a non-negative integer")
			}
			batchSize = n
		}
	}
	m, err := query.NewMatcher(filter, nil)
	if err != nil {
		return nil, err
	}
	var docs []bson.Raw
	for _, coll := range env.Catalog.Collections(req.DB) {
		full := collectionInfo(coll, false)
		ok, err := m.Match(full)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		b, err := bson.Marshal(collectionInfo(coll, nameOnly))
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	if docs, err = appendViewInfos(env, req.DB, m, nameOnly, docs); err != nil {
		return nil, err
	}
	cur := &Cursor{NS: req.DB + ".$cmd.listCollections", Iter: &rawSliceIter{docs: docs}}
	if batchSize == 0 {
		batchSize = int64(len(docs)) + 1
	}
	return firstBatch(env, cur, batchSize, false, nil)
}

type rawSliceIter struct {
	docs []bson.Raw
	i    int
}

func (r *rawSliceIter) Next() (bson.Raw, error) {
	if r.i >= len(r.docs) {
		return nil, errEOF
	}
	r.i++
	return r.docs[r.i-1], nil
}

func (r *rawSliceIter) Close() error { return nil }

func listDatabasesCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	if err := checkFields(req, "filter", "nameOnly", "authorizedDatabases"); err != nil {
		return nil, err
	}
	filter, _, err := argDoc(req, "filter")
	if err != nil {
		return nil, err
	}
	nameOnly, err := argBool(req, "nameOnly")
	if err != nil {
		return nil, err
	}
	m, err := query.NewMatcher(filter, nil)
	if err != nil {
		return nil, err
	}
	dbs := bson.A{}
	var total int64
	for _, db := range env.Catalog.Databases() {
		size, err := dbSize(env, db)
		if err != nil {
			return nil, err
		}
		d := bson.D{{Key: "name", Value: db}, {Key: "sizeOnDisk", Value: size}, {Key: "empty", Value: size == 0}}
		ok, err := m.Match(d)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		total += size
		if nameOnly {
			d = bson.D{{Key: "name", Value: db}}
		}
		dbs = append(dbs, d)
	}
	if nameOnly {
		return bson.D{{Key: "databases", Value: dbs}}, nil
	}
	return bson.D{{Key: "databases", Value: dbs}, {Key: "totalSize", Value: total}, {Key: "totalSizeMb", Value: total / (1024 * 1024)}}, nil
}

func splitNS(s string) (db, coll string, ok bool) {
	i := strings.IndexByte(s, '.')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func renameCollectionCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	from, ok := req.Body[0].Value.(string)
	if !ok {
		return nil, fieldErr(req.Name, "renameCollection", "string", req.Body[0].Value)
	}
	toV, ok := req.Arg("to")
	if !ok {
		return nil, mongoerr.New(mongoerr.Code(40414), "BSON field 'renameCollection.to' is missing but a required field")
	}
	to, ok := toV.(string)
	if !ok {
		return nil, fieldErr(req.Name, "to", "string", toV)
	}
	if err := checkFields(req, "to", "dropTarget", "stayTemp"); err != nil {
		return nil, err
	}
	dropTarget, err := argBool(req, "dropTarget")
	if err != nil {
		return nil, err
	}
	fdb, fcoll, ok1 := splitNS(from)
	tdb, tcoll, ok2 := splitNS(to)
	if !ok1 {
		return nil, mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid source namespace: %s", from)
	}
	if !ok2 {
		return nil, mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid target namespace: %s", to)
	}
	if err := env.Catalog.Rename(ctx, fdb, fcoll, tdb, tcoll, dropTarget); err != nil {
		return nil, err
	}
	return bson.D{}, nil
}

func collModCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if v := env.Catalog.View(req.DB, name); v != nil {
		return collModView(ctx, env, req, v)
	}
	coll := env.Catalog.Collection(req.DB, name)
	if coll == nil {
		return nil, mongoerr.Newf(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", req.DB, name)
	}
	opts := append(bson.D(nil), coll.Options...)
	for _, e := range req.Body[1:] {
		switch {
		case genericFields[e.Key]:
		case e.Key == "validator" || e.Key == "validationLevel" || e.Key == "validationAction" || e.Key == "changeStreamPreAndPostImages":
			if e.Key == "validator" {
				if err := validateValidatorSpec(e.Value); err != nil {
					return nil, err
				}
			}
			replaced := false
			for i := range opts {
				if opts[i].Key == e.Key {
					opts[i].Value, replaced = e.Value, true
				}
			}
			if !replaced {
				opts = append(opts, e)
			}
		case e.Key == "index" || e.Key == "dryRun":
			// Applied by collModIndex (collmod_index.go) below.
		case e.Key == "viewOn" || e.Key == "pipeline":
			return nil, mongoerr.Newf(mongoerr.InvalidOptions, "option only supported on a view: %s", e.Key)
		default:
			return nil, mongoerr.Newf(mongoerr.InvalidOptions, "Cairn does not support collMod option '%s' yet", e.Key)
		}
	}
	reply, dryRun, err := collModIndex(ctx, env, req, name)
	if err != nil || dryRun {
		return reply, err
	}
	if err := env.Catalog.SetOptions(ctx, req.DB, name, opts); err != nil {
		return nil, err
	}
	return reply, nil
}
