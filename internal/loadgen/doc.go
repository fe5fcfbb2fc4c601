// Package loadgen is the engine behind cmd/cairn-load: it drives any
// MongoDB-compatible server through the official Go driver with a set of
// named workloads (ping, inserts, point reads, YCSB A/B/C, indexed ranges,
// counts, $group and update_many), measures throughput and latency
// percentiles, checks the answers it gets back, and samples the server's
// resident memory around each run.
//
// Write concern: insert_one measures durable inserts and writes with
// j:true; the other write workloads use the server's default write
// concern (as applications do) unless Config.Journal (--journal) makes
// them j:true too.
//
// The building blocks are usable on their own: Zipfian is YCSB's Zipfian
// key generator, Histogram a log-linear latency histogram with percentile
// queries, and ParseArgs the command-line parser. Main ties them together.
package loadgen
