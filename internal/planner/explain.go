package planner

import (
	"io"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Explain verbosities.
const (
	VerbosityQueryPlanner      = "queryPlanner"
	VerbosityExecutionStats    = "executionStats"
	VerbosityAllPlansExecution = "allPlansExecution"
)

// ExplainKind says what operation an explained query serves; it sets the
// stage at the root of the plan.
type ExplainKind int

// Explained operations.
const (
	ExplainFind ExplainKind = iota
	ExplainCount
	ExplainDistinct
	ExplainAggregate
	ExplainUpdate
	ExplainDelete
)

// ParseVerbosity checks an explain verbosity ("" means allPlansExecution,
// the explain command's default).
func ParseVerbosity(v any) (string, error) {
	switch v {
	case nil, "":
		return VerbosityAllPlansExecution, nil
	case VerbosityQueryPlanner, VerbosityExecutionStats, VerbosityAllPlansExecution:
		return v.(string), nil
	}
	return "", mongoerr.New(mongoerr.BadValue, "verbosity string must be one of {'queryPlanner', 'executionStats', 'allPlansExecution'}")
}

// Explain plans q over coll (ns is "db.coll") and returns explain's
// queryPlanner section and, unless verbosity is queryPlanner, the
// executionStats section from running the plan to completion. Update and
// delete plans are run only to find their targets: nothing is written.
func Explain(src Source, coll *catalog.Collection, ns string, q *Query, kind ExplainKind, verbosity string) (bson.D, error) {
	count := kind == ExplainCount
	qq := *q
	if count || kind == ExplainDistinct {
		qq.Projection, qq.Sort = nil, nil
	}
	start := time.Now()
	p, err := prepare(src, coll, &qq, count)
	if err != nil {
		return nil, err
	}
	root := p.sol.root
	switch kind {
	case ExplainUpdate:
		root = &node{stage: "UPDATE", children: []*node{root}}
	case ExplainDelete:
		root = &node{stage: "DELETE", children: []*node{root}}
	}
	var rejected bson.A = bson.A{}
	for _, r := range p.sol.rejected {
		rejected = append(rejected, r.explain(false))
	}
	qp := bson.D{
		{Key: "namespace", Value: ns},
		{Key: "indexFilterSet", Value: false},
		{Key: "parsedQuery", Value: parsedQuery(q.Filter)},
		{Key: "planCacheUsedForced", Value: false},
		{Key: "winningPlan", Value: root.explain(false)},
		{Key: "rejectedPlans", Value: rejected},
	}
	out := bson.D{{Key: "explainVersion", Value: "1"}, {Key: "queryPlanner", Value: qp}}
	if verbosity == VerbosityQueryPlanner {
		if p.it != nil {
			p.it.close()
		}
		return out, nil
	}
	var n int64
	if count {
		if n, err = p.count(src, coll, &qq); err != nil {
			return nil, err
		}
	} else {
		for {
			_, err := p.it.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				p.it.close()
				return nil, err
			}
			n++
		}
		p.it.close()
	}
	if kind == ExplainUpdate || kind == ExplainDelete {
		root.nReturned = 0
	}
	if count {
		p.sol.root.nReturned = 0
	}
	keys, docs := root.totals()
	es := bson.D{
		{Key: "executionSuccess", Value: true},
		{Key: "nReturned", Value: n},
		{Key: "executionTimeMillis", Value: time.Since(start).Milliseconds()},
		{Key: "totalKeysExamined", Value: keys},
		{Key: "totalDocsExamined", Value: docs},
		{Key: "executionStages", Value: root.explain(true)},
	}
	if kind == ExplainCount {
		es[1].Value = int64(0)
	}
	if verbosity == VerbosityAllPlansExecution {
		es = append(es, bson.E{Key: "allPlansExecution", Value: bson.A{}})
	}
	return append(out, bson.E{Key: "executionStats", Value: es}), nil
}

func (n *node) totals() (keys, docs int64) {
	keys, docs = n.keysExamined, n.docsExamined
	for _, c := range n.children {
		k, d := c.totals()
		keys += k
		docs += d
	}
	return keys, docs
}

func dirName(d int) string {
	if d < 0 {
		return "backward"
	}
	return "forward"
}

