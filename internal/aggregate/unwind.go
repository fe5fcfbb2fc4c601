package aggregate

import (
	"context"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

type unwindStage struct {
	baseStage
	path     []string
	index    []string // includeArrayIndex path, nil if none
	preserve bool
}

func parseUnwind(pc *parseCtx, name string, spec any) (Stage, error) {
	st := &unwindStage{baseStage: baseStage{name, spec}}
	var path, index string
	switch v := spec.(type) {
	case string:
		path = v
	case bson.D:
		havePath := false
		for _, e := range v {
			switch e.Key {
			case "path":
				s, ok := e.Value.(string)
				if !ok {
					return nil, mongoerr.Newf(28808, "expected a string as the path for $unwind stage, got %s", bsonutil.TypeName(e.Value))
				}
				path, havePath = s, true
			case "preserveNullAndEmptyArrays":
				b, ok := e.Value.(bool)
				if !ok {
					return nil, mongoerr.Newf(28809, "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage, got %s", bsonutil.TypeName(e.Value))
				}
				st.preserve = b
			case "includeArrayIndex":
				s, ok := e.Value.(string)
				if !ok || s == "" {
					return nil, mongoerr.Newf(28810, "expected a non-empty string for the includeArrayIndex  option to $unwind stage, got %s", bsonutil.TypeName(e.Value))
				}
				if strings.HasPrefix(s, "$") {
					return nil, mongoerr.Newf(28822, "includeArrayIndex option to $unwind stage should not be prefixed with a '$': %s", s)
				}
				if err := checkFieldPath(s); err != nil {
					return nil, err
				}
				index = s
			default:
				return nil, mongoerr.Newf(28811, "unrecognized option to $unwind stage: %s", e.Key)
			}
		}
		if !havePath {
			return nil, mongoerr.New(28812, "no path specified to $unwind stage")
		}
	default:
		return nil, mongoerr.Newf(15981, "expected either a string or an object as specification for $unwind stage, got %s", bsonutil.TypeName(spec))
	}
	if !strings.HasPrefix(path, "$") {
		return nil, mongoerr.Newf(28818, "path option to $unwind stage should be prefixed with a '$': %s", path)
	}
	if err := checkFieldPath(path[1:]); err != nil {
		return nil, err
	}
	st.path = strings.Split(path[1:], ".")
	if index != "" {
		st.index = strings.Split(index, ".")
	}
	return st, nil
}

func (s *unwindStage) open(ctx context.Context, in Source) (Source, error) {
	var cur bson.D
	var arr bson.A
	var i int
	return &funcSource{close: in.Close, next: func(ctx context.Context) (bson.D, error) {
		for {
			if i < len(arr) {
				out := setPath(cur, s.path, arr[i])
				if s.index != nil {
					out = setPath(out, s.index, int64(i))
				}
				i++
				return out, nil
			}
			d, err := in.Next(ctx)
			if err != nil {
				return nil, err
			}
			v := getPath(d, s.path)
			switch x := v.(type) {
			case bson.A:
				if len(x) > 0 {
					cur, arr, i = d, x, 0
					continue
				}
				if s.preserve {
					out := setPath(d, s.path, bsonutil.Missing)
					if s.index != nil {
						out = setPath(out, s.index, nil)
					}
					return out, nil
				}
			default:
				if bsonutil.IsNullish(v) || bsonutil.IsMissing(v) {
					if !s.preserve {
						continue
					}
				}
				// A non-array value unwinds to itself.
				if s.index != nil {
					return setPath(d, s.index, nil), nil
				}
				return d, nil
			}
		}
	}}, nil
}
