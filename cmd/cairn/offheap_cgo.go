//go:build cgo

package main

/*
#include <malloc.h>
#include <stdlib.h>

static int cairn_arenas_capped;

// cairn_cap_arenas runs when the program is loaded, before the Go runtime
// starts its threads: glibc fixes its arena limit the first time a thread
// needs an arena of its own, so a later mallopt would come too late. An
// explicit MALLOC_ARENA_MAX (glibc reads it itself) is left alone.
__attribute__((constructor)) static void cairn_cap_arenas(void) {
#ifdef M_ARENA_MAX
	if (getenv("MALLOC_ARENA_MAX") == NULL) {
		cairn_arenas_capped = mallopt(M_ARENA_MAX, 1);
	}
#endif
}

static int cairn_arenas_were_capped(void) { return cairn_arenas_capped; }
*/
import "C"

// pebbleOffHeap reports whether Pebble allocates its block cache and
// memtables outside the Go heap: it does with cgo (C.calloc), and on the
// Go heap without it (github.com/cockroachdb/pebble/v2/internal/manual).
const pebbleOffHeap = true

// mallocArenasCapped reports whether the C allocator was limited to one
// arena when the program started (glibc, MALLOC_ARENA_MAX unset). Pebble's
// block cache and memtables are C allocations made and freed on whichever
// threads the Go runtime runs them; glibc gives threads arenas of their
// own (up to eight per core), and the freed 32 KiB blocks scattered over
// them were not returned to the system: at 1M 1 KB records the server held
// 200-300 MiB more than with one arena (docs/performance.md).
func mallocArenasCapped() bool { return C.cairn_arenas_were_capped() == 1 }
