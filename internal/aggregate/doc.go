// Package aggregate implements MongoDB's aggregation pipeline: parsing a
// list of stage documents into a Pipeline, and running it as a pull-based
// stream of bson.D documents.
//
// Each stage is compiled once by Parse (spec errors come back as
// *mongoerr.Error with MongoDB's codes) and may be run any number of times;
// all per-run state lives in the Source that Run returns. Stages that need
// other collections ($lookup, $unionWith, $graphLookup) read them through the
// Env given in Options.
//
// Blocking stages ($group, $sort, $bucketAuto, $sortByCount, $bucket) keep
// their working set in memory and account for it approximately; past
// MemoryLimit bytes they fail with QueryExceededMemoryLimitNoDiskUseAllowed
// (292) unless AllowDiskUse is set, in which case they simply continue in
// memory (spilling to disk is not implemented).
//
// $group emits its groups in the order in which their keys were first seen
// in the input. MongoDB does not guarantee any order; first-seen order makes
// results deterministic for a deterministic input.
package aggregate
