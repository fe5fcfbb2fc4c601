// Package catalog is Cairn's document layer: databases, collections and
// their options, records keyed by an order-preserving encoding of _id, and
// index maintenance (the _id index and secondary indexes, unique ones
// enforced). Capped and time series collections key their records by a
// per-collection record id instead, in insertion order (recordid.go). The
// catalog also stores view definitions (views.go). It is written once
// against the storage.Engine interface.
//
// On an engine that is storage.Exclusive, the catalog remembers per
// collection the record keys inserted recently above a floor, so inserts
// of ascending _ids (driver-generated ObjectIds, even slightly out of
// order) skip the duplicate-_id read (idhigh.go). It also keeps indexes'
// multikey markers once read (indexscan.go), and collections' committed
// statistics, recorded when a commit is applied (write.go), so that a
// write does not read them back first.
package catalog
