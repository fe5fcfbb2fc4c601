package spectest

import (
	"fmt"
	"os"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// SupportedSchemaVersion is the newest unified test format schema version
// this runner accepts (files with the same major version and a minor
// version up to this one).
var SupportedSchemaVersion = Version{1, 23, 0}

// File is a unified-format test file.
type File struct {
	Description       string           `bson:"description"`
	SchemaVersion     string           `bson:"schemaVersion"`
	RunOnRequirements []Requirement    `bson:"runOnRequirements"`
	CreateEntities    []bson.D         `bson:"createEntities"`
	InitialData       []CollectionData `bson:"initialData"`
	Tests             []Test           `bson:"tests"`
	// Path is where the file was loaded from ("" when parsed from bytes).
	Path string `bson:"-"`
}

// CollectionData is initialData or outcome for one collection.
type CollectionData struct {
	CollectionName string   `bson:"collectionName"`
	DatabaseName   string   `bson:"databaseName"`
	CreateOptions  bson.D   `bson:"createOptions"`
	Documents      []bson.D `bson:"documents"`
}

// Test is one test case of a file.
type Test struct {
	Description           string                    `bson:"description"`
	RunOnRequirements     []Requirement             `bson:"runOnRequirements"`
	SkipReason            string                    `bson:"skipReason"`
	Operations            []bson.D                  `bson:"operations"`
	ExpectEvents          []ExpectedEventsForClient `bson:"expectEvents"`
	ExpectLogMessages     bson.A                    `bson:"expectLogMessages"`
	ExpectTracingMessages any                       `bson:"expectTracingMessages"`
	Outcome               []CollectionData          `bson:"outcome"`
}

// ExpectedEventsForClient is one element of test.expectEvents.
type ExpectedEventsForClient struct {
	Client            string   `bson:"client"`
	EventType         string   `bson:"eventType"`
	Events            []bson.D `bson:"events"`
	IgnoreExtraEvents bool     `bson:"ignoreExtraEvents"`
}

// Operation is one operation of a test, with presence of the optional
// fields preserved.
type Operation struct {
	Name                 string
	Object               string
	Arguments            bson.D
	HasArguments         bool
	IgnoreResultAndError bool
	ExpectError          bson.D
	HasExpectError       bool
	ExpectResult         any
	HasExpectResult      bool
	SaveResultAsEntity   string
}

// ParseOperation reads an operation object.
func ParseOperation(d bson.D) (Operation, error) {
	var op Operation
	for _, e := range d {
		var err error
		switch e.Key {
		case "name":
			err = setField(&op.Name, e.Value, "operation name", "string")
		case "object":
			err = setField(&op.Object, e.Value, "operation object", "string")
		case "arguments":
			if err = setField(&op.Arguments, e.Value, "operation arguments", "document"); err == nil {
				op.HasArguments = true
			}
		case "ignoreResultAndError":
			err = setField(&op.IgnoreResultAndError, e.Value, "ignoreResultAndError", "boolean")
		case "expectError":
			if err = setField(&op.ExpectError, e.Value, "expectError", "document"); err == nil {
				op.HasExpectError = true
			}
		case "expectResult":
			op.ExpectResult, op.HasExpectResult = e.Value, true
		case "saveResultAsEntity":
			err = setField(&op.SaveResultAsEntity, e.Value, "saveResultAsEntity", "string")
		case "expectEvents":
			return op, skipf("operation-level expectEvents")
		default:
			return op, fmt.Errorf("unknown operation field %q", e.Key)
		}
		if err != nil {
			return op, err
		}
	}
	if op.Name == "" {
		return op, fmt.Errorf("operation has no name")
	}
	if op.Object == "" {
		return op, fmt.Errorf("operation %s has no object", op.Name)
	}
	return op, nil
}

// setField stores v in *dst if it is a T; otherwise it returns the error
// "<what> is <v>, not a <kind>" and leaves *dst unchanged.
func setField[T any](dst *T, v any, what, kind string) error {
	t, ok := v.(T)
	if !ok {
		return fmt.Errorf("%s is %s, not a %s", what, describe(v), kind)
	}
	*dst = t
	return nil
}

// LoadFile reads and decodes a test file (Extended JSON).
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read test file: %w", err)
	}
	f, err := ParseFile(data)
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

// ParseFile decodes a test file from Extended JSON.
func ParseFile(data []byte) (*File, error) {
	var f File
	if err := bson.UnmarshalExtJSON(data, false, &f); err != nil {
		return nil, fmt.Errorf("decode test file: %w", err)
	}
	return &f, nil
}

// CheckSchemaVersion returns an error if this runner cannot process files
// of the given schemaVersion.
func CheckSchemaVersion(s string) error {
	v, err := ParseVersion(s)
	if err != nil {
		return fmt.Errorf("schemaVersion %q: %w", s, err)
	}
	if v[0] != SupportedSchemaVersion[0] || v.Compare(SupportedSchemaVersion) > 0 {
		return fmt.Errorf("unsupported schemaVersion %q (runner supports %d.0 to %d.%d)", s,
			SupportedSchemaVersion[0], SupportedSchemaVersion[0], SupportedSchemaVersion[1])
	}
	return nil
}

// skipError makes a test skip rather than fail.
type skipError struct {
	what string
	raw  bool // what is the whole message
}

func (e *skipError) Error() string {
	if e.raw {
		return e.what
	}
	return "runner does not support " + e.what
}

func skipf(format string, args ...any) error {
	return &skipError{what: fmt.Sprintf(format, args...)}
}
