package server

// The warm pool in the service: per runtime, ready sandboxes for /eval and
// for /v1/run (see internal/pool). A request with the server's default
// limits and a program the zygote can run takes one; anything else, or an
// empty pool, runs cold exactly as before.

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/pool"
	"github.com/pycage/pycage/internal/runtimes"
)

// PoolConfig configures the warm pool.
type PoolConfig struct {
	// Size is the number of ready sandboxes per runtime and endpoint
	// (0 turns the pool off).
	Size int `json:"size"`
	// Runtimes are the runtimes that get a pool (names); empty: the
	// default runtime only.
	Runtimes []string `json:"runtimes"`
	// Preload maps a runtime name to modules imported before a sandbox
	// waits (e.g. {"python3.11": ["numpy"]}). Opt-in: it costs memory per
	// idle sandbox and the modules are already loaded when the program
	// starts (sys.modules shows them).
	Preload map[string][]string `json:"preload"`
}

// warmKey is one kind of sandbox.
type warmKey struct {
	runtime string
	flags   string // the interpreter's flags, space separated
	merged  bool
}

// warmJob says that a run may use a warm sandbox.
type warmJob struct {
	key   warmKey
	args  []string // the interpreter's arguments after its flags
	files []jail.File
}

type warmPools struct {
	mu    sync.Mutex
	pools map[warmKey]*pool.Pool

	hits, misses, fails *prometheus.CounterVec
	refill              *prometheus.HistogramVec
}

// startPools creates the configured pools; they fill in the background.
func (s *Server) startPools() {
	pc := s.cfg.Pool
	if pc.Size <= 0 {
		return
	}
	w := &warmPools{pools: map[warmKey]*pool.Pool{}}
	w.hits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pycage_pool_hits_total", Help: "Requests served by a warm sandbox."}, []string{"runtime", "endpoint"})
	w.misses = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pycage_pool_misses_total", Help: "Poolable requests that found no warm sandbox ready (they ran cold)."}, []string{"runtime", "endpoint"})
	w.fails = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pycage_pool_failures_total", Help: "Warm sandboxes that could not take their request (the request then ran cold)."}, []string{"runtime", "endpoint"})
	w.refill = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pycage_pool_refill_seconds", Help: "Time to start a warm sandbox until its interpreter waits.",
		Buckets: prometheus.ExponentialBucketsRange(0.005, 30, 14)}, []string{"runtime", "endpoint"})
	idle := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pycage_pool_idle", Help: "Warm sandboxes ready now, all pools."}, func() float64 {
		w.mu.Lock()
		defer w.mu.Unlock()
		n := 0
		for _, p := range w.pools {
			n += p.Stats().Idle
		}
		return float64(n)
	})
	s.met.reg.MustRegister(w.hits, w.misses, w.fails, w.refill, idle)
	names := pc.Runtimes
	if len(names) == 0 {
		names = []string{s.runtimes.Default().Name}
	}
	for _, name := range names {
		rt, ok := s.runtimes.Lookup(name)
		if !ok || !rt.Usable() {
			s.log.Warn("pool: runtime not usable, no pool", "runtime", name)
			continue
		}
		preload := pc.Preload[rt.Name]
		for _, k := range []struct {
			endpoint string
			key      warmKey
		}{
			{"eval", warmKey{rt.Name, strings.Join(dropLeadingEmpty(evalFlags(s.cfg.Eval.PythonFlags, rt)), " "), true}},
			{"run", warmKey{rt.Name, "", false}},
		} {
			rt, k := rt, k
			build := func() *jail.Spec { return s.baseSpec(rt, nil, s.cfg.Defaults, nil, true) }
			var flags []string
			if k.key.flags != "" {
				flags = strings.Fields(k.key.flags)
			}
			p := pool.New(rt.Name+"/"+k.endpoint, rt.Path, flags, build, pool.Options{Size: pc.Size, Preload: preload, Merged: k.key.merged})
			obs := w.refill.WithLabelValues(rt.Name, k.endpoint)
			p.OnRefill = func(d time.Duration) { obs.Observe(d.Seconds()) }
			w.pools[k.key] = p
		}
	}
	s.warm = w
}

// closePools destroys every warm sandbox (Shutdown).
func (s *Server) closePools() {
	if s.warm == nil {
		return
	}
	s.warm.mu.Lock()
	ps := s.warm.pools
	s.warm.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.Close() }()
	}
	wg.Wait()
}

// warmFor says whether a run may use a warm sandbox: default limits, no
// figures, collected files, and arguments the zygote runs like a cold
// interpreter.
func (s *Server) warmFor(rt *runtimes.Runtime, flags []string, merged bool, args []string, lim Limits, files []jail.File, figures, collect bool) *warmJob {
	if s.warm == nil || figures || !collect || lim != s.cfg.Defaults || !pool.Supported(args) {
		return nil
	}
	return &warmJob{key: warmKey{rt.Name, strings.Join(flags, " "), merged}, args: args, files: files}
}

func (w *warmPools) get(k warmKey) *pool.Pool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pools[k]
}

// runWarm runs job in a warm sandbox. ok is false when none could take it
// (nothing of the program ran): the caller runs it cold.
func (s *Server) runWarm(ctx context.Context, job *runJob, stdout, stderr io.Writer) (res *jail.Result, err error, ok bool) {
	if s.warm == nil || job.warm == nil {
		return nil, nil, false
	}
	p := s.warm.get(job.warm.key)
	if p == nil {
		return nil, nil, false
	}
	sb := p.Take()
	if sb == nil {
		s.warm.misses.WithLabelValues(job.warm.key.runtime, job.endpoint).Inc()
		return nil, nil, false
	}
	res, err = sb.Run(ctx, pool.Request{Args: job.warm.args, Files: job.warm.files, Stdin: job.stdin}, stdout, stderr)
	if errors.Is(err, pool.ErrNotReady) {
		s.warm.fails.WithLabelValues(job.warm.key.runtime, job.endpoint).Inc()
		s.log.Warn("pool: a warm sandbox could not take its request; running cold", "error", err.Error())
		return nil, nil, false
	}
	s.warm.hits.WithLabelValues(job.warm.key.runtime, job.endpoint).Inc()
	return res, err, true
}
