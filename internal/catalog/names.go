package catalog

import (
	"strings"

	"github.com/cairndb/cairn/internal/mongoerr"
)

// MaxNamespaceLen is the longest "db.collection" MongoDB accepts.
const MaxNamespaceLen = 255

// ValidateDBName checks a database name as MongoDB does.
func ValidateDBName(db string) error {
	if db == "" {
		return mongoerr.New(mongoerr.InvalidNamespace, "Invalid database name: ''")
	}
	if len(db) >= 64 {
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid database name: '%s': db name is too long (max 63 bytes)", db)
	}
	if strings.ContainsAny(db, "/\\. \"$*<>:|?\x00") {
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid database name: '%s'", db)
	}
	return nil
}

// ValidateCollName checks a collection name as MongoDB does for user
// collections.
func ValidateCollName(db, coll string) error {
	if err := ValidateDBName(db); err != nil {
		return err
	}
	switch {
	case coll == "":
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid namespace specified '%s.'", db)
	case strings.ContainsRune(coll, 0):
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid collection name: %s", coll)
	case strings.Contains(coll, "$"):
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid collection name: %s", coll)
	case strings.HasPrefix(coll, "."):
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Invalid namespace specified '%s.%s'", db, coll)
	case len(db)+1+len(coll) > MaxNamespaceLen:
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Fully qualified namespace is too long. Namespace: %s.%s Max: %d", db, coll, MaxNamespaceLen)
	}
	return nil
}
