package aggregate

import (
	"math"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// parseExpr parses an aggregation expression.
func parseExpr(spec any) (expr.Expr, error) {
	return expr.Parse(spec)
}

// evalDoc evaluates e with $$ROOT and $$CURRENT set to doc.
func evalDoc(e expr.Expr, vars *expr.Vars, doc bson.D) (any, error) {
	return e.Eval(vars.WithRoot(doc))
}

// isExpressionObject reports whether d is an operator expression such as
// {$add: [...]}: a document whose first field name starts with '$'.
func isExpressionObject(d bson.D) bool {
	return len(d) > 0 && strings.HasPrefix(d[0].Key, "$")
}

// fmtValue renders v for error messages, MongoDB shell style.
func fmtValue(v any) string { return bsonutil.Format(v) }

// checkFieldPath validates a dotted field path (without the leading '$').
func checkFieldPath(path string) error {
	if path == "" {
		return mongoerr.New(40352, "FieldPath cannot be constructed with empty string")
	}
	if strings.HasSuffix(path, ".") {
		return mongoerr.New(40353, "FieldPath must not end with a '.'.")
	}
	for _, p := range strings.Split(path, ".") {
		if p == "" {
			return mongoerr.New(15998, "FieldPath field names may not be empty strings.")
		}
		if strings.HasPrefix(p, "$") {
			return mongoerr.Newf(mongoerr.Location16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
		}
		if strings.IndexByte(p, 0) >= 0 {
			// A string value may hold a NUL; a BSON field name cannot.
			return mongoerr.New(16411, "FieldPath field names may not contain '\\0'.")
		}
	}
	return nil
}

// getPath returns the value at a dotted path, following embedded documents
// only (arrays are not traversed), or Missing.
func getPath(doc bson.D, parts []string) any {
	var cur any = doc
	for _, p := range parts {
		d, ok := cur.(bson.D)
		if !ok {
			return bsonutil.Missing
		}
		cur = bsonutil.Get(d, p)
		if bsonutil.IsMissing(cur) {
			return cur
		}
	}
	return cur
}

// setPath returns a copy of doc with the dotted path set to v (created as
// needed; a non-document on the way is replaced by a document). Only the
// documents along the path are copied. Setting Missing removes the field.
func setPath(doc bson.D, parts []string, v any) bson.D {
	out := make(bson.D, 0, len(doc)+1)
	found := false
	for _, e := range doc {
		if e.Key != parts[0] {
			out = append(out, e)
			continue
		}
		found = true
		if len(parts) == 1 {
			if !bsonutil.IsMissing(v) {
				out = append(out, bson.E{Key: e.Key, Value: v})
			}
			continue
		}
		sub, _ := e.Value.(bson.D)
		out = append(out, bson.E{Key: e.Key, Value: setPath(sub, parts[1:], v)})
	}
	if !found && !bsonutil.IsMissing(v) {
		if len(parts) == 1 {
			out = append(out, bson.E{Key: parts[0], Value: v})
		} else {
			out = append(out, bson.E{Key: parts[0], Value: setPath(nil, parts[1:], v)})
		}
	}
	return out
}

// removePath returns doc without the dotted path; arrays of documents on
// the way have the path removed from each element.
func removePath(doc bson.D, parts []string) bson.D {
	out := make(bson.D, 0, len(doc))
	for _, e := range doc {
		if e.Key != parts[0] {
			out = append(out, e)
			continue
		}
		if len(parts) == 1 {
			continue
		}
		out = append(out, bson.E{Key: e.Key, Value: removePathValue(e.Value, parts[1:])})
	}
	return out
}

func removePathValue(v any, parts []string) any {
	switch x := v.(type) {
	case bson.D:
		return removePath(x, parts)
	case bson.A:
		out := make(bson.A, len(x))
		for i, el := range x {
			out[i] = removePathValue(el, parts)
		}
		return out
	}
	return v
}

// nullIfMissing turns Missing into null.
func nullIfMissing(v any) any {
	if bsonutil.IsMissing(v) {
		return nil
	}
	return v
}

// approxSize estimates the in-memory size of a value in bytes, for memory
// accounting.
func approxSize(v any) int64 {
	switch x := v.(type) {
	case bson.D:
		n := int64(24)
		for _, e := range x {
			n += int64(len(e.Key)) + 32 + approxSize(e.Value)
		}
		return n
	case bson.A:
		n := int64(24)
		for _, e := range x {
			n += 16 + approxSize(e)
		}
		return n
	case string:
		return int64(len(x)) + 16
	case bson.Binary:
		return int64(len(x.Data)) + 32
	case bson.Regex:
		return int64(len(x.Pattern)+len(x.Options)) + 32
	}
	return 16
}

// memTracker accounts the memory of one blocking stage.
type memTracker struct {
	stage string
	limit int64
	allow bool
	used  int64
}

func newMemTracker(stage string, opts *Options) *memTracker {
	return &memTracker{stage: stage, limit: MemoryLimit, allow: opts.AllowDiskUse}
}

// add accounts n more bytes and fails past the limit.
func (m *memTracker) add(n int64) error {
	m.used += n
	if m.used > m.limit && !m.allow {
		if m.stage == "$sort" {
			return mongoerr.Newf(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed,
				"Sort exceeded memory limit of %d bytes, but did not opt in to external sorting.", m.limit)
		}
		return mongoerr.Newf(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed,
			"Exceeded memory limit for %s, but didn't allow external sort. Pass allowDiskUse:true to opt in.", m.stage)
	}
	return nil
}

// toInt64Arg converts a numeric stage argument to an integer, accepting
// only integral values (doubles included).
func toInt64Arg(v any) (int64, bool) {
	if !bsonutil.IsNumber(v) {
		return 0, false
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, false
	}
	return bsonutil.ToInt64(v)
}
