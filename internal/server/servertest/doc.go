// Package servertest starts in-process Cairn servers for integration
// tests: a real TCP listener on 127.0.0.1:0 over an in-memory Pebble
// engine, shut down when the test ends. Tests talk to it with the official
// Go driver:
//
//	uri, _ := servertest.Start(t)
//	client, err := mongo.Connect(options.Client().ApplyURI(uri))
//
// or use Client, which also disconnects at cleanup.
package servertest
