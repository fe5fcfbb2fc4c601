// Package storagetest is a conformance suite for storage.Engine
// implementations. An engine package calls RunEngineTests from its own
// tests with a function that opens a fresh, empty engine, and
// RunReopenTests if the engine persists data across Close and reopen.
//
// Each subtest opens its own engine and closes it when done, so openers
// should tolerate (ignore) storage.ErrClosed from any cleanup Close they
// register themselves.
package storagetest
