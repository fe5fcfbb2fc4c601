package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// maxErrorSamples is how many error messages a run keeps verbatim.
const maxErrorSamples = 5

// opTimeout bounds one operation, so a hung server cannot hang the tool.
const opTimeout = 2 * time.Minute

// Result is one run of one workload against one server.
type Result struct {
	Workload    string   `json:"workload"`
	Server      string   `json:"server"` // "A" (--uri) or "B" (--compare-uri)
	Round       int      `json:"round"`
	Ops         uint64   `json:"ops"`
	Seconds     float64  `json:"seconds"`
	OpsPerSec   float64  `json:"ops_per_sec"`
	P50Micros   float64  `json:"p50_us"`
	P99Micros   float64  `json:"p99_us"`
	MeanMicros  float64  `json:"mean_us"`
	MaxMicros   float64  `json:"max_us"`
	Errors      uint64   `json:"errors"`
	FirstErrors []string `json:"first_errors,omitempty"`
	RSSBefore   *int64   `json:"rss_before_bytes"`
	RSSAfter    *int64   `json:"rss_after_bytes"`
	RSSSource   string   `json:"rss_source"`
	// CPU time per measured operation, in microseconds (-1: unknown): the
	// server's (local servers only, from /proc) and the load tool's own.
	ServerCPUMicros float64 `json:"server_cpu_us_per_op"`
	ClientCPUMicros float64 `json:"client_cpu_us_per_op"`
	// Bracket marks a ping run that --ping-ratio added around the
	// workloads (not one asked for with --workload).
	Bracket bool       `json:"bracket,omitempty"`
	hist    *Histogram // measured latencies, for aggregation
}

// errLog counts errors and keeps the first few messages.
type errLog struct {
	mu    sync.Mutex
	n     uint64
	first []string
}

func (e *errLog) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.first) < maxErrorSamples {
		e.first = append(e.first, err.Error())
	}
}

// runOnce runs w against t: Warmup of unmeasured operations, then Duration
// of measured ones, by Concurrency workers. Errors in either phase count.
// An operation is measured when it starts after the warm-up and completes
// before the end; ops/s is measured operations over Duration. verify runs
// afterwards and is not timed.
func runOnce(ctx context.Context, t *target, w workload, round int, seed uint64) Result {
	cfg := t.cfg
	res := Result{Workload: w.name, Server: t.label, Round: round, hist: &Histogram{}}
	var errs errLog

	before := t.sampleMem(ctx)

	start := time.Now()
	measureStart := start.Add(cfg.Warmup)
	stopAt := measureStart.Add(cfg.Duration)

	// CPU is sampled when the measured window opens and closes.
	var cpuStart, cpuEnd cpuSample
	cpuDone := make(chan struct{})
	go func() {
		defer close(cpuDone)
		cpuStart, cpuEnd = cpuSample{-1, -1}, cpuSample{-1, -1}
		if !sleepUntil(ctx, measureStart) {
			return
		}
		cpuStart = sampleCPU(t.pid.Load())
		if !sleepUntil(ctx, stopAt) {
			return
		}
		cpuEnd = sampleCPU(t.pid.Load())
	}()

	hists := make([]Histogram, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < cfg.Concurrency; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			wk := &worker{rng: rand.New(rand.NewPCG(seed, uint64(i)+1))}
			h := &hists[i]
			for {
				opStart := time.Now()
				if !opStart.Before(stopAt) || ctx.Err() != nil {
					return
				}
				octx, cancel := context.WithTimeout(ctx, opTimeout)
				err := w.op(octx, t, wk)
				cancel()
				end := time.Now()
				if err != nil {
					if ctx.Err() != nil {
						return // interrupted: not the server's fault
					}
					errs.add(err)
					continue
				}
				if !opStart.Before(measureStart) && !end.After(stopAt) {
					h.Record(end.Sub(opStart))
				}
			}
		}(i)
	}
	wg.Wait()
	<-cpuDone

	for i := range hists {
		res.hist.Merge(&hists[i])
	}
	if w.verify != nil && ctx.Err() == nil {
		vctx, cancel := context.WithTimeout(ctx, opTimeout)
		if err := w.verify(vctx, t); err != nil {
			errs.add(fmt.Errorf("verify: %w", err))
		}
		cancel()
	}
	after := t.sampleMem(ctx)

	res.Ops = res.hist.Count()
	res.Seconds = cfg.Duration.Seconds()
	res.fillLatency()
	res.Errors = errs.n
	res.FirstErrors = errs.first
	res.setMem(before, after)
	res.ServerCPUMicros = cpuPerOp(cpuStart.Server, cpuEnd.Server, res.Ops)
	res.ClientCPUMicros = cpuPerOp(cpuStart.Client, cpuEnd.Client, res.Ops)
	return res
}

