// Package expr parses and evaluates MongoDB aggregation expressions
// ($add, $cond, $concat, field paths like "$a.b", variables like "$$ROOT",
// literals, expression objects). It is shared by the query language
// ($expr and projection expressions), updates (pipeline-style updates) and
// the aggregation pipeline.
package expr
