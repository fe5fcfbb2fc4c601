package commands

import (
	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// docValidator enforces a collection's validator option (query-operator
// validators; $jsonSchema is refused when the validator is set).
type docValidator struct {
	m        *query.Matcher
	spec     bson.D
	moderate bool // validationLevel "moderate": only documents that were valid
	warn     bool // validationAction "warn": log, don't fail
}

// newValidator returns nil when no validation applies.
func newValidator(coll *catalog.Collection, bypass bool) (*docValidator, error) {
	if coll == nil || bypass {
		return nil, nil
	}
	spec, _ := bsonutil.Get(coll.Options, "validator").(bson.D)
	if len(spec) == 0 {
		return nil, nil
	}
	level, _ := bsonutil.Get(coll.Options, "validationLevel").(string)
	if level == "off" {
		return nil, nil
	}
	action, _ := bsonutil.Get(coll.Options, "validationAction").(string)
	m, err := query.NewMatcher(spec, nil)
	if err != nil {
		return nil, err
	}
	return &docValidator{m: m, spec: spec, moderate: level == "moderate", warn: action == "warn"}, nil
}

// check validates doc; old is the document before an update (nil for
// inserts).
func (v *docValidator) check(doc, old bson.D) error {
	if v == nil || v.warn {
		return nil
	}
	ok, err := v.m.Match(doc)
	if err != nil || ok {
		return err
	}
	if v.moderate && old != nil {
		if wasValid, err := v.m.Match(old); err != nil || !wasValid {
			return err
		}
	}
	e := mongoerr.New(mongoerr.DocumentValidationFailure, "Document failed validation")
	e.Extra = []mongoerr.ExtraField{{Key: "errInfo", Value: bson.D{
		{Key: "failingDocumentId", Value: bsonutil.Get(doc, "_id")},
		{Key: "details", Value: bson.D{
			{Key: "operatorName", Value: "$and"},
			{Key: "specifiedAs", Value: v.spec},
			{Key: "reason", Value: "the document does not match the collection's validator"},
		}},
	}}}
	return e
}

// validateValidatorSpec checks a validator given to create or collMod.
func validateValidatorSpec(v any) error {
	d, ok := v.(bson.D)
	if !ok {
		return mongoerr.Newf(mongoerr.TypeMismatch, "'validator' has to be a document, got %s", bsonutil.TypeName(v))
	}
	_, err := query.NewMatcher(d, nil)
	return err
}
