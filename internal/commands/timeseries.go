package commands

import (
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Time series collections.
//
// create {timeseries: {timeField, metaField, granularity |
// bucketMaxSpanSeconds + bucketRoundingSeconds}, expireAfterSeconds}
// makes a collection whose measurements are stored as plain documents
// keyed by record id (internal/catalog/recordid.go), with no _id index:
// _id values need not be unique, and every document must hold a BSON date
// in timeField. Cairn does not bucket measurements; the bucketing options
// are validated and reported, nothing more. Queries, aggregation, updates
// and deletes work on the documents as stored (MongoDB restricts some
// updates and deletes on time series collections; Cairn does not).
// expireAfterSeconds deletes documents whose timeField is older, through
// the TTL monitor (internal/ttl).

// maxBucketSpan is the largest bucketMaxSpanSeconds MongoDB accepts (one
// year).
const maxBucketSpan = 31536000

// granularitySpans are the bucketMaxSpanSeconds each granularity implies.
var granularitySpans = map[string]int32{"seconds": 3600, "minutes": 86400, "hours": 2592000}

// timeseriesFieldName checks a timeField or metaField name.
func timeseriesFieldName(option, name string) error {
	if name == "" || strings.HasPrefix(name, "$") || strings.Contains(name, ".") {
		return mongoerr.Newf(mongoerr.InvalidOptions, "The '%s' option must be the name of a top-level field, not %q", option, name)
	}
	return nil
}

func timeseriesSeconds(field string, v any) (int32, error) {
	n, ok := bsonutil.ToInt64(v)
	if !ok {
		f, isNum := bsonutil.ToFloat64(v)
		if !isNum {
			return 0, fieldErr("timeseries", field, "int", v)
		}
		n = int64(f)
	}
	if n < 1 || n > maxBucketSpan {
		return 0, mongoerr.Newf(mongoerr.Code(51024), "BSON field 'timeseries.%s' value must be >= 1 and <= %d, actual value '%s'", field, maxBucketSpan, bsonutil.Format(v))
	}
	return int32(n), nil
}

// applyTimeseries validates create's timeseries option and sets copts up
// for a time series collection; the option is reported with MongoDB's
// defaults filled in (granularity "seconds" and its bucketMaxSpanSeconds
// when no bucketing option is given).
func applyTimeseries(copts *catalog.CreateOptions, v any) error {
	spec, ok := v.(bson.D)
	if !ok {
		return fieldErr("create", "timeseries", "object", v)
	}
	var timeField, metaField, granularity string
	var hasTime, hasMeta bool
	var maxSpan, rounding int32
	for _, e := range spec {
		switch e.Key {
		case "timeField", "metaField", "granularity":
			s, ok := e.Value.(string)
			if !ok {
				return fieldErr("timeseries", e.Key, "string", e.Value)
			}
			switch e.Key {
			case "timeField":
				timeField, hasTime = s, true
			case "metaField":
				metaField, hasMeta = s, true
			default:
				if _, known := granularitySpans[s]; !known {
					return mongoerr.Newf(mongoerr.BadValue, "Enumeration value '%s' for field 'timeseries.granularity' is not a valid value.", s)
				}
				granularity = s
			}
		case "bucketMaxSpanSeconds":
			n, err := timeseriesSeconds(e.Key, e.Value)
			if err != nil {
				return err
			}
			maxSpan = n
		case "bucketRoundingSeconds":
			n, err := timeseriesSeconds(e.Key, e.Value)
			if err != nil {
				return err
			}
			rounding = n
		default:
			return mongoerr.Newf(mongoerr.Code(40415), "BSON field 'timeseries.%s' is an unknown field.", e.Key)
		}
	}
	if !hasTime {
		return mongoerr.New(mongoerr.Code(40414), "BSON field 'timeseries.timeField' is missing but a required field")
	}
	if err := timeseriesFieldName("timeField", timeField); err != nil {
		return err
	}
	if hasMeta {
		if err := timeseriesFieldName("metaField", metaField); err != nil {
			return err
		}
		if metaField == timeField {
			return mongoerr.New(mongoerr.InvalidOptions, "The 'metaField' option cannot be the same as the 'timeField' option")
		}
		if metaField == "_id" {
			return mongoerr.New(mongoerr.InvalidOptions, "The 'metaField' option cannot be \"_id\"")
		}
	}
	bucketing := maxSpan != 0 || rounding != 0
	switch {
	case granularity != "" && bucketing:
		return mongoerr.New(mongoerr.InvalidOptions, "Time-series 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' cannot be set together with 'granularity'")
	case bucketing && (maxSpan == 0 || rounding == 0):
		return mongoerr.New(mongoerr.InvalidOptions, "Time-series 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' must be set together")
	case bucketing && maxSpan != rounding:
		return mongoerr.New(mongoerr.InvalidOptions, "Time-series 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' must be equal")
	}
	if copts.IDIndexSpec != nil {
		return mongoerr.New(mongoerr.InvalidOptions, "a time series collection cannot be clustered by _id")
	}
	opt := bson.D{{Key: "timeField", Value: timeField}}
	if hasMeta {
		opt = append(opt, bson.E{Key: "metaField", Value: metaField})
	}
	if bucketing {
		opt = append(opt, bson.E{Key: "bucketRoundingSeconds", Value: rounding}, bson.E{Key: "bucketMaxSpanSeconds", Value: maxSpan})
	} else {
		if granularity == "" {
			granularity = "seconds"
		}
		opt = append(opt, bson.E{Key: "granularity", Value: granularity}, bson.E{Key: "bucketMaxSpanSeconds", Value: granularitySpans[granularity]})
	}
	for _, e := range copts.Options {
		if e.Key != "expireAfterSeconds" {
			continue
		}
		if n, ok := bsonutil.ToFloat64(e.Value); !ok || n < 0 {
			return mongoerr.Newf(mongoerr.InvalidOptions, "'expireAfterSeconds' must be a number >= 0, not %s", bsonutil.Format(e.Value))
		}
	}
	copts.TimeField = timeField
	copts.Options = append(bson.D{{Key: "timeseries", Value: opt}}, copts.Options...)
	return nil
}

// timeseriesInfo is listCollections' entry for a time series collection:
// type "timeseries", and (as MongoDB, where it is a view of its buckets) no
// uuid and no idIndex. ok is false for other collections.
func timeseriesInfo(coll *catalog.Collection, nameOnly bool) (bson.D, bool) {
	if coll.TimeField() == "" {
		return nil, false
	}
	if nameOnly {
		return bson.D{{Key: "name", Value: coll.Name}, {Key: "type", Value: "timeseries"}}, true
	}
	return bson.D{
		{Key: "name", Value: coll.Name},
		{Key: "type", Value: "timeseries"},
		{Key: "options", Value: orEmpty(coll.Options)},
		{Key: "info", Value: bson.D{{Key: "readOnly", Value: false}}},
	}, true
}
