package mongoerr

import (
	"errors"
	"fmt"
)

// Code is a MongoDB server error code.
type Code int32

// Error codes used by Cairn, with MongoDB's numbers.
const (
	InternalError                            Code = 1
	BadValue                                 Code = 2
	NoSuchKey                                Code = 4
	GraphContainsCycle                       Code = 5
	HostUnreachable                          Code = 6
	HostNotFound                             Code = 7
	UnknownError                             Code = 8
	FailedToParse                            Code = 9
	CannotMutateObject                       Code = 10
	UserNotFound                             Code = 11
	UnsupportedFormat                        Code = 12
	Unauthorized                             Code = 13
	TypeMismatch                             Code = 14
	Overflow                                 Code = 15
	InvalidLength                            Code = 16
	ProtocolError                            Code = 17
	AuthenticationFailed                     Code = 18
	IllegalOperation                         Code = 20
	EmptyArrayOperation                      Code = 21
	InvalidBSON                              Code = 22
	LockTimeout                              Code = 24
	NamespaceNotFound                        Code = 26
	IndexNotFound                            Code = 27
	PathNotViable                            Code = 28
	NonExistentPath                          Code = 29
	InvalidPath                              Code = 30
	RoleNotFound                             Code = 31
	ConflictingUpdateOperators               Code = 40
	CursorNotFound                           Code = 43
	NamespaceExists                          Code = 48
	MaxTimeMSExpired                         Code = 50
	DollarPrefixedFieldName                  Code = 52
	InvalidIDField                           Code = 53
	NotSingleValueField                      Code = 54
	InvalidDBRef                             Code = 55
	EmptyFieldName                           Code = 56
	DottedFieldName                          Code = 57
	CommandNotFound                          Code = 59
	ImmutableField                           Code = 66
	CannotCreateIndex                        Code = 67
	IndexAlreadyExists                       Code = 68
	InvalidOptions                           Code = 72
	InvalidNamespace                         Code = 73
	IndexOptionsConflict                     Code = 85
	IndexKeySpecsConflict                    Code = 86
	NetworkTimeout                           Code = 89
	OperationFailed                          Code = 96
	NotImplemented                           Code = 238
	WriteConflict                            Code = 112
	CommandNotSupported                      Code = 115
	NotWritablePrimary                       Code = 10107
	ConflictingOperationInProgress           Code = 117
	InvalidIndexSpecificationOption          Code = 197
	InvalidPipelineOperator                  Code = 168
	CommandFailed                            Code = 125
	DocumentValidationFailure                Code = 121
	InvalidUUID                              Code = 207
	NoSuchTransaction                        Code = 251
	QueryExceededMemoryLimitNoDiskUseAllowed Code = 292
	APIStrictError                           Code = 323
	APIVersionError                          Code = 322
	InvalidIdField                           Code = 53
	Interrupted                              Code = 11601
	DuplicateKey                             Code = 11000
	BSONObjectTooLarge                       Code = 10334
	ExceededMemoryLimit                      Code = 146
	Location40324                            Code = 40324 // unrecognized pipeline stage
	Location31254                            Code = 31254
	Location31253                            Code = 31253
	Location16410                            Code = 16410
	Location16554                            Code = 16554
	ShutdownInProgress                       Code = 91
	ConversionFailure                        Code = 241
	OutOfDiskSpace                           Code = 14031
	IncompatibleCollationVersion             Code = 161
	ViewDepthLimitExceeded                   Code = 165
	CommandNotSupportedOnView                Code = 166
	OptionNotSupportedOnView                 Code = 167
	AmbiguousIndexKeyPattern                 Code = 181
	CannotConvertIndexToUnique               Code = 359
)