// explain renders the stage tree as MongoDB does.
func (n *node) explain(stats bool) bson.D {
	d := bson.D{{Key: "stage", Value: n.stage}}
	switch n.stage {
	case stageCollScan:
		if len(n.filter) > 0 {
			d = append(d, bson.E{Key: "filter", Value: parsedQuery(n.filter)})
		}
		d = append(d, bson.E{Key: "direction", Value: dirName(n.direction)})
	case stageFetch:
		if len(n.filter) > 0 {
			d = append(d, bson.E{Key: "filter", Value: parsedQuery(n.filter)})
		}
	case stageIXScan, stageCountScan:
		d = append(d,
			bson.E{Key: "keyPattern", Value: n.ix.Key},
			bson.E{Key: "indexName", Value: n.ix.Name},
			bson.E{Key: "isMultiKey", Value: n.multikey},
			bson.E{Key: "isUnique", Value: n.ix.Unique},
			bson.E{Key: "isSparse", Value: n.ix.Sparse},
			bson.E{Key: "isPartial", Value: n.ix.Partial != nil},
			bson.E{Key: "indexVersion", Value: int32(2)},
			bson.E{Key: "direction", Value: dirName(n.direction)},
			bson.E{Key: "indexBounds", Value: n.bounds.display(n.direction < 0)},
		)
	case stageSort:
		d = append(d, bson.E{Key: "sortPattern", Value: n.sortSpec},
			bson.E{Key: "memLimit", Value: int64(DefaultMaxSortBytes)})
		if n.n > 0 {
			d = append(d, bson.E{Key: "limitAmount", Value: n.n})
		}
		d = append(d, bson.E{Key: "type", Value: "simple"})
	case stageSkip:
		d = append(d, bson.E{Key: "skipAmount", Value: n.n})
	case stageLimit:
		d = append(d, bson.E{Key: "limitAmount", Value: n.n})
	case stageProjSimp, stageProjDef, stageProjCov:
		d = append(d, bson.E{Key: "transformBy", Value: n.proj})
	}
	if stats {
		d = append(d, bson.E{Key: "nReturned", Value: n.nReturned},
			bson.E{Key: "executionTimeMillisEstimate", Value: int64(0)})
		switch n.stage {
		case stageIXScan, stageCountScan, stageIDHack:
			d = append(d, bson.E{Key: "keysExamined", Value: n.keysExamined})
		}
		switch n.stage {
		case stageCollScan, stageFetch, stageIDHack:
			d = append(d, bson.E{Key: "docsExamined", Value: n.docsExamined})
		case stageIXScan:
			if n.covered {
				d = append(d, bson.E{Key: "docsExamined", Value: n.docsExamined})
			}
		case stageSort:
			d = append(d, bson.E{Key: "totalDataSizeSorted", Value: n.memBytes},
				bson.E{Key: "usedDisk", Value: n.spills > 0},
				bson.E{Key: "spills", Value: n.spills})
		}
	}
	switch len(n.children) {
	case 0:
	case 1:
		if n.stage == stageOr {
			d = append(d, bson.E{Key: "inputStages", Value: bson.A{n.children[0].explain(stats)}})
		} else {
			d = append(d, bson.E{Key: "inputStage", Value: n.children[0].explain(stats)})
		}
	default:
		a := bson.A{}
		for _, c := range n.children {
			a = append(a, c.explain(stats))
		}
		d = append(d, bson.E{Key: "inputStages", Value: a})
	}
	return d
}

// parsedQuery normalizes a filter as explain's parsedQuery shows it:
// implicit equality becomes $eq, several predicates become an $and.
func parsedQuery(filter bson.D) bson.D {
	var parts []bson.D
	var walk func(f bson.D)
	walk = func(f bson.D) {
		for _, e := range f {
			switch {
			case e.Key == "$and":
				if arr, ok := e.Value.(bson.A); ok {
					for _, x := range arr {
						if d, ok := x.(bson.D); ok {
							walk(d)
						}
					}
					continue
				}
				parts = append(parts, bson.D{e})
			case strings.HasPrefix(e.Key, "$"):
				parts = append(parts, bson.D{e})
			default:
				ops, isOps := e.Value.(bson.D)
				if isOps && len(ops) > 0 && strings.HasPrefix(ops[0].Key, "$") {
					for _, op := range ops {
						parts = append(parts, bson.D{{Key: e.Key, Value: bson.D{op}}})
					}
					continue
				}
				if r, ok := e.Value.(bson.Regex); ok {
					parts = append(parts, bson.D{{Key: e.Key, Value: bson.D{{Key: "$regex", Value: r}}}})
					continue
				}
				parts = append(parts, bson.D{{Key: e.Key, Value: bson.D{{Key: "$eq", Value: e.Value}}}})
			}
		}
	}
	walk(filter)
	switch len(parts) {
	case 0:
		return bson.D{}
	case 1:
		return parts[0]
	}
	a := make(bson.A, len(parts))
	for i, p := range parts {
		a[i] = p
	}
	return bson.D{{Key: "$and", Value: a}}
}
