// Package planner turns a query (filter, sort, skip, limit, projection,
// hint, min/max) into a plan over a collection and executes it.
//
// Access paths: IDHACK (filter pins _id), IXSCAN over a secondary index or
// the _id index with bounds derived from the filter (bounds.go, preds.go),
// FETCH of the documents with the full filter re-checked, OR of index scans
// deduplicated by _id, COUNT_SCAN (keys counted without fetching when the
// bounds express the filter exactly), PROJECTION_COVERED (documents built
// from index keys), and COLLSCAN. Above the access path run SORT (skipped
// when the index order provides it; spills to temporary files past the
// memory limit with AllowDiskUse), SKIP, LIMIT and projection.
//
// The choice among indexes is a bounded trial (plan.go): candidates are
// ordered by the number of index keys inside their bounds (counted up to a
// cap, stopping early), with index-provided sort and equality-prefix length
// as tie-breakers. docs/planner.md describes the rules. Explain renders the
// chosen plan tree, the rejected candidates and execution counters in
// MongoDB's explain shape.
package planner
