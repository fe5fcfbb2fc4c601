package spectest

import (
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// args reads operation arguments (or entity fields) and remembers which
// keys were consumed, so that unknown keys can be reported.
type args struct {
	d    bson.D
	used map[string]bool
}

func newArgs(d bson.D) *args { return &args{d: d, used: map[string]bool{}} }

func (a *args) get(key string) (any, bool) {
	for _, e := range a.d {
		if e.Key == key {
			a.used[key] = true
			return e.Value, true
		}
	}
	return nil, false
}

func (a *args) str(key string, required bool) (string, error) {
	v, ok := a.get(key)
	if !ok {
		if required {
			return "", fmt.Errorf("missing required argument %q", key)
		}
		return "", nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", fmt.Errorf("argument %q is %s, not a string", key, describe(v))
	}
	return s, nil
}

func (a *args) doc(key string) (bson.D, bool, error) {
	v, ok := a.get(key)
	if !ok {
		return nil, false, nil
	}
	d, isDoc := v.(bson.D)
	if !isDoc {
		return nil, false, fmt.Errorf("argument %q is %s, not a document", key, describe(v))
	}
	return d, true, nil
}

func (a *args) requiredDoc(key string) (bson.D, error) {
	d, ok, err := a.doc(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("missing required argument %q", key)
	}
	return d, nil
}

func (a *args) array(key string, required bool) (bson.A, bool, error) {
	v, ok := a.get(key)
	if !ok {
		if required {
			return nil, false, fmt.Errorf("missing required argument %q", key)
		}
		return nil, false, nil
	}
	arr, isArr := v.(bson.A)
	if !isArr {
		return nil, false, fmt.Errorf("argument %q is %s, not an array", key, describe(v))
	}
	return arr, true, nil
}

func (a *args) boolean(key string) (bool, error) {
	v, ok := a.get(key)
	if !ok {
		return false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, fmt.Errorf("argument %q is %s, not a boolean", key, describe(v))
	}
	return b, nil
}

func (a *args) integer(key string) (int64, bool, error) {
	v, ok := a.get(key)
	if !ok {
		return 0, false, nil
	}
	n, isInt := toInt(v)
	if !isInt {
		if f, isF := v.(float64); isF && f == float64(int64(f)) {
			return int64(f), true, nil
		}
		return 0, false, fmt.Errorf("argument %q is %s, not an integer", key, describe(v))
	}
	return n, true, nil
}

// unsupportedArguments are arguments of the unified format that this runner
// (or the Go driver v2) cannot pass on; they make a test skip.
var unsupportedArguments = map[string]string{
	"maxTimeMS":       "argument maxTimeMS (removed from Go driver v2 options)",
	"timeoutMS":       "argument timeoutMS (client-side operation timeouts)",
	"rawData":         "argument rawData",
	"timeoutMode":     "argument timeoutMode",
	"cursorType":      "argument cursorType",
	"maxAwaitTimeMS":  "argument maxAwaitTimeMS",
	"noCursorTimeout": "argument noCursorTimeout",
	"encryptedFields": "argument encryptedFields (queryable encryption)",
}

// finish returns an error for any key not consumed (and not in allowed):
// a skip for arguments known to be unsupported, a failure for unknown ones.
func (a *args) finish(allowed ...string) error {
	ok := map[string]bool{}
	for _, k := range allowed {
		ok[k] = true
	}
	for _, e := range a.d {
		if a.used[e.Key] || ok[e.Key] {
			continue
		}
		if why, known := unsupportedArguments[e.Key]; known {
			return skipf("%s", why)
		}
		return fmt.Errorf("unsupported argument %q", e.Key)
	}
	return nil
}

func secondsDuration(n int64) time.Duration { return time.Duration(n) * time.Second }
