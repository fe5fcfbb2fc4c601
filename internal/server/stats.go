package server

import (
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// stats are the live counters serverStatus reports.
type stats struct {
	current      atomic.Int64
	totalCreated atomic.Int64
	rejected     atomic.Int64
	active       atomic.Int64 // connections with a request in progress

	bytesIn  atomic.Int64
	bytesOut atomic.Int64
	requests atomic.Int64

	insert  atomic.Int64
	query   atomic.Int64
	update  atomic.Int64
	delete  atomic.Int64
	getmore atomic.Int64
	command atomic.Int64
}

// countCommand updates the opcounters for one command the way mongod
// does: inserts count documents, updates and deletes count statements,
// find counts as a query, getMore as a getmore and everything else as a
// command.
func (st *stats) countCommand(name string, body bson.D) {
	arrLen := func(key string) int64 {
		if v, ok := lookup(body, key); ok {
			if a, ok := v.(bson.A); ok {
				return int64(len(a))
			}
		}
		return 0
	}
	switch name {
	case "insert":
		st.insert.Add(arrLen("documents"))
	case "update":
		st.update.Add(arrLen("updates"))
	case "delete":
		st.delete.Add(arrLen("deletes"))
	case "find":
		st.query.Add(1)
	case "getMore":
		st.getmore.Add(1)
	default:
		st.command.Add(1)
	}
}

// Stats returns the counters as serverStatus reports them: connections,
// network and opcounters sections.
func (s *Server) Stats() bson.D { return s.statsDoc() }

func (s *Server) statsDoc() bson.D {
	st := &s.stats
	cur := st.current.Load()
	avail := int64(s.cfg.MaxConns) - cur
	if avail < 0 {
		avail = 0
	}
	return bson.D{
		{Key: "connections", Value: bson.D{
			{Key: "current", Value: int32(cur)},
			{Key: "available", Value: int32(avail)},
			{Key: "totalCreated", Value: int32(st.totalCreated.Load())},
			{Key: "rejected", Value: int32(st.rejected.Load())},
			{Key: "active", Value: int32(st.active.Load())},
		}},
		{Key: "network", Value: bson.D{
			{Key: "bytesIn", Value: st.bytesIn.Load()},
			{Key: "bytesOut", Value: st.bytesOut.Load()},
			{Key: "numRequests", Value: st.requests.Load()},
		}},
		{Key: "opcounters", Value: bson.D{
			{Key: "insert", Value: st.insert.Load()},
			{Key: "query", Value: st.query.Load()},
			{Key: "update", Value: st.update.Load()},
			{Key: "delete", Value: st.delete.Load()},
			{Key: "getmore", Value: st.getmore.Load()},
			{Key: "command", Value: st.command.Load()},
		}},
	}
}
