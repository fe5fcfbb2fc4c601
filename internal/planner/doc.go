// Package planner turns a query (filter, sort, skip, limit, projection)
// into a plan over a collection and executes it. Today it knows two
// access paths: a point lookup when the filter pins _id to one value, and a
// collection scan; secondary-index plans come with the indexes work.
package planner
