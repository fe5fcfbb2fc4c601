// Package spectest runs MongoDB's unified-format specification tests
// (https://github.com/mongodb/specifications, source/unified-test-format)
// against a server, using the official Go driver as the client.
//
// The package has four layers:
//
//   - format.go: the test-file model, decoded from Extended JSON.
//   - match.go: the expectation matcher (root-vs-nested documents, flexible
//     numerics and the $$ special operators). It needs no server.
//   - requirements.go: server versions and runOnRequirements, evaluated
//     against a ServerInfo that the runner reads from hello, buildInfo and
//     getParameter. It needs no server either.
//   - runner.go and the files it uses (entities.go, operations*.go,
//     events.go, errors.go): executing files and tests with a driver.
//
// Anything the runner does not implement (an operation, an entity kind, an
// argument, a test-file feature) makes the affected test SKIP with a reason
// that names it; it never passes silently. Operation names that are not part
// of the unified test format at all fail the test, as the format requires.
//
// ExpectedFailures (expected.go) reads and writes the expected-failures file
// used by cmd/cairn-spec.
package spectest
