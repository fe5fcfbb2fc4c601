//go:build cgo

package main

// pebbleOffHeap reports whether Pebble allocates its block cache and
// memtables outside the Go heap: it does with cgo (C.calloc), and on the
// Go heap without it (github.com/cockroachdb/pebble/v2/internal/manual).
const pebbleOffHeap = true