// sleepUntil waits until at (true) or until ctx ends (false).
func sleepUntil(ctx context.Context, at time.Time) bool {
	tm := time.NewTimer(time.Until(at))
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *Result) fillLatency() {
	h := r.hist
	if r.Seconds > 0 {
		r.OpsPerSec = float64(h.Count()) / r.Seconds
	}
	r.P50Micros = micros(h.Quantile(0.50))
	r.P99Micros = micros(h.Quantile(0.99))
	r.MeanMicros = micros(h.Mean())
	r.MaxMicros = micros(h.Max())
}

func (r *Result) setMem(before, after MemSample) {
	if before.known() {
		b := before.Bytes
		r.RSSBefore = &b
	}
	if after.known() {
		a := after.Bytes
		r.RSSAfter = &a
	}
	r.RSSSource = before.Source
	if after.Source != before.Source {
		r.RSSSource = before.Source + " / " + after.Source
	}
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// setupFailed is the Result for a workload whose setup failed on t.
func setupFailed(t *target, name string, err error) Result {
	return Result{
		Workload:        name,
		Server:          t.label,
		Errors:          1,
		FirstErrors:     []string{"setup: " + err.Error()},
		RSSSource:       "not sampled",
		ServerCPUMicros: -1,
		ClientCPUMicros: -1,
		hist:            &Histogram{},
	}
}

// Comparison summarises one workload's rounds on A and B.
type Comparison struct {
	Workload   string  `json:"workload"`
	AOpsPerSec float64 `json:"a_ops_per_sec"`
	BOpsPerSec float64 `json:"b_ops_per_sec"`
	AP50Micros float64 `json:"a_p50_us"`
	BP50Micros float64 `json:"b_p50_us"`
	AP99Micros float64 `json:"a_p99_us"`
	BP99Micros float64 `json:"b_p99_us"`
	OpsRatio   float64 `json:"ops_ratio"` // B/A; 0 when A did nothing
	P50Ratio   float64 `json:"p50_ratio"`
	P99Ratio   float64 `json:"p99_ratio"`
	AErrors    uint64  `json:"a_errors"`
	BErrors    uint64  `json:"b_errors"`
}

// aggregate merges a workload's rounds on one server.
func aggregate(rs []Result) (opsPerSec, p50, p99 float64, errs uint64) {
	var h Histogram
	var secs float64
	for _, r := range rs {
		h.Merge(r.hist)
		secs += r.Seconds
		errs += r.Errors
	}
	if secs > 0 {
		opsPerSec = float64(h.Count()) / secs
	}
	return opsPerSec, micros(h.Quantile(0.5)), micros(h.Quantile(0.99)), errs
}

func ratio(b, a float64) float64 {
	if a == 0 {
		return 0
	}
	return b / a
}

func compare(name string, a, b []Result) Comparison {
	c := Comparison{Workload: name}
	c.AOpsPerSec, c.AP50Micros, c.AP99Micros, c.AErrors = aggregate(a)
	c.BOpsPerSec, c.BP50Micros, c.BP99Micros, c.BErrors = aggregate(b)
	c.OpsRatio = ratio(c.BOpsPerSec, c.AOpsPerSec)
	c.P50Ratio = ratio(c.BP50Micros, c.AP50Micros)
	c.P99Ratio = ratio(c.BP99Micros, c.AP99Micros)
	return c
}

// Report is everything one invocation measured.
type Report struct {
	URI         string       `json:"uri"`
	CompareURI  string       `json:"compare_uri,omitempty"`
	Workloads   []string     `json:"workloads"`
	Concurrency int          `json:"concurrency"`
	Duration    string       `json:"duration"`
	Warmup      string       `json:"warmup"`
	Records     int64        `json:"records"`
	Rounds      int          `json:"rounds"`
	Seed        uint64       `json:"seed"`
	Results     []Result     `json:"results"`
	Comparisons []Comparison `json:"comparisons,omitempty"`
	PingRatios  []PingRatio  `json:"ping_ratios,omitempty"`
	TotalErrors uint64       `json:"total_errors"`
}

// PingRatio is one workload's throughput against the ping runs around it
// (--ping-ratio). The machine's speed drifts over a long pass; a ping
// measured next to each workload keeps the drift out of the ratio.
type PingRatio struct {
	Workload   string  `json:"workload"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	PingBefore float64 `json:"ping_before"` // 0: none
	PingAfter  float64 `json:"ping_after"`  // 0: none
	Ratio      float64 `json:"ratio"`       // OpsPerSec over the mean of the pings there are
}

// pingRatios pairs every result that is not a bracketing ping with the
// nearest bracketing pings before and after it, in run order. A result
// with neither gets no entry.
func pingRatios(rs []Result) []PingRatio {
	var out []PingRatio
	for i, r := range rs {
		if r.Bracket {
			continue
		}
		pr := PingRatio{Workload: r.Workload, OpsPerSec: r.OpsPerSec}
		for j := i - 1; j >= 0; j-- {
			if rs[j].Bracket {
				pr.PingBefore = rs[j].OpsPerSec
				break
			}
		}
		for j := i + 1; j < len(rs); j++ {
			if rs[j].Bracket {
				pr.PingAfter = rs[j].OpsPerSec
				break
			}
		}
		var sum, n float64
		for _, p := range []float64{pr.PingBefore, pr.PingAfter} {
			if p > 0 {
				sum += p
				n++
			}
		}
		if n == 0 {
			continue
		}
		pr.Ratio = r.OpsPerSec / (sum / n)
		out = append(out, pr)
	}
	return out
}

// Run connects to the configured servers and runs every workload. progress,
// if not nil, is called after each run (for live output). The error is only
// for failing to start (bad URI, unreachable server); workload failures are
// in the Report.
func Run(ctx context.Context, cfg Config, progress func(Result)) (*Report, error) {
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	rep := &Report{
		URI:         redactURI(cfg.URI),
		Workloads:   cfg.Workloads,
		Concurrency: cfg.Concurrency,
		Duration:    cfg.Duration.String(),
		Warmup:      cfg.Warmup.String(),
		Records:     cfg.Records,
		Rounds:      1,
		Seed:        cfg.Seed,
	}
	a, err := connectTarget(ctx, "A", cfg.URI, &cfg)
	if err != nil {
		return nil, err
	}
	defer a.close()
	targets := []*target{a}
	if cfg.CompareURI != "" {
		b, err := connectTarget(ctx, "B", cfg.CompareURI, &cfg)
		if err != nil {
			return nil, err
		}
		defer b.close()
		targets = append(targets, b)
		rep.CompareURI = redactURI(cfg.CompareURI)
		rep.Rounds = cfg.Rounds
	}

	emit := func(r Result) {
		rep.Results = append(rep.Results, r)
		rep.TotalErrors += r.Errors
		if progress != nil {
			progress(r)
		}
	}
	seed := cfg.Seed
	bracket := func() {
		w, _ := lookupWorkload("ping")
		seed++
		r := runOnce(ctx, a, w, 1, seed)
		r.Bracket = true
		emit(r)
	}
	for _, name := range cfg.Workloads {
		w, err := lookupWorkload(name)
		if err != nil {
			return nil, err
		}
		ready := make([]bool, len(targets))
		for i, t := range targets {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			ready[i] = true
			if w.setup != nil {
				if err := w.setup(ctx, t); err != nil {
					ready[i] = false
					emit(setupFailed(t, name, err))
				}
			}
		}
		if cfg.PingRatio && ready[0] {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			bracket()
		}
		perTarget := make([][]Result, len(targets))
		for round := 1; round <= rep.Rounds; round++ {
			for i, t := range targets {
				if !ready[i] {
					continue
				}
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				seed++
				r := runOnce(ctx, t, w, round, seed)
				perTarget[i] = append(perTarget[i], r)
				emit(r)
			}
		}
		if len(targets) == 2 && ready[0] && ready[1] {
			rep.Comparisons = append(rep.Comparisons, compare(name, perTarget[0], perTarget[1]))
		}
	}
	if cfg.PingRatio && ctx.Err() == nil {
		bracket()
		rep.PingRatios = pingRatios(rep.Results)
	}
	return rep, ctx.Err()
}
