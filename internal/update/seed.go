package update

import (
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// UpsertSeed builds the base document of an upsert insert from its query
// filter: the filter's equality conditions (plain values, $eq, single-value
// $in, and such conditions inside top-level $and and single-clause $or),
// with dotted paths expanded into embedded documents and _id first.
// A path constrained twice, or two paths of which one is a prefix of the
// other, fail with NotSingleValueField (54) as in MongoDB.
func UpsertSeed(filter bson.D) (bson.D, error) {
	var eqs []equality
	if err := collectEqualities(filter, &eqs); err != nil {
		return nil, err
	}
	sort.SliceStable(eqs, func(i, j int) bool { return eqs[i].path < eqs[j].path })
	for i := 1; i < len(eqs); i++ {
		if eqs[i].path == eqs[i-1].path {
			return nil, mongoerr.Newf(mongoerr.NotSingleValueField,
				"cannot infer query fields to set, path '%s' is matched twice", eqs[i].path)
		}
	}
	for i := range eqs {
		for j := range eqs {
			if i != j && strings.HasPrefix(eqs[j].path, eqs[i].path+".") {
				return nil, mongoerr.Newf(mongoerr.NotSingleValueField,
					"cannot infer query fields to set, both paths '%s' and '%s' are matched", eqs[j].path, eqs[i].path)
			}
		}
	}
	seed := bson.D{}
	for _, e := range eqs {
		seed = insertPath(seed, strings.Split(e.path, "."), bsonutil.DeepCopy(e.value))
	}
	if k := getField(seed, "_id"); k > 0 {
		id := seed[k]
		copy(seed[1:k+1], seed[:k])
		seed[0] = id
	}
	return seed, nil
}

type equality struct {
	path  string
	value any
}

func collectEqualities(filter bson.D, out *[]equality) error {
	for _, e := range filter {
		switch {
		case e.Key == "$and" || e.Key == "$or":
			arr, _ := asArray(e.Value)
			if e.Key == "$or" && len(arr) != 1 {
				continue
			}
			for _, c := range arr {
				if cd, ok := c.(bson.D); ok {
					if err := collectEqualities(cd, out); err != nil {
						return err
					}
				}
			}
		case strings.HasPrefix(e.Key, "$"):
		default:
			if v, ok := equalityValue(e.Value); ok {
				*out = append(*out, equality{path: e.Key, value: v})
			}
		}
	}
	return nil
}

// equalityValue returns the value a filter condition pins its field to.
func equalityValue(v any) (any, bool) {
	switch x := v.(type) {
	case bson.Regex:
		return nil, false
	case bson.D:
		if len(x) == 0 || !strings.HasPrefix(x[0].Key, "$") || x[0].Key == "$ref" || x[0].Key == "$id" || x[0].Key == "$db" {
			return v, true
		}
		for _, op := range x {
			switch op.Key {
			case "$eq":
				return op.Value, true
			case "$in":
				if arr, ok := asArray(op.Value); ok && len(arr) == 1 {
					if _, isRe := arr[0].(bson.Regex); !isRe {
						return arr[0], true
					}
				}
			}
		}
		return nil, false
	}
	return v, true
}

// insertPath sets parts in d, creating embedded documents on the way. The
// caller guarantees that no prefix of parts holds a non-document value.
func insertPath(d bson.D, parts []string, v any) bson.D {
	k := getField(d, parts[0])
	if len(parts) == 1 {
		if k >= 0 {
			d[k].Value = v
			return d
		}
		return append(d, bson.E{Key: parts[0], Value: v})
	}
	if k >= 0 {
		sub, _ := d[k].Value.(bson.D)
		d[k].Value = insertPath(sub, parts[1:], v)
		return d
	}
	return append(d, bson.E{Key: parts[0], Value: insertPath(bson.D{}, parts[1:], v)})
}
