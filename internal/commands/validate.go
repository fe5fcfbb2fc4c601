package commands

import (
	"context"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "validate", Help: "checks a collection's documents, indexes and statistics for consistency", Handler: validateCmd})
}

// validateCmd implements {validate: coll, full, repair, metadata,
// checkBSONConformance, background}. full and checkBSONConformance also
// re-validate every record's BSON; repair is refused (Cairn's writes are
// atomic, so there is nothing it could safely fix that validate finds
// without it being a bug); metadata and background are accepted and make
// no difference.
func validateCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := refuseView(env, req.DB, name); err != nil {
		return nil, err
	}
	if err := checkFields(req, "full", "repair", "metadata", "checkBSONConformance", "background", "scandata"); err != nil {
		return nil, err
	}
	full, err := argBool(req, "full")
	if err != nil {
		return nil, err
	}
	conformance, err := argBool(req, "checkBSONConformance")
	if err != nil {
		return nil, err
	}
	background, err := argBool(req, "background")
	if err != nil {
		return nil, err
	}
	repair, err := argBool(req, "repair")
	if err != nil {
		return nil, err
	}
	if _, err := argBool(req, "metadata"); err != nil {
		return nil, err
	}
	if background && full {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "Running the validate command with both { background: true } and { full: true } is not supported.")
	}
	if repair {
		return nil, mongoerr.New(mongoerr.NotImplemented, "Cairn does not support validate with { repair: true }")
	}
	coll := env.Catalog.Collection(req.DB, name)
	if coll == nil {
		return nil, mongoerr.Newf(mongoerr.NamespaceNotFound, "Collection '%s.%s' does not exist to validate.", req.DB, name)
	}
	res, err := env.Catalog.Validate(ctx, req.DB, name, catalog.ValidateOptions{Full: full || conformance})
	if err != nil {
		return nil, mongoerr.Newf(mongoerr.InternalError, "validate %s.%s failed: %v", req.DB, name, err)
	}
	return validateReply(coll, res), nil
}

func validateReply(coll *catalog.Collection, res *catalog.ValidateResult) bson.D {
	keys := bson.D{}
	details := bson.D{}
	for _, iv := range res.Indexes {
		keys = append(keys, bson.E{Key: iv.Name, Value: iv.Keys})
		details = append(details, bson.E{Key: iv.Name, Value: bson.D{{Key: "valid", Value: iv.Valid}}})
	}
	return bson.D{
		{Key: "ns", Value: res.NS},
		{Key: "uuid", Value: coll.UUID},
		{Key: "nInvalidDocuments", Value: res.NInvalidDocuments},
		{Key: "nNonCompliantDocuments", Value: int64(0)},
		{Key: "nrecords", Value: res.NRecords},
		{Key: "nIndexes", Value: int32(len(res.Indexes))},
		{Key: "keysPerIndex", Value: keys},
		{Key: "indexDetails", Value: details},
		{Key: "valid", Value: res.Valid},
		{Key: "repaired", Value: false},
		{Key: "warnings", Value: stringsArray(res.Warnings)},
		{Key: "errors", Value: stringsArray(res.Errors)},
		{Key: "extraIndexEntries", Value: docsArray(res.ExtraIndexEntries)},
		{Key: "missingIndexEntries", Value: docsArray(res.MissingIndexEntries)},
		{Key: "corruptRecords", Value: append(bson.A{}, res.CorruptRecords...)},
	}
}

func stringsArray(s []string) bson.A {
	out := make(bson.A, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func docsArray(ds []bson.D) bson.A {
	out := make(bson.A, len(ds))
	for i, d := range ds {
		out[i] = d
	}
	return out
}
