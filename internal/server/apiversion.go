package server

import (
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// apiV1Commands are the commands of Stable API version 1.
var apiV1Commands = map[string]bool{
	"abortTransaction": true, "aggregate": true, "authenticate": true, "bulkWrite": true,
	"collMod": true, "commitTransaction": true, "count": true, "create": true,
	"createIndexes": true, "delete": true, "drop": true, "dropDatabase": true,
	"dropIndexes": true, "endSessions": true, "explain": true, "find": true,
	"findAndModify": true, "getMore": true, "hello": true, "insert": true,
	"killCursors": true, "listCollections": true, "listDatabases": true,
	"listIndexes": true, "ping": true, "refreshSessions": true, "update": true,
	// Handshake and session plumbing drivers send under any API version.
	"isMaster": true, "ismaster": true, "saslStart": true, "saslContinue": true,
	"getnonce": true, "logout": true, "configureFailPoint": true,
}

// checkAPIVersion validates the Stable API fields of a command: apiVersion
// must be "1", apiStrict and apiDeprecationErrors need an apiVersion, and
// with apiStrict only version 1 commands may run.
func checkAPIVersion(name string, body bson.D) *mongoerr.Error {
	var version any
	var strict, deprecation, hasVersion, hasStrict, hasDeprecation bool
	for _, e := range body {
		switch e.Key {
		case "apiVersion":
			version, hasVersion = e.Value, true
		case "apiStrict":
			b, ok := e.Value.(bool)
			if !ok {
				return mongoerr.New(mongoerr.TypeMismatch, "BSON field 'apiStrict' is the wrong type, expected type 'bool'")
			}
			strict, hasStrict = b, true
		case "apiDeprecationErrors":
			b, ok := e.Value.(bool)
			if !ok {
				return mongoerr.New(mongoerr.TypeMismatch, "BSON field 'apiDeprecationErrors' is the wrong type, expected type 'bool'")
			}
			deprecation, hasDeprecation = b, true
		}
	}
	_ = deprecation
	if !hasVersion {
		if hasStrict {
			return mongoerr.New(mongoerr.Code(4886600), "Provided apiStrict without an apiVersion")
		}
		if hasDeprecation {
			return mongoerr.New(mongoerr.Code(4886600), "Provided apiDeprecationErrors without an apiVersion")
		}
		return nil
	}
	if s, ok := version.(string); !ok || s != "1" {
		return mongoerr.New(mongoerr.APIVersionError, "API version must be \"1\"")
	}
	if strict && !apiV1Commands[name] {
		return mongoerr.Newf(mongoerr.APIStrictError, "Provided apiStrict:true, but the command %s is not in API Version 1. Information on supported commands and migrations in API Version 1 can be found at https://dochub.mongodb.org/core/manual-versioned-api", name)
	}
	return nil
}
