package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the service's Prometheus metrics (GET /metrics).
type metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec   // endpoint, code, reason
	runSeconds    *prometheus.HistogramVec // endpoint, reason
	queueSeconds  *prometheus.HistogramVec // endpoint
	setupFailures prometheus.Counter
	truncations   *prometheus.CounterVec // stream
	filesErrors   prometheus.Counter
	probeFailures prometheus.Counter
}

func newMetrics(lim *limiter, slots, queue int) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pycage_http_requests_total",
		Help: "HTTP requests by endpoint, status code and reason (the run's reason, or why no run happened).",
	}, []string{"endpoint", "code", "reason"})
	m.runSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pycage_run_duration_seconds",
		Help:    "Time of jail.Run per request (build, run, collect, teardown).",
		Buckets: prometheus.ExponentialBucketsRange(0.005, 120, 16),
	}, []string{"endpoint", "reason"})
	m.queueSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pycage_queue_wait_seconds",
		Help:    "Time a request waited for a free jail slot.",
		Buckets: prometheus.ExponentialBucketsRange(0.0001, 60, 16),
	}, []string{"endpoint"})
	m.setupFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pycage_setup_failures_total",
		Help: "Runs whose jail could not be built or started (reason setup-error).",
	})
	m.truncations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pycage_output_truncations_total",
		Help: "Runs whose output was cut at the output limit, by stream (stdout, stderr, merged).",
	}, []string{"stream"})
	m.filesErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pycage_files_errors_total",
		Help: "Runs whose output files could not be collected completely.",
	})
	m.probeFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pycage_ready_probe_failures_total",
		Help: "Readiness probes (a trivial jail) that failed.",
	})
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pycage_runs_in_flight",
		Help: "Jails running now.",
	}, func() float64 { return float64(lim.running.Load()) })
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pycage_queue_length",
		Help: "Admitted requests not running yet (receiving their body or waiting for a slot).",
	}, func() float64 { return float64(lim.queued()) })
	slotsG := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pycage_slots", Help: "Jails that may run at once."})
	slotsG.Set(float64(slots))
	queueG := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pycage_queue_capacity", Help: "Requests that may wait for a slot."})
	queueG.Set(float64(queue))
	m.reg.MustRegister(m.requests, m.runSeconds, m.queueSeconds, m.setupFailures, m.truncations,
		m.filesErrors, m.probeFailures, inFlight, queued, slotsG, queueG,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
