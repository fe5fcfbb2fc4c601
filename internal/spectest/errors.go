package spectest

import (
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// errorInfo is what the runner can tell about an operation's error.
type errorInfo struct {
	message   string
	server    bool
	codes     []int
	codeNames []string
	labels    []string
	response  bson.Raw
	timeout   bool
}

// codeNamesByName maps the code names tests assert on to codes, for write
// errors, which carry a code but no codeName.
var codeNamesByName = map[string]int{
	"DuplicateKey": 11000, "DocumentValidationFailure": 121, "WriteConcernFailed": 64,
	"UnsatisfiableWriteConcern": 100, "NamespaceNotFound": 26, "InvalidOptions": 72,
	"BadValue": 2, "FailedToParse": 9, "TypeMismatch": 14, "Location51246": 51246,
}

func describeError(err error) errorInfo {
	info := errorInfo{message: err.Error(), timeout: mongo.IsTimeout(err)}
	var se mongo.ServerError
	if errors.As(err, &se) {
		// The Go driver wraps network errors in a CommandError labelled
		// NetworkError; the unified format counts those as client errors.
		info.server = !mongo.IsNetworkError(err)
		info.codes = se.ErrorCodes()
	}
	var le mongo.LabeledError
	if errors.As(err, &le) {
		for _, l := range []string{"RetryableWriteError", "TransientTransactionError", "UnknownTransactionCommitResult",
			"NoWritesPerformed", "ResumableChangeStreamError", "RetryableError", "SystemOverloadedError"} {
			if le.HasErrorLabel(l) {
				info.labels = append(info.labels, l)
			}
		}
	}
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		info.codeNames = append(info.codeNames, ce.Name)
		info.response = ce.Raw
		info.labels = append(info.labels, ce.Labels...)
	}
	addWCE := func(w *mongo.WriteConcernError) {
		if w != nil {
			info.codeNames = append(info.codeNames, w.Name)
			info.message += " " + w.Message
		}
	}
	addWE := func(we mongo.WriteError) {
		if n, err := we.Raw.LookupErr("codeName"); err == nil {
			if s, ok := n.StringValueOK(); ok {
				info.codeNames = append(info.codeNames, s)
			}
		}
		info.message += " " + we.Message
	}
	var we mongo.WriteException
	if errors.As(err, &we) {
		info.response = we.Raw
		info.labels = append(info.labels, we.Labels...)
		addWCE(we.WriteConcernError)
		for _, e := range we.WriteErrors {
			addWE(e)
		}
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) {
		info.labels = append(info.labels, bwe.Labels...)
		addWCE(bwe.WriteConcernError)
		for _, e := range bwe.WriteErrors {
			addWE(e.WriteError)
		}
	}
	return info
}

func (info errorInfo) hasLabel(l string) bool {
	for _, x := range info.labels {
		if x == l {
			return true
		}
	}
	return false
}

// checkExpectedError evaluates an expectedError object against err (and the
// partial result, if any).
func (st *testState) checkExpectedError(ee bson.D, err error, result any, rootElems bool) error {
	if err == nil {
		return fmt.Errorf("expected an error, operation succeeded with %s", describe(result))
	}
	info := describeError(err)
	for _, f := range ee {
		switch f.Key {
		case "isError":
		case "isClientError":
			want, _ := f.Value.(bool)
			if want == info.server {
				return fmt.Errorf("isClientError %v expected, got %s error: %v", want, map[bool]string{true: "server", false: "client"}[info.server], err)
			}
		case "isTimeoutError":
			want, _ := f.Value.(bool)
			if want != info.timeout {
				return fmt.Errorf("isTimeoutError %v expected: %v", want, err)
			}
		case "errorContains":
			s, _ := f.Value.(string)
			if !strings.Contains(strings.ToLower(info.message), strings.ToLower(s)) {
				return fmt.Errorf("error message %q does not contain %q", info.message, s)
			}
		case "errorCode":
			code, _ := toInt(f.Value)
			if !info.server {
				return fmt.Errorf("errorCode %d expected, got a client error: %v", code, err)
			}
			found := false
			for _, c := range info.codes {
				if int64(c) == code {
					found = true
				}
			}
			if !found {
				return fmt.Errorf("errorCode %d expected, got codes %v: %v", code, info.codes, err)
			}
		case "errorCodeName":
			name, _ := f.Value.(string)
			found := false
			for _, n := range info.codeNames {
				if strings.EqualFold(n, name) {
					found = true
				}
			}
			if c, ok := codeNamesByName[name]; ok && !found {
				for _, x := range info.codes {
					if x == c {
						found = true
					}
				}
			}
			if !found {
				return fmt.Errorf("errorCodeName %s expected, got names %v codes %v: %v", name, info.codeNames, info.codes, err)
			}
		case "errorLabelsContain":
			arr, _ := f.Value.(bson.A)
			for _, l := range arr {
				s, _ := l.(string)
				if !info.hasLabel(s) {
					return fmt.Errorf("error label %s expected, error has %v: %v", s, info.labels, err)
				}
			}
		case "errorLabelsOmit":
			arr, _ := f.Value.(bson.A)
			for _, l := range arr {
				s, _ := l.(string)
				if info.hasLabel(s) {
					return fmt.Errorf("error label %s not expected: %v", s, err)
				}
			}
		case "errorResponse":
			if info.response == nil {
				return skipf("errorResponse for this error type (%T)", err)
			}
			doc, derr := rawToD(info.response)
			if derr != nil {
				return derr
			}
			if merr := st.matcher.Match(f.Value, doc, true); merr != nil {
				return fmt.Errorf("errorResponse: %w", merr)
			}
		case "expectResult":
			act := result
			if act == nil {
				act = Missing
			} else if act == nullResult {
				act = nil
			}
			if merr := st.matcher.Match(f.Value, act, rootElems); merr != nil {
				return fmt.Errorf("expectError.expectResult: %w", merr)
			}
		case "writeErrors", "writeConcernErrors":
			return skipf("expectError.%s (clientBulkWrite)", f.Key)
		default:
			return fmt.Errorf("unknown expectError field %q", f.Key)
		}
	}
	return nil
}
