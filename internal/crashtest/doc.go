// Package crashtest is a crash-recovery harness for the cairn server.
//
// Run starts the real server binary as a child process on a loopback port
// with a data directory, drives it with concurrent writers through the
// official Go driver, kills it with SIGKILL at a random moment, restarts
// it on the same directory and checks that nothing acknowledged was lost
// and nothing unacknowledged was half applied:
//
//   - every acknowledged insert or update is present with its exact
//     content; acknowledged deletes are gone; a document whose last write
//     was in flight holds either its previous or its new content, never a
//     mix (each write sets every field, and fields a and b always agree);
//   - $inc counters lie between the acknowledged increments and the
//     attempted ones;
//   - a unique index is never violated and inserts it rejected are absent;
//   - no document appears that no writer attempted;
//   - the validate command reports every collection valid.
//
// The model of what may be in the database is carried across cycles: after
// each successful check the uncertain outcomes are resolved to what the
// server actually holds. Randomness is seeded (Config.Seed); the seed is
// reported so that a failing schedule can be approximated again (thread
// interleaving and the kill moment relative to it are not reproducible).
//
// The package test (go test ./internal/crashtest -cycles=N -seed=S) builds
// cmd/cairn into a temporary directory and runs the harness.
package crashtest
