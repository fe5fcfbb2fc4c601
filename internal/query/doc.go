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
package query