var codeNames = map[Code]string{
	InternalError:                            "InternalError",
	BadValue:                                 "BadValue",
	NoSuchKey:                                "NoSuchKey",
	GraphContainsCycle:                       "GraphContainsCycle",
	HostUnreachable:                          "HostUnreachable",
	HostNotFound:                             "HostNotFound",
	UnknownError:                             "UnknownError",
	FailedToParse:                            "FailedToParse",
	CannotMutateObject:                       "CannotMutateObject",
	UserNotFound:                             "UserNotFound",
	UnsupportedFormat:                        "UnsupportedFormat",
	Unauthorized:                             "Unauthorized",
	TypeMismatch:                             "TypeMismatch",
	Overflow:                                 "Overflow",
	InvalidLength:                            "InvalidLength",
	ProtocolError:                            "ProtocolError",
	AuthenticationFailed:                     "AuthenticationFailed",
	IllegalOperation:                         "IllegalOperation",
	EmptyArrayOperation:                      "EmptyArrayOperation",
	InvalidBSON:                              "InvalidBSON",
	LockTimeout:                              "LockTimeout",
	NamespaceNotFound:                        "NamespaceNotFound",
	IndexNotFound:                            "IndexNotFound",
	PathNotViable:                            "PathNotViable",
	NonExistentPath:                          "NonExistentPath",
	InvalidPath:                              "InvalidPath",
	RoleNotFound:                             "RoleNotFound",
	ConflictingUpdateOperators:               "ConflictingUpdateOperators",
	CursorNotFound:                           "CursorNotFound",
	NamespaceExists:                          "NamespaceExists",
	MaxTimeMSExpired:                         "MaxTimeMSExpired",
	DollarPrefixedFieldName:                  "DollarPrefixedFieldName",
	InvalidIDField:                           "InvalidIdField",
	NotSingleValueField:                      "NotSingleValueField",
	InvalidDBRef:                             "InvalidDBRef",
	EmptyFieldName:                           "EmptyFieldName",
	DottedFieldName:                          "DottedFieldName",
	CommandNotFound:                          "CommandNotFound",
	ImmutableField:                           "ImmutableField",
	CannotCreateIndex:                        "CannotCreateIndex",
	IndexAlreadyExists:                       "IndexAlreadyExists",
	InvalidOptions:                           "InvalidOptions",
	InvalidNamespace:                         "InvalidNamespace",
	IndexOptionsConflict:                     "IndexOptionsConflict",
	IndexKeySpecsConflict:                    "IndexKeySpecsConflict",
	NetworkTimeout:                           "NetworkTimeout",
	OperationFailed:                          "OperationFailed",
	NotImplemented:                           "NotImplemented",
	WriteConflict:                            "WriteConflict",
	CommandNotSupported:                      "CommandNotSupported",
	NotWritablePrimary:                       "NotWritablePrimary",
	ConflictingOperationInProgress:           "ConflictingOperationInProgress",
	InvalidIndexSpecificationOption:          "InvalidIndexSpecificationOption",
	InvalidPipelineOperator:                  "InvalidPipelineOperator",
	CommandFailed:                            "CommandFailed",
	DocumentValidationFailure:                "DocumentValidationFailure",
	InvalidUUID:                              "InvalidUUID",
	NoSuchTransaction:                        "NoSuchTransaction",
	QueryExceededMemoryLimitNoDiskUseAllowed: "QueryExceededMemoryLimitNoDiskUseAllowed",
	APIStrictError:                           "APIStrictError",
	APIVersionError:                          "APIVersionError",
	Interrupted:                              "Interrupted",
	DuplicateKey:                             "DuplicateKey",
	BSONObjectTooLarge:                       "BSONObjectTooLarge",
	ExceededMemoryLimit:                      "ExceededMemoryLimit",
	ShutdownInProgress:                       "ShutdownInProgress",
	ConversionFailure:                        "ConversionFailure",
	OutOfDiskSpace:                           "OutOfDiskSpace",
	IncompatibleCollationVersion:             "IncompatibleCollationVersion",
	ViewDepthLimitExceeded:                   "ViewDepthLimitExceeded",
	CommandNotSupportedOnView:                "CommandNotSupportedOnView",
	OptionNotSupportedOnView:                 "OptionNotSupportedOnView",
	AmbiguousIndexKeyPattern:                 "AmbiguousIndexKeyPattern",
	CannotConvertIndexToUnique:               "CannotConvertIndexToUnique",
}

// Name returns MongoDB's codeName for c. Codes that MongoDB reports as
// "Location<N>" get that name.
func (c Code) Name() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("Location%d", int32(c))
}

// Error is a MongoDB-shaped command error.
type Error struct {
	Code   Code
	Msg    string
	Labels []string
	// Extra holds additional reply fields (for example keyPattern and
	// keyValue on a duplicate key error), appended after codeName.
	Extra []ExtraField
}

// ExtraField is a name/value pair added to an error reply.
type ExtraField struct {
	Key   string
	Value any
}

func (e *Error) Error() string { return e.Msg }

// CodeName returns the error's codeName.
func (e *Error) CodeName() string { return e.Code.Name() }

// New returns an error with the given code and message.
func New(code Code, msg string) *Error { return &Error{Code: code, Msg: msg} }

// Newf returns an error with the given code and a formatted message.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// WithLabels returns e with labels added.
func (e *Error) WithLabels(labels ...string) *Error {
	e.Labels = append(e.Labels, labels...)
	return e
}

// As extracts a *Error from err's chain. Errors that are not MongoDB-shaped
// come back as InternalError carrying err's text.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	return &Error{Code: InternalError, Msg: err.Error()}
}

// Is reports whether err carries a *Error with the given code.
func Is(err error, code Code) bool {
	var me *Error
	return errors.As(err, &me) && me.Code == code
}
