// Package ttl is Cairn's TTL monitor: a background pass, every 60 seconds
// by default, that deletes documents whose TTL-indexed date field is older
// than the index's expireAfterSeconds, as MongoDB's TTL monitor does.
//
// A TTL index is a single-field index with expireAfterSeconds. A document
// expires when the field holds a date (or an array with a date) earlier
// than now minus expireAfterSeconds; documents without a date there never
// expire. Deletion is not instantaneous: a document may outlive its expiry
// by up to one interval.
//
// A time series collection created with expireAfterSeconds expires its
// measurements the same way, by its timeField (timeseries.go).
package ttl
