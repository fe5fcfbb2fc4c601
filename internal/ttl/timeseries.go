package ttl

import (
	"math"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
)

// timeseriesExpiry returns the time field and expireAfterSeconds of a time
// series collection created with expireAfterSeconds: its measurements
// expire when their time field is older than that, as in MongoDB (which
// expires whole buckets; Cairn stores measurements unbucketed and expires
// them one by one).
func timeseriesExpiry(coll *catalog.Collection) (field string, secs int64, ok bool) {
	field = coll.TimeField()
	if field == "" {
		return "", 0, false
	}
	f, isNum := bsonutil.ToFloat64(bsonutil.Get(coll.Options, "expireAfterSeconds"))
	if !isNum || f < 0 || math.IsNaN(f) || f > math.MaxInt64/1e9 {
		return "", 0, false
	}
	return field, int64(f), true
}
