// Package query implements MongoDB's query language core: filter matching
// (Matcher), find projections (Projection), sort order (Sort) and dotted
// path lookup with MongoDB's array traversal (PathValues).
//
// Filters and projections are compiled once (NewMatcher, NewProjection,
// NewSort) into a tree of nodes; all validation happens at compile time
// and returns *mongoerr.Error with MongoDB's codes. Evaluation never
// panics on user input.
//
// Array traversal follows MongoDB's element-path rules: a path component
// applied to an array descends into every element that is a document; a
// numeric component also indexes the array by position; at the end of a
// path an array yields each of its elements and then the array itself
// (operators such as $size and $elemMatch look only at the array itself).
//
// Collation: Options.Collation (and NewSortCollation) make string
// comparisons locale-aware through internal/collation. It applies to
// equality, range and set operators ($eq, $ne, $gt, $gte, $lt, $lte, $in,
// $nin, $all, implicit equality, also inside $elemMatch, $not and the
// $elemMatch projection) and to sort order; never to $regex or field
// names. $expr is evaluated by internal/expr and ignores the collation.
package query
