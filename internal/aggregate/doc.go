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
// Blocking stages ($group, $sort, $bucketAuto, $sortByCount, $bucket,
// $setWindowFields, $densify) account for their working set approximately;
// past MemoryLimit bytes they fail with
// QueryExceededMemoryLimitNoDiskUseAllowed (292) unless AllowDiskUse is set.
// With AllowDiskUse, $sort writes sorted runs to temporary files in
// SpillDir and k-way merges them, and $group (so also $sortByCount and
// $bucket) sends the documents of groups that are not yet in memory to
// hash-partitioned files and aggregates each partition afterwards.
// $bucketAuto and $setWindowFields (so also $fill) sort their input
// through the same external sort, as {k: value, d: doc} records ordered
// by the groupBy value or by the partition key and sortBy, and then
// stream the sorted records: $bucketAuto fills one bucket at a time and
// $setWindowFields holds one partition at a time (a single partition
// larger than the limit is still held whole). $densify continues in
// memory.
//
// Stages that need more than documents reach the server through optional
// capabilities of the Env, found by type assertion: Writer ($out, $merge)
// and StatsReader ($collStats, $indexStats).
//
// Pipeline.Dependencies tells a caller which top-level fields of the
// input documents the pipeline can read (or that it needs them whole), in
// the manner of MongoDB's dependency tracker: stages are walked until one
// that builds its output only from what it read ($group, an inclusion
// $project, $replaceRoot, $count, $bucket, $facet, ...). A DocDecoder then
// decodes only those fields from stored BSON, so that, for example, a
// $group over a whole collection does not decode the documents' other
// fields. Accumulators and group keys evaluate constants and plain
// "$field" paths without building an expression scope per document.
//
// $bucketAuto supports 'granularity': boundaries are rounded to a preferred
// number series (R5 ... R80, 1-2-5, E6 ... E192, scaled by powers of ten)
// or to powers of two, as MongoDB does.
//
// $group emits its groups in the order in which their keys were first seen
// in the input (when it spills: the groups held in memory first, then
// partition by partition). MongoDB does not guarantee any order; first-seen order makes
// results deterministic for a deterministic input.
package aggregate
