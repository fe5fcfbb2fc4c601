package commands

import (
	"context"
	"sync"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "configureFailPoint", Help: "configure a test fail point (test commands only)",
		AdminOnly: true, TestOnly: true, Handler: configureFailPointCmd})
}

// FailPoints holds the test fail points set with configureFailPoint. Cairn
// implements the "failCommand" fail point that drivers' tests use.
type FailPoints struct {
	mu          sync.Mutex
	failCommand *failCommandPoint
}

type failCommandPoint struct {
	commands  map[string]bool
	appName   string
	times     int64 // remaining activations; -1 = always
	skip      int64 // activations to pass over first
	data      bson.D
	errorCode int32
	hasError  bool
	labels    []string
	close     bool
	blockMS   int64
	wcError   bson.D
	errInfo   any
}

// FailAction is what a matching fail point does to one command.
type FailAction struct {
	// Close closes the connection without a reply.
	Close bool
	// BlockMS delays the command by that many milliseconds.
	BlockMS int64
	// Err replaces the command's reply with an error.
	Err *mongoerr.Error
	// WriteConcernError is appended to the command's (successful) reply.
	WriteConcernError bson.D
}

// Check reports what the fail points do to command name from a client with
// the given application name, consuming one activation. It returns nil when
// no fail point applies.
func (f *FailPoints) Check(name, appName string) *FailAction {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.failCommand
	if p == nil || !p.commands[name] || (p.appName != "" && p.appName != appName) {
		return nil
	}
	if p.skip > 0 {
		p.skip--
		return nil
	}
	if p.times == 0 {
		return nil
	}
	if p.times > 0 {
		p.times--
		if p.times == 0 {
			f.failCommand = nil
		}
	}
	a := &FailAction{Close: p.close, BlockMS: p.blockMS, WriteConcernError: p.wcError}
	if p.hasError {
		e := mongoerr.New(mongoerr.Code(p.errorCode), "Failing command via 'failCommand' failpoint")
		e.Labels = append(e.Labels, p.labels...)
		if p.errInfo != nil {
			e.Extra = append(e.Extra, mongoerr.ExtraField{Key: "errInfo", Value: p.errInfo})
		}
		a.Err = e
	} else if len(p.labels) > 0 && p.wcError == nil && !p.close {
		// Labels without an error code decorate a generic failure.
		e := mongoerr.New(mongoerr.InternalError, "Failing command via 'failCommand' failpoint")
		e.Labels = append(e.Labels, p.labels...)
		a.Err = e
	}
	return a
}

func configureFailPointCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, _ := req.Body[0].Value.(string)
	if name != "failCommand" {
		return nil, mongoerr.Newf(mongoerr.BadValue, "Cairn does not implement fail point %q (only failCommand)", name)
	}
	if env.FailPoints == nil {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "fail points are not enabled")
	}
	mode, _ := req.Arg("mode")
	p := &failCommandPoint{times: -1, commands: map[string]bool{}}
	switch m := mode.(type) {
	case string:
		switch m {
		case "alwaysOn":
		case "off":
			env.FailPoints.mu.Lock()
			env.FailPoints.failCommand = nil
			env.FailPoints.mu.Unlock()
			return bson.D{{Key: "count", Value: int32(0)}}, nil
		default:
			return nil, mongoerr.Newf(mongoerr.BadValue, "unknown fail point mode %q", m)
		}
	case bson.D:
		for _, e := range m {
			n, ok := bsonutil.ToInt64(e.Value)
			if !ok || n < 0 {
				return nil, mongoerr.Newf(mongoerr.BadValue, "fail point mode %s must be a non-negative integer", e.Key)
			}
			switch e.Key {
			case "times":
				p.times = n
			case "skip":
				p.skip = n
			case "activationProbability":
			default:
				return nil, mongoerr.Newf(mongoerr.BadValue, "unknown fail point mode option %q", e.Key)
			}
		}
	default:
		return nil, mongoerr.New(mongoerr.TypeMismatch, "'mode' must be a string or an object")
	}
	data, _, err := argDoc(req, "data")
	if err != nil {
		return nil, err
	}
	for _, e := range data {
		switch e.Key {
		case "failCommands":
			a, ok := e.Value.(bson.A)
			if !ok {
				return nil, mongoerr.New(mongoerr.TypeMismatch, "failCommands must be an array of command names")
			}
			for _, c := range a {
				if s, ok := c.(string); ok {
					p.commands[s] = true
				}
			}
		case "errorCode":
			n, _ := bsonutil.ToInt64(e.Value)
			p.errorCode, p.hasError = int32(n), true
		case "errorLabels":
			a, _ := e.Value.(bson.A)
			p.labels = []string{}
			for _, l := range a {
				if s, ok := l.(string); ok {
					p.labels = append(p.labels, s)
				}
			}
		case "closeConnection":
			p.close = bsonutil.IsTruthy(e.Value)
		case "blockConnection":
			if !bsonutil.IsTruthy(e.Value) {
				p.blockMS = -1
			}
		case "blockTimeMS":
			n, _ := bsonutil.ToInt64(e.Value)
			if p.blockMS >= 0 {
				p.blockMS = n
			}
		case "writeConcernError":
			d, _ := e.Value.(bson.D)
			p.wcError = d
		case "errInfo":
			p.errInfo = e.Value
		case "appName":
			p.appName, _ = e.Value.(string)
		}
	}
	if p.blockMS < 0 {
		p.blockMS = 0
	}
	if !p.hasError && p.wcError == nil && !p.close && p.blockMS == 0 && len(p.labels) == 0 {
		// A fail point that does nothing observable is still valid.
	}
	p.data = data
	env.FailPoints.mu.Lock()
	env.FailPoints.failCommand = p
	env.FailPoints.mu.Unlock()
	return bson.D{{Key: "count", Value: int32(0)}}, nil
}
