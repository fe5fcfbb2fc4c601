// Package bsonutil holds the BSON value semantics that every layer shares:
// MongoDB's comparison and sort order across types (numbers compare across
// int32, int64, double and decimal128), type names and numbers as $type
// reports them, and small helpers over the driver's bson.D / bson.A values.
//
// Documents are represented as bson.D (nested documents as bson.D, arrays as
// bson.A), as decoded by go.mongodb.org/mongo-driver/v2/bson. A field that is
// absent is represented by Missing.
package bsonutil
