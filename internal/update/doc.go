// Package update implements MongoDB update documents: operator updates
// ({$set: ..., $inc: ..., $push: ...}), replacement documents, and the
// construction of the base document that an upsert inserts.
//
// Parse compiles an update specification once per statement; Apply then
// runs it against each matched document without mutating the input
// (copy on write) and reports whether the result differs byte for byte from
// the input, which is what MongoDB's nModified counts. Operators apply their
// paths in MongoDB 5.0+ order: string field names lexicographically, numeric
// names numerically; new fields are appended, existing ones replaced in
// place.
//
// Updates made only of $set modifiers of top-level fields to scalars can
// also run on the stored bytes: RawFields names the fields (nil for any
// other update) and ApplyRaw edits an encoded document in place, giving
// the bytes Apply's result would encode to, without decoding it.
//
// $pull conditions and arrayFilters are evaluated with the query package by
// wrapping the array element in a one-field document. Pipeline-style updates
// (an array of $set/$addFields/$project/$unset/$replaceRoot/$replaceWith
// stages) run through the aggregate package; like replacements they keep the
// document's _id.
package update
