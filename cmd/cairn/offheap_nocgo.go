//go:build !cgo

package main

// pebbleOffHeap: without cgo, Pebble's block cache and memtables are Go
// heap allocations (see offheap_cgo.go).
const pebbleOffHeap = false

// mallocArenasCapped: without cgo there is no C allocator to cap.
func mallocArenasCapped() bool { return false }
