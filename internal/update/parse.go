package update

import (
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// modifier is one operator applied to one path.
type modifier struct {
	op    string
	path  string
	parts []string
	leaf  leafOp
	// from and fromPath are $rename's source.
	from     []string
	fromPath string
	// onInsertOnly marks $setOnInsert.
	onInsertOnly bool
}

// leafParsers builds the leaf operation of each operator from its argument.
var leafParsers = map[string]func(field string, arg any, u *Update) (leafOp, error){
	"$set":         func(_ string, arg any, _ *Update) (leafOp, error) { return setOp{arg}, nil },
	"$setOnInsert": func(_ string, arg any, _ *Update) (leafOp, error) { return setOp{arg}, nil },
	"$unset":       func(string, any, *Update) (leafOp, error) { return unsetOp{}, nil },
	"$inc":         func(f string, arg any, _ *Update) (leafOp, error) { return parseArith("$inc", f, arg) },
	"$mul":         func(f string, arg any, _ *Update) (leafOp, error) { return parseArith("$mul", f, arg) },
	"$min":         func(_ string, arg any, _ *Update) (leafOp, error) { return minMaxOp{v: arg}, nil },
	"$max":         func(_ string, arg any, _ *Update) (leafOp, error) { return minMaxOp{v: arg, max: true}, nil },
	"$currentDate": parseCurrentDate,
	"$push":        parsePush,
	"$addToSet":    parseAddToSet,
	"$pop":         parsePop,
	"$pull":        parsePull,
	"$pullAll":     parsePullAll,
	"$bit":         parseBit,
	"$rename":      nil, // handled separately
}

func unknownModifier(name string) error {
	return mongoerr.Newf(mongoerr.FailedToParse,
		"Unknown modifier: %s. Expected a valid update modifier or pipeline-style update specified as an array", name)
}

func (u *Update) parseOperators(spec bson.D) error {
	var paths []pathEntry
	for _, e := range spec {
		parse, known := leafParsers[e.Key]
		if !known {
			return unknownModifier(e.Key)
		}
		fields, ok := e.Value.(bson.D)
		if !ok {
			return mongoerr.Newf(mongoerr.FailedToParse,
				"Modifiers operate on fields but we found type %s instead. For example: {$mod: {<field>: ...}} not {%s: %s}",
				bsonutil.TypeName(e.Value), e.Key, fmtValue(e.Value))
		}
		if len(fields) == 0 {
			return mongoerr.Newf(mongoerr.FailedToParse,
				"'%s' is empty. You must specify a field like so: {%s: {<field>: ...}}", e.Key, e.Key)
		}
		for _, f := range fields {
			parts, err := u.parsePath(f.Key)
			if err != nil {
				return err
			}
			m := &modifier{op: e.Key, path: f.Key, parts: parts, onInsertOnly: e.Key == "$setOnInsert"}
			if e.Key == "$rename" {
				if err := u.parseRename(m, f.Value); err != nil {
					return err
				}
				if paths, err = addPath(paths, m.from, m.fromPath); err != nil {
					return err
				}
			} else {
				leaf, err := parse(f.Key, f.Value, u)
				if err != nil {
					return err
				}
				m.leaf = leaf
			}
			if paths, err = addPath(paths, m.parts, m.path); err != nil {
				return err
			}
			u.mods = append(u.mods, m)
		}
	}
	sort.SliceStable(u.mods, func(i, j int) bool { return comparePaths(u.mods[i].parts, u.mods[j].parts) < 0 })
	return nil
}

func (u *Update) parseRename(m *modifier, to any) error {
	dest, ok := to.(string)
	if !ok {
		return mongoerr.Newf(mongoerr.BadValue, "The 'to' field for $rename must be a string: %s: %s", m.path, fmtValue(to))
	}
	src := m.parts
	dparts, err := u.parsePath(dest)
	if err != nil {
		return err
	}
	if hasPositional(src) {
		return mongoerr.Newf(mongoerr.BadValue, "The source field for $rename may not be dynamic: %s", m.path)
	}
	if hasPositional(dparts) {
		return mongoerr.Newf(mongoerr.BadValue, "The destination field for $rename may not be dynamic: %s", dest)
	}
	if m.path == dest {
		return mongoerr.Newf(mongoerr.BadValue, "The source and target field for $rename must differ: %s", m.path)
	}
	if isPrefix(src, dparts) || isPrefix(dparts, src) {
		return mongoerr.Newf(mongoerr.BadValue, "The source and target field for $rename must not be on the same path: %s: %s", m.path, fmtValue(dest))
	}
	m.from, m.fromPath = src, m.path
	m.parts, m.path = dparts, dest
	return nil
}

func hasPositional(parts []string) bool {
	for _, p := range parts {
		if strings.HasPrefix(p, "$") {
			return true
		}
	}
	return false
}

// isPrefix reports whether a is a (component-wise) prefix of b or equal.
func isPrefix(a, b []string) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type pathEntry struct {
	parts []string
	path  string
}

// addPath records an update path, failing if it conflicts with an earlier
// one (one is a prefix of the other).
func addPath(paths []pathEntry, parts []string, path string) ([]pathEntry, error) {
	for _, p := range paths {
		if isPrefix(p.parts, parts) {
			return nil, conflict(path, p.path)
		}
		if isPrefix(parts, p.parts) {
			return nil, conflict(path, path)
		}
	}
	return append(paths, pathEntry{parts, path}), nil
}

func conflict(path, at string) error {
	return mongoerr.Newf(mongoerr.ConflictingUpdateOperators, "Updating the path '%s' would create a conflict at '%s'", path, at)
}

// parsePath splits and validates an update path, marking the array
// filters it uses.
func (u *Update) parsePath(path string) ([]string, error) {
	if path == "" {
		return nil, mongoerr.New(mongoerr.EmptyFieldName, "An empty update path is not valid.")
	}
	parts := strings.Split(path, ".")
	positional := 0
	for i, p := range parts {
		if p == "" {
			return nil, mongoerr.Newf(mongoerr.EmptyFieldName,
				"The update path '%s' contains an empty field name, which is not allowed.", path)
		}
		if !strings.HasPrefix(p, "$") {
			continue
		}
		switch {
		case p == "$":
			positional++
			if positional > 1 {
				return nil, mongoerr.Newf(mongoerr.BadValue, "Too many positional (i.e. '$') elements found in path '%s'", path)
			}
		case p == "$[]":
		case strings.HasPrefix(p, "$[") && strings.HasSuffix(p, "]"):
			id := p[2 : len(p)-1]
			f, ok := u.filters[id]
			if !ok {
				return nil, mongoerr.Newf(mongoerr.BadValue, "No array filter found for identifier '%s' in path '%s'", id, path)
			}
			f.used = true
		default:
			return nil, mongoerr.Newf(mongoerr.DollarPrefixedFieldName,
				"The dollar ($) prefixed field '%s' in '%s' is not valid for storage.", p, path)
		}
		if i == 0 {
			return nil, mongoerr.Newf(mongoerr.BadValue,
				"Cannot have positional (i.e. '$') element in the first component in path '%s'", path)
		}
	}
	return parts, nil
}

// arrayFilter is one compiled entry of arrayFilters.
type arrayFilter struct {
	id   string
	m    *query.Matcher
	used bool
}

// matches reports whether the array element e satisfies the filter.
func (f *arrayFilter) matches(e any) (bool, error) {
	return f.m.Match(bson.D{{Key: f.id, Value: e}})
}

func parseArrayFilters(opts *Options) (map[string]*arrayFilter, error) {
	filters := map[string]*arrayFilter{}
	for _, fd := range opts.ArrayFilters {
		id := ""
		if err := filterIdent(fd, &id); err != nil {
			return nil, err
		}
		if id == "" {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot use an expression without a top-level field name in arrayFilters")
		}
		if !validIdent(id) {
			return nil, mongoerr.Newf(mongoerr.BadValue,
				"Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string beginning with a lowercase letter, found '%s'", id)
		}
		if _, dup := filters[id]; dup {
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "Found multiple array filters with the same top-level field name %s", id)
		}
		m, err := query.NewMatcher(fd, &query.Options{Vars: opts.Vars})
		if err != nil {
			if me, ok := err.(*mongoerr.Error); ok {
				return nil, mongoerr.Newf(me.Code, "Error parsing array filter :: caused by :: %s", me.Msg)
			}
			return nil, err
		}
		filters[id] = &arrayFilter{id: id, m: m}
	}
	return filters, nil
}

// filterIdent finds the single top-level identifier of an array filter,
// looking inside $and, $or and $nor.
func filterIdent(fd bson.D, id *string) error {
	for _, e := range fd {
		if strings.HasPrefix(e.Key, "$") {
			switch e.Key {
			case "$and", "$or", "$nor":
				arr, _ := asArray(e.Value)
				for _, c := range arr {
					if cd, ok := c.(bson.D); ok {
						if err := filterIdent(cd, id); err != nil {
							return err
						}
					}
				}
				continue
			case "$comment":
				continue
			}
			return mongoerr.New(mongoerr.FailedToParse, "Cannot use an expression without a top-level field name in arrayFilters")
		}
		name, _, _ := strings.Cut(e.Key, ".")
		if *id != "" && *id != name {
			return mongoerr.Newf(mongoerr.FailedToParse,
				"Error parsing array filter :: caused by :: Expected a single top-level field name, found '%s' and '%s'", *id, name)
		}
		*id = name
	}
	return nil
}

func validIdent(id string) bool {
	if id == "" || id[0] < 'a' || id[0] > 'z' {
		return false
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
